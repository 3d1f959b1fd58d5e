import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createWriteStream, mkdirSync, promises as fsp } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { crc32 } from "node:zlib";

/* s3rver (jamhall/s3rver) ships no types: the few parts used here are typed by hand. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require("s3rver") as new (options: Record<string, unknown>) => S3rverApp;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const AWSAccount = require("s3rver/lib/models/account") as AccountModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3Error = require("s3rver/lib/models/error") as new (code: string, message: string, detail?: Record<string, unknown>) => Error;

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  querystring: string;
  originalUrl: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
/** What s3rver's filesystem store is handed to write: `content` is the request itself for a PUT. */
interface StoredObject {
  bucket: string;
  key: string;
  content: Buffer | (NodeJS.ReadableStream & { headers?: Record<string, string | string[] | undefined> });
  metadata: Record<string, string>;
}
interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
  putPart(bucket: string, uploadId: string, partNumber: string, content: StoredObject["content"]): Promise<{ size: number; md5: string }>;
  getBucket(bucket: string): Promise<unknown | null>;
  listObjects(
    bucket: string,
    options: { prefix?: string; delimiter?: string; startAfter?: string; maxKeys?: number },
  ): Promise<{ objects: Array<{ key: string; size: number; lastModifiedDate: Date; metadata: Record<string, string> }>; commonPrefixes: string[]; isTruncated: boolean }>;
}
interface S3rverApp {
  middleware: Middleware[];
  store: FilesystemStore;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections?: () => void };
}
interface AccountModule {
  new (id: number, displayName: string): { createKeyPair(accessKeyId: string, secret: string): void };
  registry: Map<string, unknown>;
  DUMMY_ACCOUNT: { revokeAccessKey(accessKeyId: string): void };
}

export interface S3ServerOptions {
  host?: string;
  port: number;
  /** Where objects are kept (created when missing). */
  directory: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Buckets created at start (existing ones are kept). */
  buckets?: string[];
}

export interface RunningS3Server {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

function header(ctx: KoaContext, name: string): string | undefined {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** RFC 3986 encoding as AWS Signature V4 wants it (A-Z a-z 0-9 - _ . ~ kept). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

function hmac(key: Buffer | string, text: string): Buffer {
  return createHmac("sha256", key).update(text, "utf8").digest();
}

/** The raw query pairs of a URL, decoded (SigV4 encodes them again, its own way). */
function queryPairs(search: string): Array<[string, string]> {
  if (!search) return [];
  return search.split("&").filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, "%20"));
    return at < 0 ? [decode(pair), ""] : [decode(pair.slice(0, at)), decode(pair.slice(at + 1))];
  });
}

function denied(code: string, message: string): Error {
  return new S3Error(code, message);
}

/**
 * Checks an AWS Signature V4 (Authorization header or presigned query) against the one key pair
 * this server knows. s3rver itself only looks the access key id up and never checks a V4
 * signature; this does, so a wrong secret is refused as real S3 refuses it. The payload hash is
 * taken as declared (x-amz-content-sha256), not recomputed over the body.
 */
