// A document's fields as JSON and back, in the library's own field objects, for the snapshot.
//
// The library exports no field classes and no converter, so its classes are taken from a probe document with one
// field of each type, written through its public writeV1Document: a snapshot loads without the cost of protobuf
// decoding and the library's immutable updates (most of a replayed write's time), yet builds the same objects.
"use strict";

const { FirestoreState } = require("@firestore-emulator/server");
const { Document } = require("@firestore-emulator/proto/dist/google/firestore/v1/document");
const { Write } = require("@firestore-emulator/proto/dist/google/firestore/v1/write");

const PROBE_VALUES = {
  array_value: { array_value: { values: [] } },
  boolean_value: { boolean_value: true },
  bytes_value: { bytes_value: new Uint8Array([1]) },
  double_value: { double_value: 1.5 },
  geo_point_value: { geo_point_value: { latitude: 1, longitude: 2 } },
  integer_value: { integer_value: 1 },
  map_value: { map_value: { fields: {} } },
  null_value: { null_value: 0 },
  reference_value: { reference_value: "projects/p/databases/d/documents/c/other" },
  string_value: { string_value: "s" },
  timestamp_value: { timestamp_value: { seconds: 1 } },
};

/** type name (e.g. "integer_value") -> the library's class for it */
function fieldClasses() {
  const name = "projects/p/databases/d/documents/c/probe";
  const state = new FirestoreState();
  state.writeV1Document(new Date(0), new Write({ update: Document.fromObject({ name, fields: PROBE_VALUES }) }));
  const fields = state.getDocument(name).fields;
  const classes = {};
  for (const type of Object.keys(PROBE_VALUES)) {
    const field = fields?.[type];
    if (!field || field.type !== type) {
      throw new Error(`@firestore-emulator/server stores no ${type} field as expected; was its version changed?`);
    }
    classes[type] = field.constructor;
  }
  return classes;
}

const CLASSES = fieldClasses();
// JSON has no NaN, infinities or -0: doubles that are not plain JSON numbers are kept as their string form
const SPECIAL_DOUBLES = { "-0": -0, "-Infinity": -Infinity, Infinity: Infinity, NaN: Number.NaN };

function encodeValue(field) {
  switch (field.type) {
    case "array_value":
      return field.value.map(encodeField);
    case "map_value":
      return encodeFields(field.value);
    case "bytes_value":
      return Buffer.from(field.value).toString("base64");
    case "double_value":
      return Number.isFinite(field.value) && !Object.is(field.value, -0) ? field.value : String(field.value);
    case "null_value":
      return null;
    default:
      return field.value;
  }
}

function encodeField(field) {
  return [field.type, encodeValue(field)];
}

/** an object of `keys` -> make(key), as own properties even for a key such as "__proto__" */
function objectOf(keys, make) {
  const out = {};
  for (const key of keys) {
    if (key === "__proto__") {
      Object.defineProperty(out, key, { configurable: true, enumerable: true, value: make(key), writable: true });
    } else {
      out[key] = make(key);
    }
  }
  return out;
}

function encodeFields(fields) {
  return objectOf(Object.keys(fields), (key) => encodeField(fields[key]));
}

function decodeField([type, value]) {
  const Field = CLASSES[type];
  if (!Field) throw new Error(`unknown field type ${JSON.stringify(type)} in the snapshot`);
  switch (type) {
    case "array_value":
      return new Field(value.map(decodeField));
    case "map_value":
      return new Field(decodeFields(value));
    case "bytes_value":
      return new Field(new Uint8Array(Buffer.from(value, "base64")));
    case "double_value":
      return new Field(typeof value === "string" ? SPECIAL_DOUBLES[value] : value);
    case "null_value":
      return new Field();
    default:
      return new Field(value);
  }
}

function decodeFields(encoded) {
  return objectOf(Object.keys(encoded), (key) => decodeField(encoded[key]));
}

module.exports = { decodeFields, encodeFields };
