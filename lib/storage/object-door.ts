import type http from "node:http";
import { pipeline } from "node:stream/promises";
import { DbbError, ErrorCode } from "../errors";
import type { StorageDriver } from "./driver";
import { verifyObjectUrl } from "./signed-url";

export interface ObjectDoorOptions {
  /** The HMAC key the URLs were signed with (signed-url.ts resolveSigningKey). */
  key: string | Uint8Array;
  /** The driver of one of this facility's RSEs, null for an RSE it does not have. */
  resolveDriver?: (rse: string) => Promise<StorageDriver | null>;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
}

/** A byte range to serve, or "unsatisfiable", or null for the whole object. */
export type ByteRange = { start: number; end: number } | "unsatisfiable" | null;

/**
 * One `Range: bytes=…` against an object of `size` bytes (RFC 9110 §14): `a-b`, `a-`, `-n`. A
 * header that is not one such range (several ranges, another unit, bad syntax) is ignored and the
 * whole object served, as the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return null;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify({ error: message, code });
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function statusOf(err: DbbError): number {
  switch (err.code) {
    case ErrorCode.FORBIDDEN:
    case ErrorCode.SIGNED_URL_EXPIRED:
    case ErrorCode.PATH_OUTSIDE_ROOT:
    case ErrorCode.STORAGE_DENIED:
      return 403;
    case ErrorCode.OBJECT_NOT_FOUND:
    case ErrorCode.RSE_NOT_FOUND:
      return 404;
    case ErrorCode.INVALID_INPUT:
      return 400;
    case ErrorCode.TIMEOUT:
      return 504;
    default:
      return 502;
  }
}

/**
 * The facility's signed-read door: GET or HEAD `/objects/<rse>/<path>?expires=…&signature=…`
 * streams one object of one of the facility's RSEs (POSIX ones: S3 RSEs presign their own GETs),
 * with single-range requests (206 + Content-Range, 416 when unsatisfiable). Errors are JSON
 * `{ error, code }`: 403 for a bad or expired signature or a path out of the root, 404 for an
 * object or RSE that is not there.
 */
export async function serveSignedObject(req: http.IncomingMessage, res: http.ServerResponse, url: URL, options: ObjectDoorOptions): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    sendError(res, 405, ErrorCode.BAD_REQUEST, `${req.method} is not served here: objects are read with GET or HEAD`, { allow: "GET, HEAD" });
    return;
  }
  if (!options.resolveDriver) {
    sendError(res, 404, ErrorCode.OBJECT_NOT_FOUND, "this facility service serves no objects: it was started without access to its RSEs' storage");
    return;
  }
  try {
    const { rse, path } = verifyObjectUrl(url, options.key, options.now?.() ?? Date.now());
    const driver = await options.resolveDriver(rse);
    if (!driver) throw new DbbError(ErrorCode.RSE_NOT_FOUND, `RSE ${rse} is not one of this facility's`);
    const info = await driver.stat(path);
    if (!info) throw new DbbError(ErrorCode.OBJECT_NOT_FOUND, `no object ${path} on RSE ${rse}`);
    const range = parseRange(req.headers.range, info.bytes);
    if (range === "unsatisfiable") {
      sendError(res, 416, ErrorCode.INVALID_INPUT, `the range ${req.headers.range} is outside the object's ${info.bytes} bytes`, { "content-range": `bytes */${info.bytes}` });
      return;
    }
    const headers: Record<string, string | number> = {
      "content-type": "application/octet-stream",
      "accept-ranges": "bytes",
      "cache-control": "private, no-store",
      "content-length": range ? range.end - range.start + 1 : info.bytes,
    };
    if (range) headers["content-range"] = `bytes ${range.start}-${range.end}/${info.bytes}`;
    if (req.method === "HEAD" || info.bytes === 0) {
      res.writeHead(range ? 206 : 200, headers);
      res.end();
      return;
    }
    const controller = new AbortController();
    res.once("close", () => controller.abort());
    const body = await driver.read(path, range ?? undefined, { signal: controller.signal });
    res.writeHead(range ? 206 : 200, headers);
    await pipeline(body, res).catch(() => {
      // The client went away or the store failed mid-way: the status line is sent, so the
      // connection is cut (the client sees fewer bytes than Content-Length).
      res.destroy();
    });
  } catch (err) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof DbbError) {
      sendError(res, statusOf(err), err.code, err.message);
      return;
    }
    sendError(res, 500, ErrorCode.STORAGE_ERROR, `reading the object failed: ${(err as Error).message}`);
  }
}