function verifySignatureV4(ctx: KoaContext, keys: { accessKeyId: string; secretAccessKey: string }): void {
  const rawUrl = ctx.originalUrl;
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const pairs = queryPairs(q < 0 ? "" : rawUrl.slice(q + 1));
  const auth = header(ctx, "authorization");
  let credential: string;
  let signedHeaders: string;
  let signature: string;
  let amzDate: string;
  let payloadHash: string;
  const presigned = pairs.some(([k]) => k === "X-Amz-Algorithm");
  if (auth) {
    const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/.exec(auth);
    if (!m) throw denied("AccessDenied", "only AWS Signature Version 4 (AWS4-HMAC-SHA256) is accepted");
    [, credential, signedHeaders, signature] = m;
    amzDate = header(ctx, "x-amz-date") ?? "";
    payloadHash = header(ctx, "x-amz-content-sha256") ?? "";
  } else if (presigned) {
    const get = (k: string) => pairs.find(([key]) => key === k)?.[1] ?? "";
    if (get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") throw denied("AccessDenied", "only AWS4-HMAC-SHA256 presigned URLs are accepted");
    credential = get("X-Amz-Credential");
    signedHeaders = get("X-Amz-SignedHeaders");
    signature = get("X-Amz-Signature");
    amzDate = get("X-Amz-Date");
    payloadHash = "UNSIGNED-PAYLOAD";
    const expires = Number(get("X-Amz-Expires"));
    const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
    if (!Number.isFinite(signedAt) || !Number.isFinite(expires) || Date.now() > signedAt + expires * 1000) {
      throw denied("AccessDenied", "Request has expired");
    }
  } else {
    throw denied("AccessDenied", "this server answers signed requests only (AWS Signature Version 4)");
  }
  const [accessKeyId, date, region, service, terminator] = credential.split("/");
  if (accessKeyId !== keys.accessKeyId) throw denied("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
  if (!date || !region || !service || terminator !== "aws4_request" || !amzDate.startsWith(date)) {
    throw denied("AuthorizationHeaderMalformed", "the credential scope is malformed");
  }
  const canonicalQuery = pairs
    .filter(([k]) => k !== "X-Amz-Signature")
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = signedHeaders.split(";");
  const canonicalHeaders = names.map((name) => `${name}:${(header(ctx, name) ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonicalRequest = [ctx.method, rawPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonicalRequest, "utf8").digest("hex")].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${keys.secretAccessKey}`, date), region), service), "aws4_request");
  const expected = createHmac("sha256", signingKey).update(stringToSign, "utf8").digest();
  const given = Buffer.from(signature, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw denied("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
  }
  if (auth) {
    const at = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
    if (!Number.isFinite(at) || Math.abs(Date.now() - at) > 15 * 60 * 1000) throw denied("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.");
  }
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[ch]!);
}

/** The Content-MD5 a request declared, as hex (null when it declared none); InvalidDigest when it is not an MD5. */
function declaredMd5(content: StoredObject["content"]): string | null {
  const value = Buffer.isBuffer(content) ? undefined : content.headers?.["content-md5"];
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return null;
  const digest = Buffer.from(text, "base64");
  if (digest.length !== 16 || digest.toString("base64") !== text.trim()) throw new S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.");
  return digest.toString("hex");
}

function badDigest(): Error {
  return new S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.");
}

