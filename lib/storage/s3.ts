import { createHash } from "node:crypto";
import { finished, Readable, Transform } from "node:stream";
import { crc32 } from "node:zlib";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl, S3RequestPresigner } from "@aws-sdk/s3-request-presigner";
import { Adler32 } from "../checksum";
import { DbbError, ErrorCode, invalidInput } from "../errors";
import { httpGet, httpHead } from "../http-get";
import { httpPut } from "../http-put";
import type { ObjectInfo, PresigningDriver, StorageCredentials, StorageLocation, WriteOptions, WriteResult } from "./driver";
import { checkRange, pathSegments } from "./object-path";
import { isAbortError, systemStorageError, watchSourceErrors } from "./storage-errors";

const MiB = 1024 * 1024;
/** S3's own limits: parts of 5 MiB at least (but the last), 5 GiB at most, 10,000 of them. */
export const MIN_PART_BYTES = 5 * MiB;
const MAX_PART_BYTES = 5 * 1024 * MiB;
const MAX_PARTS = 10000;

export interface S3DriverSettings {
  /** Absent: the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, profiles, instance roles). */
  credentials?: StorageCredentials | null;
  /** Objects up to this size go in one PutObject (held in memory, at most this much); larger ones multipart. Default 64 MiB. */
  multipartThresholdBytes?: number;
  /** Size of each multipart part (at least 5 MiB). Default 16 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded at once; memory held is about (queueSize + 1) × partSizeBytes. Default 4 (rclone's --s3-upload-concurrency). */
  queueSize?: number;
  /** Milliseconds to wait for a connection / for a response to start. */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

function isAwsEndpoint(endpoint: string): boolean {
  try {
    return /(^|\.)amazonaws\.com(\.cn)?$/i.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/**
 * The S3 error as a storage DbbError. S3 says what went wrong in the error's name (its XML
 * `Code`); the HTTP status is the fallback.
 */
export function s3StorageError(err: unknown, what: string): Error {
  if (err instanceof DbbError || isAbortError(err)) return err as Error;
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const name = e.Code ?? e.name ?? "";
  const status = e.$metadata?.httpStatusCode;
  const said = e.message && e.message !== "UnknownError" && e.message !== "Unknown" ? e.message : `HTTP ${status ?? "?"}`;
  const details = { s3Code: name || undefined, httpStatus: status };
  switch (name) {
    case "NoSuchKey":
    case "NotFound":
      return new DbbError(ErrorCode.OBJECT_NOT_FOUND, `${what}: no such object`, details);
    case "NoSuchBucket":
      return new DbbError(ErrorCode.STORAGE_ERROR, `${what}: the bucket does not exist (${said}); create it or fix the RSE's protocol`, details);
    case "AccessDenied":
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
    case "AllAccessDisabled":
    case "AccountProblem":
    case "InvalidToken":
    case "ExpiredToken":
    case "RequestTimeTooSkewed":
      return new DbbError(ErrorCode.STORAGE_DENIED, `${what}: the store refused the request (${name}: ${said}); check the storage.credentials of the RSE`, details);
    case "QuotaExceeded":
    case "EntityTooLarge":
      return new DbbError(ErrorCode.STORAGE_FULL, `${what}: the store has no room for it (${name}: ${said})`, details);
    case "XAmzContentSHA256Mismatch":
    case "BadDigest":
    case "InvalidDigest":
    case "InvalidPart":
      return new DbbError(ErrorCode.CHECKSUM_MISMATCH, `${what}: the store received other bytes than were sent (${name}: ${said})`, details);
    case "TimeoutError":
    case "RequestTimeout":
      return new DbbError(ErrorCode.TIMEOUT, `${what}: the store did not answer in time (${said})`, details);
  }
  if (status === 401 || status === 403) return new DbbError(ErrorCode.STORAGE_DENIED, `${what}: the store refused the request (HTTP ${status}: ${said})`, details);
  if (status === 404) return new DbbError(ErrorCode.OBJECT_NOT_FOUND, `${what}: no such object`, details);
  if (status === undefined) return systemStorageError(err, what);
  return new DbbError(ErrorCode.STORAGE_ERROR, `${what}: ${said}`, details);
}

/**
 * Pulls exact-sized buffers off a stream while computing size, adler32 and md5 of everything
 * read. Holds at most what one `read(n)` returns plus one chunk of the source.
 */
class BlockReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;
  private readonly adler = new Adler32();
  private readonly md5 = createHash("md5");
  bytes = 0;

  constructor(source: Readable) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.adler.update(chunk);
    this.md5.update(chunk);
    this.bytes += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    return true;
  }

  /** Up to `n` bytes (fewer only at the end; an empty buffer once all is read). */
  async read(n: number): Promise<Buffer> {
    while (this.pendingBytes < n && (await this.pull()));
    const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }

  /**
   * Fills `target` from the source (less only at the end; 0 once all is read): a part's bytes
   * copied once into a buffer the caller reuses, where read(n) allocates a new one per part.
   */
  async readInto(target: Buffer): Promise<number> {
    let filled = 0;
    while (filled < target.length) {
      if (!this.pendingBytes && !(await this.pull())) break;
      const head = this.pending[0];
      const n = Math.min(head.length, target.length - filled);
      head.copy(target, filled, 0, n);
      filled += n;
      this.pendingBytes -= n;
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    return filled;
  }

  /** Whether the source has more bytes (pulls one chunk to know). */
  async hasMore(): Promise<boolean> {
    return this.pendingBytes > 0 || (await this.pull());
  }

  /** Puts bytes back in front (they were read, and counted, already). */
  unread(buffer: Buffer): void {
    if (!buffer.length) return;
    this.pending.unshift(buffer);
    this.pendingBytes += buffer.length;
  }

  private done: WriteResult | undefined;

  /** Size and checksums of everything read; valid once the source is exhausted (asked again, the same answer). */
  result(): WriteResult {
    this.done ??= { bytes: this.bytes, adler32: this.adler.digest(), md5: this.md5.digest("hex") };
    return this.done;
  }

  /** Stops reading the source (destroys it). */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

function md5Of(buffer: Buffer): { hex: string; base64: string } {
  const digest = createHash("md5").update(buffer).digest();
  return { hex: digest.toString("hex"), base64: digest.toString("base64") };
}

/** A part's CRC32 as S3's x-amz-checksum-crc32 carries it: base64 of the 4 big-endian bytes. */
export function crc32Base64(buffer: Uint8Array): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(buffer) >>> 0);
  return out.toString("base64");
}

/**
 * The store's ETag of a single PUT or a part is the MD5 of what it stored, except under SSE-KMS or
 * SSE-C; checked where it is, so a store that ignores Content-MD5 (s3rver) still cannot keep other
 * bytes than were sent without the write failing.
 */
function checkEtag(what: string, etag: string | undefined, md5hex: string, sse: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string }): void {
  if (!etag || sse.SSECustomerAlgorithm || (sse.ServerSideEncryption ?? "").startsWith("aws:kms")) return;
  const plain = etag.replace(/"/g, "").toLowerCase();
  if (/^[0-9a-f]{32}$/.test(plain) && plain !== md5hex) {
    throw new DbbError(ErrorCode.CHECKSUM_MISMATCH, `${what}: the store's ETag ${plain} is not the MD5 ${md5hex} of the bytes sent`, { etag: plain, md5: md5hex });
  }
}

/**
 * An S3-protocol bucket (AWS, Ceph RGW, MinIO, s3rver). Objects up to multipartThresholdBytes are
 * sent in one PutObject with Content-MD5; larger ones as a multipart upload, each part with its
 * CRC32 (x-amz-checksum-crc32) checked by the store (else its md5 against its ETag), `queueSize`
 * parts in flight; a failed or aborted multipart
 * upload is aborted, so nothing is visible under the key.
 */
/** existing(): folders listed at once. */
const EXISTING_CONCURRENCY = 8;
/**
 * A folder asked for this many keys or fewer (one file's sidecars: NAME.json, NAME.yaml and the
 * folder's _index.json) is settled by a HEAD of each, not a listing: dbb's deterministic paths put
 * most files in a folder of their own, and a listing costs a store several times a HEAD (AWS
 * bills it as 12.5 GETs; s3rver walks the bucket's folders down to the prefix, a stat per entry).
 */
const HEAD_KEYS_AT_MOST = 4;

export class S3Driver implements PresigningDriver {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;

  constructor(
    readonly location: StorageLocation,
    settings: S3DriverSettings = {},
  ) {
    if (!location.bucket) throw invalidInput(`RSE ${location.rse}: an S3 protocol needs a bucket`);
    this.bucket = location.bucket;
    this.prefix = (location.prefix ?? "").split("/").filter(Boolean).join("/");
    this.threshold = settings.multipartThresholdBytes ?? 64 * MiB;
    this.partSize = Math.max(MIN_PART_BYTES, settings.partSizeBytes ?? 16 * MiB);
    this.queueSize = Math.max(1, settings.queueSize ?? 4);
    this.connectTimeoutMs = settings.connectTimeoutMs ?? 10000;
    this.requestTimeoutMs = settings.requestTimeoutMs ?? 300000;
    const endpoint = location.endpoint ?? undefined;
    this.client = new S3Client({
      endpoint,
      region: location.region || "us-east-1",
      forcePathStyle: location.pathStyle ?? (endpoint ? !isAwsEndpoint(endpoint) : false),
      credentials: settings.credentials
        ? { accessKeyId: settings.credentials.accessKeyId, secretAccessKey: settings.credentials.secretAccessKey, sessionToken: settings.credentials.sessionToken }
        : undefined,
      // Checksums only where S3 requires them: CRC trailers (aws-chunked bodies) are not understood
      // by every S3-protocol server (s3rver stores them as data); integrity comes from Content-MD5
      // and the parts' x-amz-checksum-crc32, computed here and sent as plain headers.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: { connectionTimeout: this.connectTimeoutMs, requestTimeout: this.requestTimeoutMs },
    });
    // A body is sent as UNSIGNED-PAYLOAD: else the signer hashes every byte sent with SHA-256 (a
    // third pass over the data beside md5 and adler32). What was stored is still checked: every
    // PUT carries its Content-MD5 and every part its CRC32, which the store verifies.
    this.client.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string>; body?: unknown };
        if (request.headers && request.body != null) request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
        return next(args);
      },
      { step: "build", name: "dbbUnsignedPayload" },
    );
  }

  /** The object's key: the RSE's prefix, then the path. */
  key(objectPath: string): string {
    const segments = pathSegments(objectPath);
    return this.prefix ? `${this.prefix}/${segments.join("/")}` : segments.join("/");
  }

  private describe(objectPath: string): string {
    return `${this.location.rse}:${objectPath}`;
  }

  async write(objectPath: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    const what = `writing ${this.describe(objectPath)}`;
    const sourceError = watchSourceErrors(body);
    const key = this.key(objectPath);
    const signal = options.signal;
    const known = options.bytes ?? null;
    const md5 = options.md5 && /^[0-9a-f]{32}$/i.test(options.md5) ? options.md5.toLowerCase() : null;
    const onAbort = () => body.destroy(signal?.reason instanceof Error ? signal.reason : abortError());
    signal?.addEventListener("abort", onAbort, { once: true });
    const reader = known !== null && known > 0 && known <= this.threshold && md5 ? null : new BlockReader(body);
    try {
      signal?.throwIfAborted();
      if (!reader) return await this.putStreaming(what, key, body, known!, md5!, signal, options.beforeCommit);
      if (known === null || known <= this.threshold) {
        const head = await reader.read(this.threshold);
        signal?.throwIfAborted();
        if (!(await reader.hasMore())) {
          const received = reader.result();
          await options.beforeCommit?.(received);
          // The whole object is this one buffer: its md5, computed on the way in, is the Content-MD5.
          await this.putSingle(what, key, head, received.md5, signal);
          return received;
        }
        reader.unread(head);
      }
      return await this.putMultipart(what, key, reader, known, signal, options.beforeCommit);
    } catch (err) {
      const failure = err === sourceError() && !(err instanceof DbbError) ? err : s3StorageError(err, what);
      throw signal?.aborted && !isAbortError(failure) ? abortError(signal) : failure;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await reader?.close().catch(() => undefined);
      if (!reader) body.destroy();
    }
  }

  /**
   * One PUT streamed as the bytes come (the copy's GET and PUT overlap), for an object whose size
   * and md5 are known: Content-MD5 is the md5 it must have. Size, adler32 and md5 are computed on
   * the way; the last chunk is held back until the source has ended and they agree (and
   * `beforeCommit` accepts them), else the PUT is abandoned before its last byte, so the store
   * never completes it.
   */
  private async putStreaming(what: string, key: string, body: Readable, bytes: number, md5hex: string, signal?: AbortSignal, beforeCommit?: WriteOptions["beforeCommit"]): Promise<WriteResult> {
    const adler = new Adler32();
    const hash = createHash("md5");
    let seen = 0;
    let held: Buffer | null = null;
    let received: WriteResult | undefined;
    let refusal: unknown;
    const refuse = (message: string) => new DbbError(ErrorCode.CHECKSUM_MISMATCH, `${what}: ${message}`);
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        adler.update(chunk);
        hash.update(chunk);
        seen += chunk.length;
        if (seen > bytes) {
          refusal = refuse(`the source sent more than the ${bytes} bytes expected`);
          callback(refusal as Error);
          return;
        }
        const previous = held;
        held = chunk;
        callback(null, previous ?? undefined);
      },
      flush(callback) {
        received = { bytes: seen, adler32: adler.digest(), md5: hash.digest("hex") };
        const got = received;
        (async () => {
          if (got.bytes !== bytes) throw refuse(`received ${got.bytes} bytes, expected ${bytes}`);
          if (got.md5 !== md5hex) throw refuse(`received bytes of md5 ${got.md5}, expected ${md5hex}`);
          await beforeCommit?.(got);
        })().then(
          () => callback(null, held ?? undefined),
          (err) => {
            refusal = err;
            callback(err as Error);
          },
        );
      },
    });
    // A failing source or a refusal ends the PUT at once (the SDK pipes the body, and a piped
    // stream's error would leave the request waiting for bytes that never come).
    // (body.pipe and two listeners, not pipeline(), which made and aborted an AbortController,
    // a DOMException with its stack, for every object; nor AbortSignal.any, per object.)
    let failed: unknown;
    const stop = new AbortController();
    const fail = (err: unknown) => {
      failed ??= err;
      body.destroy();
      tap.destroy();
      stop.abort();
    };
    const onAbort = () => stop.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    // A source that fails or closes before its end (premature close), or a refusal in the tap.
    const unwatch = finished(body, { writable: false }, (err) => err && fail(err));
    tap.on("error", fail);
    body.pipe(tap);
    let out;
    try {
      out = await this.sendPut(what, key, tap, bytes, Buffer.from(md5hex, "hex").toString("base64"), stop.signal);
    } catch (err) {
      throw refusal ?? failed ?? err;
    } finally {
      unwatch();
      signal?.removeEventListener("abort", onAbort);
      tap.destroy();
    }
    if (refusal) throw refusal;
    if (!received) throw new DbbError(ErrorCode.STORAGE_ERROR, `${what}: the store answered before the whole object was sent`);
    try {
      checkEtag(what, out.ETag, md5hex, out);
    } catch (err) {
      // The store kept other bytes than were sent: they must not stay under the name.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
      throw err;
    }
    return received;
  }

  /**
   * One PutObject with its Content-MD5: a presigned PUT sent over node:http (the URL signed as
   * presignRead signs; the store checks the Content-MD5 header of a presigned PUT as of any PUT),
   * or through the SDK for a bucket whose URLs the template cannot make. The SDK's own call cost
   * an agent 1 to 1.5 ms more CPU per object (its middleware stack, endpoint resolution, signing,
   * a response parse): a quarter of a 256 KiB copy. Nothing is retried here: a streamed body
   * cannot be sent twice, and the agent retries a failed transfer as a whole.
   */
  private async sendPut(what: string, key: string, body: Buffer | Readable, bytes: number, md5base64: string, signal?: AbortSignal): Promise<PutOutput> {
    const t = await this.template();
    if (!t) return await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: bytes, ContentMD5: md5base64 }), { abortSignal: signal });
    const url = await presignedUrl(t, "PUT", objectUrlPath(t, key), { "x-id": "PutObject" }, { expiresIn: PUT_URL_SECONDS });
    const answer = await httpPut(url, body, {
      headers: { "content-length": bytes, "content-md5": md5base64 },
      signal,
      connectTimeoutMs: this.connectTimeoutMs,
      idleTimeoutMs: this.requestTimeoutMs,
    });
    if (answer.statusCode >= 200 && answer.statusCode < 300) {
      const one = (name: string) => {
        const v = answer.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      return { ETag: one("etag"), ServerSideEncryption: one("x-amz-server-side-encryption"), SSECustomerAlgorithm: one("x-amz-server-side-encryption-customer-algorithm") };
    }
    // S3's error document: <Error><Code>…</Code><Message>…</Message></Error>, mapped as the SDK's errors are.
    const field = (name: string) => {
      const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(answer.errorBody);
      return m ? unescapeXml(m[1]) : undefined;
    };
    if (answer.statusCode === 0) throw new DbbError(ErrorCode.STORAGE_ERROR, `${what}: the store answered before the whole object was sent`);
    const code = field("Code");
    throw Object.assign(new Error(field("Message") ?? ""), { name: code ?? "S3Error", Code: code, $metadata: { httpStatusCode: answer.statusCode } });
  }

  private async putSingle(what: string, key: string, data: Buffer, md5hex: string, signal?: AbortSignal): Promise<void> {
    const md5 = { hex: md5hex, base64: Buffer.from(md5hex, "hex").toString("base64") };
    const out = await this.sendPut(what, key, data, data.length, md5.base64, signal);
    try {
      checkEtag(what, out.ETag, md5.hex, out);
    } catch (err) {
      // The store kept other bytes than were sent: they must not stay under the name.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
      throw err;
    }
  }

  /** Size of part `n` (1-based): fixed when the total is known, else doubling every 1,000 parts so 10,000 parts reach past 5 TiB. */
  private partBytes(n: number, known: number | null): number {
    if (known !== null) return Math.min(MAX_PART_BYTES, Math.max(this.partSize, Math.ceil(known / MAX_PARTS)));
    return Math.min(MAX_PART_BYTES, this.partSize * 2 ** Math.floor((n - 1) / 1000));
  }

  private async putMultipart(
    what: string,
    key: string,
    reader: BlockReader,
    known: number | null,
    signal?: AbortSignal,
    beforeCommit?: WriteOptions["beforeCommit"],
  ): Promise<WriteResult> {
    // S3 wants the parts' checksum algorithm named when the upload starts, and each part's checksum again at the end.
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ChecksumAlgorithm: "CRC32" }), { abortSignal: signal });
    const uploadId = created.UploadId!;
    const parts: Array<{ PartNumber: number; ETag: string; ChecksumCRC32: string }> = [];
    const inFlight = new Set<Promise<void>>();
    // The part buffers (queueSize in flight and one filling) are reused from part to part: a new
    // 16 MiB buffer per part cost more than the copy itself (fresh pages to fault in and zero,
    // and garbage collections for the external memory).
    const free: Buffer[] = [];
    let failure: unknown;
    try {
      for (let n = 1; ; n++) {
        if (n > MAX_PARTS) throw new DbbError(ErrorCode.STORAGE_FULL, `${what}: more than ${MAX_PARTS} parts; raise storage.partSizeBytes`);
        const size = this.partBytes(n, known);
        let buffer = free.pop();
        if (!buffer || buffer.length !== size) buffer = Buffer.allocUnsafe(size);
        const filled = await reader.readInto(buffer);
        const data = buffer.subarray(0, filled);
        if (failure) throw failure;
        if (data.length === 0 && n > 1) break;
        signal?.throwIfAborted();
        // Each part carries its CRC32 (x-amz-checksum-crc32), which the store checks (BadDigest)
        // and echoes: about 8 times cheaper than a second md5 over every byte (the object's md5 is
        // computed on the way in). A store that does not echo it checked nothing: the part's md5
        // is then computed after all and compared with its ETag.
        const checksum = crc32Base64(data);
        const upload = this.client
          .send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: data, ContentLength: data.length, ChecksumCRC32: checksum }), { abortSignal: signal })
          .then((out) => {
            if (out.ChecksumCRC32 === undefined) checkEtag(`${what} (part ${n})`, out.ETag, md5Of(data).hex, out);
            else if (out.ChecksumCRC32 !== checksum) {
              throw new DbbError(ErrorCode.CHECKSUM_MISMATCH, `${what} (part ${n}): the store's CRC32 ${out.ChecksumCRC32} is not the CRC32 ${checksum} of the bytes sent`);
            }
            parts.push({ PartNumber: n, ETag: out.ETag!, ChecksumCRC32: checksum });
          })
          .catch((err) => {
            failure ??= err;
          })
          .finally(() => free.push(buffer));
        const tracked: Promise<void> = upload.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        if (inFlight.size >= this.queueSize) await Promise.race(inFlight);
        if (failure) throw failure;
        // The reader returns less than asked only at the end of the source.
        if (data.length < size) break;
      }
      await Promise.all(inFlight);
      if (failure) throw failure;
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await beforeCommit?.(reader.result());
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        { abortSignal: signal },
      );
      return reader.result();
    } catch (err) {
      await Promise.allSettled(inFlight);
      // Without the signal: the upload is abandoned even when the write was aborted.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      throw err;
    }
  }

  async read(objectPath: string, range?: { start: number; end?: number }, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const what = `reading ${this.describe(objectPath)}`;
    checkRange(range);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(objectPath), Range: range ? `bytes=${range.start}-${range.end ?? ""}` : undefined }),
        { abortSignal: options.signal },
      );
      return out.Body as Readable;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      // A range starting past the end: no bytes, as a file read gives.
      if (range && (e.name === "InvalidRange" || e.$metadata?.httpStatusCode === 416)) return Readable.from([]);
      throw s3StorageError(err, what);
    }
  }

  async stat(objectPath: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(objectPath) }));
      return { bytes: Number(out.ContentLength ?? 0) };
    } catch (err) {
      const mapped = s3StorageError(err, `stat of ${this.describe(objectPath)}`);
      if (mapped instanceof DbbError && mapped.code === ErrorCode.OBJECT_NOT_FOUND) return null;
      throw mapped;
    }
  }

  async delete(objectPath: string): Promise<boolean> {
    // DeleteObject answers 204 whether or not there was an object: ask first.
    if (!(await this.stat(objectPath))) return false;
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(objectPath) }));
      return true;
    } catch (err) {
      throw s3StorageError(err, `deleting ${this.describe(objectPath)}`);
    }
  }

  async existing(paths: readonly string[]): Promise<Set<string> | null> {
    // A folder asked for a few keys: a HEAD of each. Otherwise, per folder, the keys in S3's
    // order, listed from just before the first one not yet settled: a page settles every key up
    // to the last it lists (paths asked for together are mostly neighbours, files claimed in name
    // order, so one or two pages settle a folder). Gives up (null) past about one listing per
    // three keys, where GETs would do as well.
    const byFolder = new Map<string, Array<{ path: string; key: string }>>();
    for (const p of new Set(paths)) {
      const key = this.key(p);
      const folder = key.slice(0, key.lastIndexOf("/") + 1);
      const list = byFolder.get(folder);
      if (list) list.push({ path: p, key });
      else byFolder.set(folder, [{ path: p, key }]);
    }
    const found = new Set<string>();
    // One folder's HEADs or listing: false when the listing would take more than its budget.
    const settle = async (folder: string, wanted: Array<{ path: string; key: string }>): Promise<boolean> => {
      if (wanted.length <= HEAD_KEYS_AT_MOST) {
        const there = await Promise.all(wanted.map((w) => this.headExists(w.key)));
        wanted.forEach((w, i) => there[i] && found.add(w.path));
        return true;
      }
      wanted.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const budget = Math.ceil(wanted.length / 3) + 2;
      let cursor = "";
      for (let i = 0, requests = 0; i < wanted.length; requests++) {
        if (requests === budget) return false;
        // The marker is exclusive: just before the key (it and any longer key sort after its prefix).
        const marker = wanted[i].key.slice(0, -1) > cursor ? wanted[i].key.slice(0, -1) : cursor;
        const page = await this.listPage(folder, marker, Math.min(1000, 2 * (wanted.length - i) + 10));
        const keys = new Set(page.keys);
        const settledUpTo = page.truncated && page.keys.length ? page.keys[page.keys.length - 1] : null;
        for (; i < wanted.length && (settledUpTo === null || wanted[i].key <= settledUpTo); i++) if (keys.has(wanted[i].key)) found.add(wanted[i].path);
        if (settledUpTo !== null) cursor = settledUpTo;
      }
      return true;
    };
    // Folders a few at a time (dbb's deterministic paths put most files in a folder of their own).
    const folders = [...byFolder];
    let next = 0;
    let settled = true;
    const worker = async () => {
      while (settled && next < folders.length) {
        const [folder, wanted] = folders[next++];
        if (!(await settle(folder, wanted))) settled = false;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(EXISTING_CONCURRENCY, folders.length) }, worker));
    } catch {
      // A store that does not let these credentials list (no s3:ListBucket), or fails: cannot tell.
      return null;
    }
    if (!settled) return null;
    return found;
  }

  /**
   * Whether the object at `key` is there, by a HEAD (presigned and sent over node:http, as
   * listPage): 200 yes, 404 no; anything else (403 for a missing key to a signer that may not
   * list the bucket) cannot tell and throws.
   */
  private async headExists(key: string): Promise<boolean> {
    const t = await this.template();
    if (!t) {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
        return true;
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw err;
      }
    }
    const status = await httpHead(await presignedUrl(t, "HEAD", objectUrlPath(t, key), {}, { expiresIn: 60 }), 30_000);
    if (status === 200) return true;
    if (status === 404) return false;
    throw new DbbError(ErrorCode.STORAGE_ERROR, `a HEAD at ${this.location.rse} answered HTTP ${status}`);
  }

  /**
   * One page of ListObjects (v1, whose marker is any key: every page is asked from a key of our
   * choosing, never resumed from a store's token; and plain s3rver cannot make v2's tokens on
   * Node 20): the keys under `prefix` after `marker`, and whether there are more. Signed as presignRead signs and sent
   * over node:http: the SDK's own call cost the read door about 1.5 ms of CPU a listing.
   */
  private async listPage(prefix: string, marker: string, maxKeys: number): Promise<{ keys: string[]; truncated: boolean }> {
    const t = await this.template();
    if (!t) {
      const out = await this.client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, Marker: marker, MaxKeys: maxKeys }));
      return { keys: (out.Contents ?? []).map((o) => o.Key ?? "").filter(Boolean), truncated: !!out.IsTruncated };
    }
    const res = await httpGet(await presignedUrl(t, "GET", t.pathPrefix, { prefix, marker, "max-keys": String(maxKeys) }, { expiresIn: 60 }), AbortSignal.timeout(30_000));
    if (res.statusCode !== 200) {
      res.resume();
      throw new DbbError(ErrorCode.STORAGE_ERROR, `listing ${this.location.rse} answered HTTP ${res.statusCode}`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const keys = [...text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1]));
    return { keys, truncated: /<IsTruncated>\s*true\s*<\/IsTruncated>/.test(text) };
  }

  /** Where this bucket's keys are and how they are signed, learnt once from the SDK (null: ask the SDK for every URL). */
  private presignTemplate: Promise<PresignTemplate | null> | undefined;

  private template(): Promise<PresignTemplate | null> {
    this.presignTemplate ??= (async () => {
      // The SDK's URL of a probe key: endpoint, path-style or virtual-host bucket, the path in
      // front of keys, and the signing region, as the SDK resolves them for this bucket.
      const probe = "dbb-presign-probe";
      const url = new URL(await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: probe }), { expiresIn: 60 }));
      const region = url.searchParams.get("X-Amz-Credential")?.split("/")[2];
      if (!url.pathname.endsWith(`/${probe}`) || !region) return null;
      return {
        url,
        pathPrefix: url.pathname.slice(0, -probe.length),
        region,
        presigner: new S3RequestPresigner({ ...this.client.config, signingName: "s3", region: async () => region }),
      };
    })().catch((err) => {
      this.presignTemplate = undefined;
      throw err;
    });
    return this.presignTemplate;
  }

  /**
   * A presigned GET, as the SDK's getSignedUrl makes it (the same URL for the same signing date),
   * without its per-call cost (endpoint resolution, a middleware stack cloned and resolved, a new
   * signer: about 1 ms each, and a source facility signs four URLs per file it hands out: the
   * file and where its sidecars may be).
   */
  async presignRead(objectPath: string, expiresSeconds: number, options: { signingDate?: Date } = {}): Promise<string> {
    if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 604800) {
      throw invalidInput(`a presigned URL lives 1 to 604800 seconds (7 days), not ${expiresSeconds}`);
    }
    try {
      const key = this.key(objectPath);
      const t = await this.template();
      if (!t) return await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresSeconds, signingDate: options.signingDate });
      return await presignedUrl(t, "GET", objectUrlPath(t, key), { "x-id": "GetObject" }, { expiresIn: expiresSeconds, signingDate: options.signingDate });
    } catch (err) {
      throw s3StorageError(err, `presigning ${this.describe(objectPath)}`);
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/** The URL path of `key` in the bucket's template: its path prefix, then the key's segments escaped as the SDK escapes them. */
function objectUrlPath(t: PresignTemplate, key: string): string {
  return t.pathPrefix + key.split("/").map(escapeUri).join("/");
}

/**
 * A presigned request of `path` (already escaped) with `query`, the host its one signed header:
 * for a GET, the URL the SDK's getSignedUrl makes from the bucket's template.
 */
async function presignedUrl(t: PresignTemplate, method: "GET" | "PUT" | "HEAD", path: string, query: Record<string, string>, options: { expiresIn: number; signingDate?: Date }): Promise<string> {
  const signed = await t.presigner.presign(
    { method, protocol: t.url.protocol, hostname: t.url.hostname, port: t.url.port ? Number(t.url.port) : undefined, path, query, headers: { host: t.url.host } },
    { ...options, signingRegion: t.region, signingService: "s3" },
  );
  const params = signed.query ?? {};
  const signedQuery = Object.keys(params)
    .sort()
    .map((name) => `${escapeUri(name)}=${escapeUri(String(params[name]))}`)
    .join("&");
  return `${t.url.protocol}//${t.url.host}${signed.path}?${signedQuery}`;
}

const XML_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** A key as S3's XML writes it, back to its characters. */
function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, e: string) =>
    e[0] === "#" ? String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (XML_ENTITIES[e] ?? whole),
  );
}

/** What a PUT's answer tells: the ETag, and the encryption that makes it something else than the MD5. */
interface PutOutput {
  ETag?: string;
  ServerSideEncryption?: string;
  SSECustomerAlgorithm?: string;
}

/** A presigned PUT is sent at once: its URL need not outlive the request's start. */
const PUT_URL_SECONDS = 900;

interface PresignTemplate {
  url: URL;
  pathPrefix: string;
  region: string;
  presigner: S3RequestPresigner;
}

/** RFC 3986 encoding, as the SDK encodes a key's segments and a query (A-Z a-z 0-9 - _ . ~ kept). */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function abortError(signal?: AbortSignal): Error {
  if (signal?.reason instanceof Error && signal.reason.name === "AbortError") return signal.reason;
  const err = new Error("the write was aborted");
  err.name = "AbortError";
  return err;
}
