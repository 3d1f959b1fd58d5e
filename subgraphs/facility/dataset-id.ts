/**
 * Butler dataset IDs, computed as daf_butler's DatasetIdFactory.makeDatasetId does
 * (lsst/daf_butler python/lsst/daf/butler/_dataset_ref.py):
 *
 *   UNIQUE           -> a random UUID4
 *   DATAID_TYPE      -> uuid5(NS, "dataset_type=<name>" + ",<dim>=<value>"...)
 *   DATAID_TYPE_RUN  -> uuid5(NS, "dataset_type=<name>,run=<run>" + ",<dim>=<value>"...)
 *
 * where the "<dim>=<value>" items are the data ID's *required* dimensions (DataCoordinate.required), sorted
 * by dimension name and appended after the dataset_type/run items, every item is "key=value" with the value
 * formatted as Python's str() would, and the items are joined with ",". NS is
 * 840b31d9-05cd-5161-b2c8-00d32b280d0f, itself uuid5(NAMESPACE_DNS, "lsst.org").
 *
 * UUID5 (RFC 4122 / RFC 9562 name-based, SHA-1) is implemented here with node:crypto; no dependency.
 */
import * as crypto from "node:crypto";
import { createHash, randomUUID } from "node:crypto";
import { element, groupRequired } from "./dimension-universe";

export type IdGenerationMode = "UNIQUE" | "DATAID_TYPE" | "DATAID_TYPE_RUN";

/** DatasetIdFactory.NS_UUID. */
export const DATASET_ID_NAMESPACE = "840b31d9-05cd-5161-b2c8-00d32b280d0f";

/** RFC 4122 name space for fully-qualified domain names. */
export const NAMESPACE_DNS = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

export type DataIdValue = string | number | bigint;

const UUID_TEXT = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function uuidBytes(uuid: string): Buffer {
  if (!UUID_TEXT.test(uuid)) throw new Error(`Not a UUID: '${uuid}'`);
  return Buffer.from(uuid.replace(/-/g, ""), "hex");
}

/** The bytes of the few name spaces used (the dataset namespace for every id), parsed once. */
const namespaces = new Map<string, Buffer>();

function namespaceBytes(uuid: string): Buffer {
  let bytes = namespaces.get(uuid);
  if (!bytes) {
    bytes = uuidBytes(uuid);
    if (namespaces.size < 100) namespaces.set(uuid, bytes);
  }
  return bytes;
}

/** SHA-1 in one call (crypto.hash, Node ≥ 20.12), or through a Hash object. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: "buffer") => Buffer }).hash;
function sha1(data: Buffer): Buffer {
  return oneShot ? oneShot("sha1", data, "buffer") : createHash("sha1").update(data).digest();
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Name-based UUID (version 5): SHA-1 over the 16 namespace bytes followed by the UTF-8 name, truncated to
 * 16 bytes, with the version nibble set to 5 and the RFC 4122 variant bits set. Returns lowercase canonical text.
 */
export function uuid5(namespace: string, name: string): string {
  if (LONE_SURROGATE.test(name)) throw new Error("uuid5 name is not valid Unicode (lone surrogate); it has no UTF-8 encoding");
  const ns = namespaceBytes(namespace);
  const input = Buffer.allocUnsafe(16 + Buffer.byteLength(name, "utf8"));
  ns.copy(input, 0);
  input.write(name, 16, "utf8");
  const bytes = sha1(input).subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return formatUuid(bytes);
}

/** A data ID value as Python's str() renders a dimension key (int or str). */
function formatValue(dimension: string, value: DataIdValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString(10);
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  throw new Error(
    `Data ID value for '${dimension}' must be a string, a safe integer or a bigint (dimension keys are int or string); got ${String(value)}`,
  );
}

/** Code-unit order; identical to Python's code-point order for the ASCII dimension names. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The exact string daf_butler hashes for a deterministic dataset ID. The data ID may hold implied values too
 * (e.g. physical_filter, band, day_obs for an exposure); only the required dimensions of its group are used,
 * as with DataCoordinate.required. Throws for UNIQUE mode, unknown dimensions, or a missing required value.
 */
export function datasetIdName(
  datasetType: string,
  run: string,
  dataId: Record<string, DataIdValue>,
  mode: Exclude<IdGenerationMode, "UNIQUE">,
): string {
  let items: Array<[string, string]>;
  if (mode === "DATAID_TYPE") items = [["dataset_type", datasetType]];
  else if (mode === "DATAID_TYPE_RUN") items = [["dataset_type", datasetType], ["run", run]];
  else throw new Error(`Unexpected ID generation mode: ${String(mode)}`);

  const keys = Object.keys(dataId);
  for (const k of keys) {
    if (element(k).kind === "element") throw new Error(`'${k}' is a dimension element, not a dimension; it cannot be a data ID key`);
  }
  const required = groupRequired(keys);
  for (const dim of [...required].sort(byName)) {
    if (!Object.prototype.hasOwnProperty.call(dataId, dim)) {
      throw new Error(`Data ID lacks a value for required dimension '${dim}' (required: ${required.join(", ")})`);
    }
    items.push([dim, formatValue(dim, dataId[dim])]);
  }
  return items.map(([key, value]) => `${key}=${value}`).join(",");
}

/**
 * Butler dataset ID. UNIQUE gives a random UUID4; the other modes give the deterministic UUID5 daf_butler
 * computes for the same dataset type name, run and data ID (run is ignored in DATAID_TYPE mode).
 */
export function makeDatasetId(
  datasetType: string,
  run: string,
  dataId: Record<string, DataIdValue>,
  mode: IdGenerationMode,
): string {
  if (mode === "UNIQUE") return randomUUID();
  return uuid5(DATASET_ID_NAMESPACE, datasetIdName(datasetType, run, dataId, mode));
}