/** CRC32C (Castagnoli, reflected 0x82F63B78) a byte at a time: zlib has none, and few clients send it. */
const CRC32C_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32c(chunk: Uint8Array, previous = 0): number {
  let c = ~previous;
  for (let i = 0; i < chunk.length; i++) c = CRC32C_TABLE[(c ^ chunk[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A CRC as S3 sends it: base64 of its 4 big-endian bytes. */
function crcBase64(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString("base64");
}

interface ChecksumState {
  update(chunk: Uint8Array): void;
  base64(): string;
}

/** A running CRC (crc32 or crc32c: chunk and the value so far → the new value). */
function crcState(update: (chunk: Uint8Array, value: number) => number): ChecksumState {
  let value = 0;
  return { update: (chunk) => void (value = update(chunk, value)), base64: () => crcBase64(value) };
}

/** The x-amz-checksum-* algorithms this server checks, by header suffix: each with the size of its digest. */
const CHECKSUM_ALGORITHMS: Record<string, { name: string; bytes: number; start(): ChecksumState }> = {
  crc32: { name: "CRC32", bytes: 4, start: () => crcState(crc32) },
  crc32c: { name: "CRC32C", bytes: 4, start: () => crcState(crc32c) },
  sha1: { name: "SHA1", bytes: 20, start: () => hashState("sha1") },
  sha256: { name: "SHA256", bytes: 32, start: () => hashState("sha256") },
};

function hashState(algorithm: string): ChecksumState {
  const hash = createHash(algorithm);
  return { update: (chunk) => void hash.update(chunk), base64: () => hash.digest("base64") };
}

/** A checksum a request declared in an x-amz-checksum-* header, to check against its body. */
interface DeclaredChecksum {
  /** The header's suffix: crc32, crc32c, sha1, sha256. */
  algorithm: string;
  value: string;
  state: ChecksumState;
}

/**
 * The x-amz-checksum-<algorithm> a request declared (null when none), with the state to compute
 * it over the body; InvalidRequest when its value is not a digest of that algorithm, NotImplemented
 * for an algorithm this server cannot check (refused rather than stored unchecked).
 */
function declaredChecksum(headers: Record<string, string | string[] | undefined> | undefined): DeclaredChecksum | null {
  for (const [name, raw] of Object.entries(headers ?? {})) {
    if (!name.startsWith("x-amz-checksum-") || name === "x-amz-checksum-algorithm" || name === "x-amz-checksum-type" || name === "x-amz-checksum-mode") continue;
    const algorithm = name.slice("x-amz-checksum-".length);
    const known = CHECKSUM_ALGORITHMS[algorithm];
    if (!known) throw new S3Error("NotImplemented", `this server does not check ${name}; send x-amz-checksum-crc32, -crc32c, -sha1, -sha256 or Content-MD5`);
    const value = (Array.isArray(raw) ? raw[0] : raw ?? "").trim();
    const digest = Buffer.from(value, "base64");
    if (digest.length !== known.bytes || digest.toString("base64") !== value) throw new S3Error("InvalidRequest", `Value for ${name} header is invalid.`);
    return { algorithm, value, state: known.start() };
  }
  return null;
}

function checksumMismatch(algorithm: string): Error {
  return new S3Error("BadDigest", `The ${CHECKSUM_ALGORITHMS[algorithm].name} you specified did not match the calculated checksum.`);
}

/** The request's body with `declared`'s checksum computed as it goes through. */
function checksumTap(content: NodeJS.ReadableStream, declared: DeclaredChecksum): Transform {
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      declared.state.update(chunk);
      callback(null, chunk);
    },
  });
  // A request the client broke off ends the tap; s3rver's own part writer is left waiting, as it
  // was for the request itself (its error has no other listener: unheard, it would end the process).
  content.on("error", (err) => tap.destroy(err));
  tap.on("error", () => undefined);
  return content.pipe(tap);
}

/** The one account of this server, whose key pair is the given one. */
const ACCOUNT = { id: 123456789000, name: "dbb" };

/**
 * ListObjectsV2, answered here: s3rver makes its continuation tokens with DES, which Node 20's
 * OpenSSL 3 no longer offers, so every truncated listing failed with InternalError (`aws s3 ls`
 * of more than 1,000 keys). The token here is the last key listed, base64url-encoded. Keys are
 * listed by s3rver's own store, as its v1 listing does; `encoding-type` is ignored, as s3rver does.
 */
async function listObjectsV2(ctx: KoaContext, store: FilesystemStore, bucket: string): Promise<void> {
  const q = (name: string): string | undefined => (typeof ctx.query[name] === "string" ? (ctx.query[name] as string) : undefined);
  if (!(await store.getBucket(bucket))) throw new S3Error("NoSuchBucket", "The specified bucket does not exist", { BucketName: bucket });
  const token = q("continuation-token");
  let startAfter = q("start-after") ?? "";
  if (token !== undefined) {
    const decoded = /^[A-Za-z0-9_-]*$/.test(token) ? Buffer.from(token, "base64url").toString("utf8") : "";
    if (!decoded.startsWith("dbb:")) throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", { ArgumentName: "continuation-token" });
    startAfter = decoded.slice(4);
  }
  const maxKeysText = q("max-keys");
  const maxKeys = maxKeysText === undefined ? 1000 : Number(maxKeysText);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) {
    throw new S3Error("InvalidArgument", "Provided max-keys not an integer or within integer range", { ArgumentName: "max-keys", ArgumentValue: maxKeysText ?? "" });
  }
  const prefix = q("prefix") ?? "";
  const delimiter = q("delimiter") ?? "";
  const result =
    maxKeys === 0
      ? { objects: [], commonPrefixes: [], isTruncated: false }
      : await store.listObjects(bucket, { prefix, delimiter, startAfter, maxKeys: Math.min(1000, maxKeys) });
  const last = result.objects[result.objects.length - 1]?.key;
  const owner = q("fetch-owner") === "true" ? `<Owner><ID>${ACCOUNT.id}</ID><DisplayName>${ACCOUNT.name}</DisplayName></Owner>` : "";
  ctx.type = "application/xml";
  ctx.body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
    (token !== undefined ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : startAfter ? `<StartAfter>${xmlEscape(startAfter)}</StartAfter>` : "") +
    (result.isTruncated && last !== undefined ? `<NextContinuationToken>${Buffer.from(`dbb:${last}`, "utf8").toString("base64url")}</NextContinuationToken>` : "") +
    `<KeyCount>${result.objects.length + result.commonPrefixes.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys>` +
    (delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : "") +
    `<IsTruncated>${result.isTruncated}</IsTruncated>` +
    result.objects
      .map(
        (o) =>
          `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>${o.lastModifiedDate.toISOString()}</LastModified>` +
          `<ETag>${xmlEscape(o.metadata.etag ?? "")}</ETag><Size>${o.size}</Size>${owner}<StorageClass>STANDARD</StorageClass></Contents>`,
      )
      .join("") +
    result.commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`).join("") +
    `</ListBucketResult>`;
}

/**
 * What s3rver's store lacks, as real S3 does it: an object is written under a temporary name and
 * renamed into place once whole (s3rver writes in place, so an interrupted PUT left a partial
 * object visible), and a declared Content-MD5 or x-amz-checksum-crc32 (-crc32c, -sha1, -sha256)
 * is checked against the bytes received, for objects and parts alike (BadDigest: nothing is kept).
 */
function makeWritesWhole(store: FilesystemStore): void {
  const putPart = store.putPart.bind(store);
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, "object");
    // Named like s3rver's own files of the key, but never listed as an object (those end in "._S3rver_object").
    const temp = `${objectPath.slice(0, -"object".length)}upload-${randomBytes(8).toString("hex")}`;
    await fsp.mkdir(path.dirname(objectPath), { recursive: true });
    const hash = createHash("md5");
    let size = 0;
    try {
      const expected = declaredMd5(object.content);
      const checksum = Buffer.isBuffer(object.content) ? null : declaredChecksum(object.content.headers);
      if (Buffer.isBuffer(object.content)) {
        hash.update(object.content);
        size = object.content.length;
        await fsp.writeFile(temp, object.content);
      } else {
        const tap = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            checksum?.state.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        await pipeline(object.content, tap, createWriteStream(temp));
      }
      const md5 = hash.digest("hex");
      if (expected !== null && expected !== md5) throw badDigest();
      if (checksum && checksum.state.base64() !== checksum.value) throw checksumMismatch(checksum.algorithm);
      await fsp.rename(temp, objectPath);
      await store.putMetadata(object.bucket, object.key, object.metadata, md5);
      return { size, md5 };
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw err;
    }
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const expected = declaredMd5(content);
    const checksum = Buffer.isBuffer(content) ? null : declaredChecksum(content.headers);
    const stored = await putPart(bucket, uploadId, partNumber, checksum && !Buffer.isBuffer(content) ? checksumTap(content, checksum) : content);
    const refusal = expected !== null && expected !== stored.md5 ? badDigest() : checksum && checksum.state.base64() !== checksum.value ? checksumMismatch(checksum.algorithm) : null;
    if (refusal) {
      const partPath = path.join(store.getResourcePath(bucket, undefined, "uploads"), uploadId, String(partNumber));
      await Promise.all([fsp.rm(partPath, { force: true }), fsp.rm(`${partPath}.md5`, { force: true })]);
      throw refusal;
    }
    return stored;
  };
}

/**
 * A local S3-protocol server: s3rver (objects as files under `directory`), with in front of it
 * GET /health, Signature V4 verification against the one key pair, and the two multipart calls
 * s3rver lacks (AbortMultipartUpload, ListMultipartUploads) over s3rver's own upload folders.
 */
export async function startS3Server(options: S3ServerOptions): Promise<RunningS3Server> {
  if (!options.accessKeyId || !options.secretAccessKey) throw new Error("an access key id and a secret access key are required");
  mkdirSync(options.directory, { recursive: true });
  const host = options.host ?? "127.0.0.1";
  // s3rver keeps accounts in a module-wide registry: only our key pair opens it.
  AWSAccount.DUMMY_ACCOUNT.revokeAccessKey("S3RVER");
  new AWSAccount(ACCOUNT.id, ACCOUNT.name).createKeyPair(options.accessKeyId, options.secretAccessKey);
  const app = new S3rver({
    address: host,
    port: options.port,
    directory: path.resolve(options.directory),
    silent: true,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  makeWritesWhole(app.store);
  const uploadsDir = (bucket: string) => app.store.getResourcePath(bucket, undefined, "uploads");

  const front: Middleware = async (ctx, next) => {
    if (ctx.path === "/health" && (ctx.method === "GET" || ctx.method === "HEAD")) {
      ctx.type = "application/json";
      ctx.body = JSON.stringify({ status: "ok", service: "s3" });
      return;
    }
    verifySignatureV4(ctx, options);
    // s3rver would store aws-chunked framing (chunk signatures, CRC trailers) as the object's bytes.
    if ((header(ctx, "x-amz-content-sha256") ?? "").startsWith("STREAMING-") || /aws-chunked/i.test(header(ctx, "content-encoding") ?? "")) {
      throw new S3Error("NotImplemented", "aws-chunked bodies are not supported by this server: send the body as is (SDK: requestChecksumCalculation WHEN_REQUIRED)");
    }
    const [, bucket, ...keyParts] = ctx.path.split("/");
    const key = keyParts.join("/");
    const uploadId = typeof ctx.query.uploadId === "string" ? ctx.query.uploadId : undefined;
    if (ctx.method === "DELETE" && bucket && key && uploadId) {
      if (!/^[0-9a-f]{32}$/.test(uploadId)) throw new S3Error("NoSuchUpload", "The specified upload does not exist.");
      const dir = path.join(uploadsDir(bucket), uploadId);
      try {
        await fsp.access(dir);
      } catch {
        throw new S3Error("NoSuchUpload", "The specified upload does not exist.");
      }
      await fsp.rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (ctx.method === "GET" && bucket && !key && ctx.query["list-type"] === "2") {
      await listObjectsV2(ctx, app.store, bucket);
      return;
    }
    if (ctx.method === "GET" && bucket && !key && "uploads" in ctx.query) {
      const uploads: Array<{ key: string; id: string; initiated: Date }> = [];
      const root = uploadsDir(bucket);
      for (const id of await fsp.readdir(root).catch(() => [] as string[])) {
        try {
          const [text, info] = await Promise.all([fsp.readFile(path.join(root, id, "key"), "utf8"), fsp.stat(path.join(root, id))]);
          uploads.push({ key: text, id, initiated: info.mtime });
        } catch {
          /* completed or aborted meanwhile */
        }
      }
      const prefix = typeof ctx.query.prefix === "string" ? ctx.query.prefix : "";
      const listed = uploads.filter((u) => u.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      ctx.type = "application/xml";
      ctx.body =
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><Prefix>${xmlEscape(prefix)}</Prefix>` +
        `<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
        listed.map((u) => `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`).join("") +
        `</ListMultipartUploadsResult>`;
      return;
    }
    await next();
    // A body's x-amz-checksum-* was checked as it was stored (else BadDigest): said back as S3
    // does, which tells the client that the store checked it.
    if (ctx.method === "PUT" && ctx.status === 200 && !header(ctx, "x-amz-copy-source")) {
      const checksum = declaredChecksum(ctx.headers);
      if (checksum) ctx.set(`x-amz-checksum-${checksum.algorithm}`, checksum.value);
    }
  };
  // Koa composes its middleware when the server starts: this one runs before s3rver's own.
  app.middleware.unshift(front);
  const address = await app.run();
  return {
    endpoint: `http://${host}:${address.port}`,
    port: address.port,
    async close() {
      const closing = app.close();
      app.httpServer?.closeAllConnections?.();
      await closing;
    },
  };
}
