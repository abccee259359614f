// Firestore emulator for devstack: @firestore-emulator/server (gRPC) on a loopback address, its state kept on disk.
//
//   node server.js <port> [host] [data-dir]   (or FIRESTORE_EMULATOR_PORT / _BIND / _DATA; host default 127.0.0.1)
//
// The library's own start(port) binds 0.0.0.0, so we bind its gRPC server ourselves to the host we are given.
// Clients connect with FIRESTORE_EMULATOR_HOST=<host>:<port> (no scheme).
// With a data dir, every Commit (the only RPC that writes) is journaled and fsync'ed before it answers, and the
// state is rebuilt from that folder at start (journal.js); without one, state is in memory only.
"use strict";

const grpc = require("@grpc/grpc-js");
const {
  FirestoreServer,
  FirestoreStateCollection,
  FirestoreStateDocument,
  TimestampFromDate,
} = require("@firestore-emulator/server");
const {
  CommitRequest,
  CommitResponse,
  UnimplementedFirestoreService,
} = require("@firestore-emulator/proto/dist/google/firestore/v1/firestore");
const { DurableState, existingDocuments } = require("./journal");

// The library adds a document to a collection with immer's produce(), which copies the collection's whole
// record of documents: creating n documents cost O(n^2) (a 500-write commit took 10 s at 20k documents).
// Same behaviour, added in place; an own-property check, so an id such as "constructor" is a document too.
if (typeof FirestoreStateCollection?.prototype?.getDocument !== "function") {
  console.error("firestore emulator: @firestore-emulator/server has no FirestoreStateCollection.getDocument; was its version changed?");
  process.exit(3);
}
FirestoreStateCollection.prototype.getDocument = function getDocument(documentName) {
  if (!Object.prototype.hasOwnProperty.call(this.documents, documentName)) {
    if (Object.isFrozen(this.documents)) {
      this.documents = { ...this.documents };
    }
    this.documents[documentName] = new FirestoreStateDocument(this.emitter, this.database, this, documentName, {}, {});
  }
  return this.documents[documentName];
};

const rawPort = process.argv[2] || process.env.FIRESTORE_EMULATOR_PORT || "";
const host = process.argv[3] || process.env.FIRESTORE_EMULATOR_BIND || "127.0.0.1";
const dataDir = process.argv[4] || process.env.FIRESTORE_EMULATOR_DATA || "";
const port = Number.parseInt(rawPort, 10);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`firestore emulator: invalid port ${JSON.stringify(rawPort)}; usage: node server.js <port> [host] [data-dir]`);
  process.exit(2);
}

const emulator = new FirestoreServer();
// `server` is the library's grpc.Server (private in its typings, public at run time)
const server = emulator.server;
if (!server || typeof server.bindAsync !== "function") {
  console.error("firestore emulator: @firestore-emulator/server has no grpc server to bind; was its version changed?");
  process.exit(3);
}

let durable = null;
if (dataDir) {
  durable = new DurableState(emulator.state, dataDir);
  const started = Date.now();
  try {
    const { commits } = durable.open();
    let documents = 0;
    for (const _ of existingDocuments(emulator.state)) documents++;
    console.log(
      `firestore emulator: ${documents} documents from ${dataDir} (${commits} journaled commits replayed) ` +
        `in ${Date.now() - started} ms`,
    );
  } catch (err) {
    console.error(`firestore emulator: cannot load its state from ${dataDir}: ${err.message}`);
    process.exit(4);
  }
  replaceCommit(server, emulator.state, durable);
}

/** The library's Commit, plus the journal: the commit is durable before the client hears it succeeded. */
function replaceCommit(grpcServer, state, journal) {
  const spec = UnimplementedFirestoreService.definition.Commit;
  if (!grpcServer.unregister(spec.path)) {
    console.error(`firestore emulator: no ${spec.path} handler to replace; was the library's version changed?`);
    process.exit(3);
  }
  // keep the request's bytes: they are what the journal stores, no re-encoding
  const deserialize = (bytes) => ({ bytes, request: CommitRequest.deserializeBinary(bytes) });
  const handler = (call, callback) => {
    const { bytes, request } = call.request;
    const date = new Date();
    const results = [];
    let failure = null;
    for (const write of request.writes) {
      try {
        results.push(state.writeV1Document(date, write));
      } catch (err) {
        failure = err;
        break;
      }
    }
    const attempted = results.length + (failure ? 1 : 0);
    try {
      if (attempted > 0) journal.append(date, bytes, attempted);
    } catch (err) {
      console.error(`firestore emulator: cannot journal a commit in ${dataDir}: ${err.message}`);
      callback({ code: grpc.status.INTERNAL, message: `journal write failed: ${err.message}` }, null);
      process.exit(5); // memory now holds a write the disk does not: start again from the disk
    }
    if (failure) {
      const code = typeof failure.code === "number" ? failure.code : grpc.status.UNKNOWN;
      if (!(typeof failure.code === "number")) console.error(failure);
      callback({ code, message: failure.message }, null);
      return;
    }
    callback(
      null,
      CommitResponse.fromObject({
        commit_time: TimestampFromDate(date),
        write_results: results.map((result) => result.toObject()),
      }),
    );
    try {
      journal.compactIfLarge();
    } catch (err) {
      // the commits are safe in the journal; a failed compaction only leaves a longer replay for the next start
      console.error(`firestore emulator: compaction in ${dataDir} failed: ${err.message}`);
    }
  };
  grpcServer.register(spec.path, handler, spec.responseSerialize, deserialize, "unary");
}

const address = `${host}:${port}`;
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
  if (err) {
    console.error(`firestore emulator: cannot listen on ${address}: ${err.message}`);
    process.exit(1);
  }
  console.log(`firestore emulator listening on ${host}:${boundPort} (gRPC, ${dataDir ? `data in ${dataDir}` : "in memory"})`);
});

function shutdown(signal) {
  console.log(`firestore emulator: ${signal}, stopping`);
  emulator.stop();
  if (durable) {
    try {
      durable.compactIfAny();
    } catch (err) {
      console.error(`firestore emulator: compaction in ${dataDir} at stop failed (the journal keeps it): ${err.message}`);
    }
    durable.close();
  }
  process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
