// Durable state for the Firestore emulator: a snapshot of every document plus a journal of the commits since.
//
// Files in the data folder:
//   snapshot.bin             header "DSFSNAP1" + the number of the first journal NOT in it (u32), then one record
//                            per existing document: JSON [path, created ms, updated ms, fields] (fields.js)
//   journal-<n>.log          header "DSFJRNL1", then one record per Commit RPC with writes: commit time ms
//                            (f64), how many of its writes ran (u32; the library applies writes one by one and a
//                            failing one ends the commit, so replay repeats exactly those), the CommitRequest's bytes
// A record is: payload length (u32) + crc32 of the payload (u32) + payload, all little-endian.
//
// A commit is appended and fdatasync'ed before its RPC answers. Start: load the snapshot, replay the journals it
// does not include (a torn last record, left by a kill mid-append, is cut off: that commit never answered),
// then append at the journal's end; or, once the journal is past half the snapshot's size (and 4 MB), compact
// first: a new snapshot written to a temporary file, fsync'ed and renamed over the old one, before the replayed
// journal is deleted. The same compaction runs while serving when a commit takes the journal past that size, and
// at a graceful stop (SIGTERM) whenever the journal holds a commit: only a start after a kill replays.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const zlib = require("node:zlib");
const { decodeFields, encodeFields } = require("./fields");
const { CommitRequest } = require("@firestore-emulator/proto/dist/google/firestore/v1/firestore");

const SNAPSHOT_MAGIC = Buffer.from("DSFSNAP1");
const JOURNAL_MAGIC = Buffer.from("DSFJRNL1");
const SNAPSHOT = "snapshot.bin";
const RECORD_HEADER = 8;
// below this size a journal is never compacted: its replay is short, a compaction's pause is not worth it
const COMPACT_MIN_BYTES = 4 * 1024 * 1024;
// FIRESTORE_EMULATOR_COMPACT=always compacts at every start and after every commit: how the tests take that path
const ALWAYS_COMPACT = process.env.FIRESTORE_EMULATOR_COMPACT === "always";

class JournalError extends Error {}

