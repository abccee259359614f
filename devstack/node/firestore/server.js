// Firestore emulator for devstack: @firestore-emulator/server (gRPC, state in memory) on a loopback address.
//
//   node server.js <port> [host]      (or FIRESTORE_EMULATOR_PORT / FIRESTORE_EMULATOR_BIND; host default 127.0.0.1)
//
// The library's own start(port) binds 0.0.0.0, so we bind its gRPC server ourselves to the host we are given.
// Clients connect with FIRESTORE_EMULATOR_HOST=<host>:<port> (no scheme).
"use strict";

const grpc = require("@grpc/grpc-js");
const { FirestoreServer, FirestoreStateCollection, FirestoreStateDocument } = require("@firestore-emulator/server");

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
const port = Number.parseInt(rawPort, 10);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`firestore emulator: invalid port ${JSON.stringify(rawPort)}; usage: node server.js <port> [host]`);
  process.exit(2);
}

const emulator = new FirestoreServer();
// `server` is the library's grpc.Server (private in its typings, public at run time)
const server = emulator.server;
if (!server || typeof server.bindAsync !== "function") {
  console.error("firestore emulator: @firestore-emulator/server has no grpc server to bind; was its version changed?");
  process.exit(3);
}

const address = `${host}:${port}`;
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
  if (err) {
    console.error(`firestore emulator: cannot listen on ${address}: ${err.message}`);
    process.exit(1);
  }
  console.log(`firestore emulator listening on ${host}:${boundPort} (gRPC, in memory)`);
});

function shutdown(signal) {
  console.log(`firestore emulator: ${signal}, stopping`);
  emulator.stop();
  process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
