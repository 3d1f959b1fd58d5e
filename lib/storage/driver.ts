import type { Readable } from "node:stream";

/**
 * One interface over the places bytes live (STYLE §1): an S3-protocol bucket (`s3.ts`) or a POSIX
 * filesystem root (`posix.ts`). Paths are relative to the RSE's prefix or root, `/`-separated,
 * never absolute and never with `..` (refused with PATH_OUTSIDE_ROOT). Only `agents/` and the
 * facility's signed-read door use drivers.
 *
 * Failures are DbbErrors with one of STORAGE_ERROR_CODES (storage-errors.ts); the agent maps them
 * to its transfer failure reasons (a denied read is SOURCE_DENIED, a denied write
 * DESTINATION_DENIED, …). Two exceptions, so the caller can tell whose fault it was: a call whose
 * signal was aborted rejects with an AbortError, and a write whose `body` stream errored rejects
 * with that same error (after cleaning up), not with a storage code.
 */
export type StorageKind = "S3" | "POSIX";

/** Where an RSE's bytes are, as its protocol in the catalog says (no credentials there). */
export interface StorageLocation {
  /** The RSE's name: the key of its credentials in `storage.credentials`. */
  rse: string;
  kind: StorageKind;
  /** S3: the endpoint URL, bucket, key prefix (may be empty) and region. */
  endpoint?: string | null;
  bucket?: string | null;
  prefix?: string | null;
  region?: string | null;
  /** S3: path-style URLs (endpoint/bucket/key); default true for a non-AWS endpoint, false for AWS. */
  pathStyle?: boolean | null;
  /** POSIX: the absolute root folder. */
  root?: string | null;
}

export interface StorageCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What a completed write stored: size and checksums of the bytes as they went by. */
export interface WriteResult {
  bytes: number;
  /** 8 lower-case hex digits. */
  adler32: string;
  /** 32 lower-case hex digits. */
  md5: string;
}

export interface ObjectInfo {
  bytes: number;
}

export interface WriteOptions {
  /** The expected size when known: lets S3 choose single PUT or multipart, POSIX preallocate nothing. */
  bytes?: number | null;
  /**
   * The md5 (hex) the object must have, when known (the catalog's): with `bytes`, S3 streams a
   * single PUT instead of holding the object in memory first, sending this md5 as Content-MD5 so
   * the store itself refuses other bytes; the last bytes are held back until size and checksums
   * (and `beforeCommit`) agree, so a mismatch never completes the PUT.
   */
  md5?: string | null;
  /** Aborting stops the write and removes every trace of it (aborts the multipart upload, unlinks the temporary file). */
  signal?: AbortSignal;
  /**
   * Called with what was received, after the last byte and before the object becomes visible
   * (before the rename, CompleteMultipartUpload or the single PUT); throwing abandons the write
   * exactly as a failure does. The agent checks size and checksums against the catalog here, so
   * a corrupted copy never appears under the final name.
   */
  beforeCommit?: (received: WriteResult) => void | Promise<void>;
}

export interface StorageDriver {
  readonly location: StorageLocation;
  /**
   * Streams `body` to `path` in bounded memory. Nothing is visible under `path` until the whole
   * object is stored (S3: single PUT or multipart completed, each part verified by the store;
   * POSIX: temporary name in the destination folder, fsync, atomic rename). On any failure or
   * abort nothing is left behind. An existing object under `path` is replaced.
   */
  write(path: string, body: Readable, options?: WriteOptions): Promise<WriteResult>;
  /** Streams the object (or bytes `start`…`end` inclusive); OBJECT_NOT_FOUND when it is absent. */
  read(path: string, range?: { start: number; end?: number }, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** The object's size, or null when absent. */
  stat(path: string): Promise<ObjectInfo | null>;
  /** Deletes the object; false when there was none (not an error). */
  delete(path: string): Promise<boolean>;
  /**
   * Which of `paths` exist, found in a bounded number of requests (S3: a HEAD of each key of a
   * folder asked for a few, else one listing per folder, a few pages at most; POSIX: a stat
   * each); null when that is not enough to tell. For the read door, which signs only the
   * sidecars that are there (a GET that misses costs the store as much as one that finds).
   */
  existing(paths: readonly string[]): Promise<Set<string> | null>;
}

/** An S3 driver can hand out presigned GET URLs: a reader needs no credentials of ours. */
export interface PresigningDriver extends StorageDriver {
  presignRead(path: string, expiresSeconds: number): Promise<string>;
}

export { STORAGE_ERROR_CODES } from "./storage-errors";