function record(payload) {
  const header = Buffer.alloc(RECORD_HEADER);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(zlib.crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

/** The records of `buffer` after its magic; `end` is where the last intact record ends. */
function readRecords(buffer, start) {
  const payloads = [];
  let offset = start;
  while (offset + RECORD_HEADER <= buffer.length) {
    const length = buffer.readUInt32LE(offset);
    const end = offset + RECORD_HEADER + length;
    if (end > buffer.length) break;
    const payload = buffer.subarray(offset + RECORD_HEADER, end);
    if (zlib.crc32(payload) !== buffer.readUInt32LE(offset + 4)) break;
    payloads.push(payload);
    offset = end;
  }
  return { payloads, end: offset };
}

function fsyncDirectory(dir) {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Every document that exists, walking projects > databases > collections > documents > subcollections. */
function* existingDocuments(state) {
  function* walkCollections(collections) {
    for (const collection of Object.values(collections)) {
      for (const document of Object.values(collection.documents)) {
        if (document.metadata.hasExist) yield document;
        yield* walkCollections(document.collections);
      }
    }
  }
  for (const project of Object.values(state.projects)) {
    for (const database of Object.values(project.databases)) {
      yield* walkCollections(database.collections);
    }
  }
}

/** Run the first `ran` writes of a commit as the live Commit did; only the last can throw, as it did live. */
function applyCommit(state, date, request, ran) {
  for (const write of request.writes.slice(0, ran)) {
    try {
      state.writeV1Document(date, write);
    } catch {
      // the live commit ended here too; what this write changed before throwing is in the state either way
    }
  }
}

class DurableState {
  constructor(state, dir) {
    this.state = state;
    this.dir = dir;
    this.fd = null;
    this.journalNumber = 0;
    this.journalBytes = 0;
    this.snapshotBytes = 0;
  }

  journalPath(n) {
    return path.join(this.dir, `journal-${String(n).padStart(8, "0")}.log`);
  }

  journalNumbers() {
    return fs
      .readdirSync(this.dir)
      .map((name) => /^journal-(\d+)\.log$/.exec(name))
      .filter(Boolean)
      .map((m) => Number.parseInt(m[1], 10))
      .sort((a, b) => a - b);
  }

  /** Load the state and get ready to append: to the journal it replayed, or, once that is large, to a fresh one
   * after a new snapshot (so a start rewrites the snapshot only when the replay it saves is worth it). */
  open() {
    const { commits } = this.load();
    if (this.journalBytes > this.compactionThreshold()) {
      this.compact();
    } else {
      this.openJournal(this.journalNumber);
    }
    return { commits };
  }

  /** Load the snapshot and replay the journals after it; returns counts for the start-up log line. */
  load() {
    fs.mkdirSync(this.dir, { recursive: true });
    const first = this.loadSnapshot();
    let commits = 0;
    for (const n of this.journalNumbers()) {
      if (n < first) {
        fs.rmSync(this.journalPath(n)); // a compaction included it but stopped before deleting it
        continue;
      }
      commits += this.replayJournal(n);
      this.journalNumber = n; // only the last can have records: a compaction leaves one journal after the snapshot
    }
    this.journalNumber = Math.max(this.journalNumber, first);
    return { commits };
  }

  loadSnapshot() {
    const file = path.join(this.dir, SNAPSHOT);
    if (!fs.existsSync(file)) return 0;
    const buffer = fs.readFileSync(file);
    if (!buffer.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
      throw new JournalError(`${file} is not a devstack Firestore snapshot`);
    }
    const start = SNAPSHOT_MAGIC.length + 4;
    const { payloads, end } = readRecords(buffer, start);
    if (end !== buffer.length) {
      throw new JournalError(`${file} is damaged at byte ${end} of ${buffer.length}`);
    }
    const collections = new Map(); // parent path -> collection: one path walk per collection, not per document
    for (const payload of payloads) {
      const [name, created, updated, fields] = JSON.parse(payload.toString("utf8"));
      const cut = name.lastIndexOf("/");
      const parent = name.slice(0, cut);
      let collection = collections.get(parent);
      if (collection === undefined) {
        collection = this.state.getCollection(parent);
        collections.set(parent, collection);
      }
      const document = collection.getDocument(name.slice(cut + 1));
      document.fields = decodeFields(fields);
      document.metadata = { createdAt: new Date(created), hasExist: true, updatedAt: new Date(updated) };
    }
    this.snapshotBytes = buffer.length;
    return buffer.readUInt32LE(SNAPSHOT_MAGIC.length);
  }

  replayJournal(n) {
    const file = this.journalPath(n);
    const buffer = fs.readFileSync(file);
    if (buffer.length < JOURNAL_MAGIC.length || !buffer.subarray(0, JOURNAL_MAGIC.length).equals(JOURNAL_MAGIC)) {
      fs.rmSync(file); // killed while creating it: it holds no commit
      return 0;
    }
    const { payloads, end } = readRecords(buffer, JOURNAL_MAGIC.length);
    for (const payload of payloads) {
      const date = new Date(payload.readDoubleLE(0));
      const ran = payload.readUInt32LE(8);
      applyCommit(this.state, date, CommitRequest.deserializeBinary(payload.subarray(12)), ran);
    }
    if (end !== buffer.length) fs.truncateSync(file, end);
    this.journalBytes += end;
    return payloads.length;
  }

  /** A new snapshot of the whole state, then a fresh journal; the old journals go once the snapshot is safe. */
  compact() {
    const next = this.journalNumber + 1;
    const file = path.join(this.dir, SNAPSHOT);
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, "w");
    let bytes = 0;
    try {
      const header = Buffer.alloc(SNAPSHOT_MAGIC.length + 4);
      SNAPSHOT_MAGIC.copy(header);
      header.writeUInt32LE(next, SNAPSHOT_MAGIC.length);
      bytes += fs.writeSync(fd, header);
      let pending = [];
      let pendingBytes = 0;
      const flush = () => {
        bytes += fs.writeSync(fd, Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
      };
      for (const document of existingDocuments(this.state)) {
        const { createdAt, updatedAt } = document.metadata;
        const entry = [document.getPath(), createdAt.getTime(), updatedAt.getTime(), encodeFields(document.fields)];
        const rec = record(Buffer.from(JSON.stringify(entry), "utf8"));
        pending.push(rec);
        pendingBytes += rec.length;
        if (pendingBytes > 4 * 1024 * 1024) flush();
      }
      flush();
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDirectory(this.dir);
    this.snapshotBytes = bytes;
    const old = this.journalNumbers();
    this.openJournal(next);
    for (const n of old) fs.rmSync(this.journalPath(n), { force: true });
  }

  /** Append to journal n from now on: its end if it exists (cut after its last intact record), else a new one. */
  openJournal(n) {
    if (this.fd !== null) fs.closeSync(this.fd);
    const file = this.journalPath(n);
    if (fs.existsSync(file)) {
      this.fd = fs.openSync(file, "a");
    } else {
      this.fd = fs.openSync(file, "w");
      fs.writeSync(this.fd, JOURNAL_MAGIC);
      fs.fsyncSync(this.fd);
      fsyncDirectory(this.dir);
      this.journalBytes = JOURNAL_MAGIC.length;
    }
    this.journalNumber = n;
  }

  /** Append one commit and make it durable; called before the Commit RPC answers. */
  append(date, rawRequest, ran) {
    const head = Buffer.alloc(12);
    head.writeDoubleLE(date.getTime(), 0);
    head.writeUInt32LE(ran, 8);
    const rec = record(Buffer.concat([head, rawRequest]));
    fs.writeSync(this.fd, rec);
    fs.fdatasyncSync(this.fd);
    this.journalBytes += rec.length;
  }

  /** Replaying a journal costs far more a document than loading the snapshot does, so the journal is kept below
   * half the snapshot (and a floor, below which a compaction is not worth its pause). */
  compactionThreshold() {
    return ALWAYS_COMPACT ? 0 : Math.max(COMPACT_MIN_BYTES, this.snapshotBytes / 2);
  }

  compactIfLarge() {
    if (this.journalBytes > this.compactionThreshold()) this.compact();
  }

  /** At a graceful stop: fold whatever the journal holds into the snapshot, so the next start only loads it. */
  compactIfAny() {
    if (this.journalBytes > JOURNAL_MAGIC.length) this.compact();
  }

  close() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

module.exports = { DurableState, JournalError, applyCommit, existingDocuments };
