import type http from "node:http";
import { PassThrough } from "node:stream";
import { checksumDifferences } from "../lib/checksum";
import { DbbError, ErrorCode } from "../lib/errors";
import { httpGet } from "../lib/http-get";
import type { StorageDriver, WriteResult } from "../lib/storage/driver";

/**
 * One copy, as the destination's agent makes it: GET the source's signed URL, stream the body
 * into the destination driver (which computes size, adler32 and md5 on the way and makes nothing
 * visible until the end), check what was received against the catalog's file before the object
 * appears, and say why when it fails, in the agent's failure reasons:
 * SOURCE_MISSING, SOURCE_DENIED, DESTINATION_DENIED, DESTINATION_FULL, CHECKSUM_MISMATCH, NETWORK, TIMEOUT.
 */
export interface CopyRequest {
  url: string;
  destination: StorageDriver;
  path: string;
  expected: { bytes: number | null; adler32: string | null; md5: string | null };
  /** Aborting (lease lost, agent stopping) stops the copy and leaves nothing behind. */
  signal: AbortSignal;
  /** A copy that receives nothing for this long fails with TIMEOUT. */
  stallMs: number;
  /** Told of every chunk received, for the agent's bytes-per-second. */
  onBytes?: (n: number) => void;
  /** Keep the primary header of a FITS file as it goes by (for ingest on arrival). */
  captureHeader?: boolean;
}

export interface CopyResult extends WriteResult {
  /** The FITS primary header up to END as Latin-1 text (captureHeader), or the first block when no END came within 1,000 blocks. */
  header: string | null;
}

const FITS_BLOCK = 2880;
const MAX_HEADER_BLOCKS = 1000;

/** Whether a file is a FITS file by its name, whose primary header the agent keeps for ingest. */
export function isFitsName(name: string): boolean {
  return /\.(fits?|fz)$/i.test(name);
}

/** Collects the first bytes of a stream until a FITS header's END card (at a card boundary) has passed. */
class HeaderCapture {
  private chunks: Buffer[] = [];
  private size = 0;
  private scanned = 0;
  private end = -1;
  private full = false;

  add(chunk: Buffer): void {
    if (this.end >= 0 || this.full) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    const bytes = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [bytes];
    for (; this.scanned + 80 <= bytes.length; this.scanned += 80) {
      if (bytes[this.scanned] === 0x45 && bytes.toString("latin1", this.scanned, this.scanned + 80) === "END".padEnd(80)) {
        this.end = this.scanned + 80;
        return;
      }
    }
    if (this.size >= MAX_HEADER_BLOCKS * FITS_BLOCK) this.full = true;
  }

  /**
   * A FITS header is printable ASCII; any other byte (a file that is not FITS under a FITS name)
   * becomes '?', so the facility reads it and says what is wrong (BAD_FITS_HEADER) instead of
   * refusing text it cannot store (a NUL).
   */
  text(): string | null {
    const bytes = this.chunks[0];
    if (!bytes?.length) return null;
    return bytes.toString("latin1", 0, this.end >= 0 ? this.end : Math.min(bytes.length, FITS_BLOCK)).replace(/[^\x20-\x7e]/g, "?");
  }
}

/** Up to `limit` characters of a (small) response body. */
async function textOf(res: http.IncomingMessage, limit: number): Promise<string> {
  let text = "";
  for await (const chunk of res) {
    if (text.length < limit) text += String(chunk);
  }
  return text.slice(0, limit);
}

/** A failure of the copy, with the reason reported to the catalog. */
export class CopyError extends DbbError {}

/** Why what arrived is not the catalog's file, or null when size and every known checksum agree. */
export function mismatchOf(received: WriteResult, expected: CopyRequest["expected"]): string | null {
  const problems = checksumDifferences(expected, received);
  return problems.length ? problems.join("; ") : null;
}

/** The failure reason of an error met while writing at the destination. */
function destinationReason(err: unknown): CopyError {
  if (err instanceof CopyError) return err;
  const e = err as DbbError & { code?: string };
  const message = (err as Error).message;
  switch (e.code) {
    case ErrorCode.STORAGE_DENIED:
    case ErrorCode.PATH_OUTSIDE_ROOT:
      return new CopyError(ErrorCode.DESTINATION_DENIED, `destination refused the write: ${message}`);
    case ErrorCode.STORAGE_FULL:
      return new CopyError(ErrorCode.DESTINATION_FULL, `destination is full: ${message}`);
    case ErrorCode.CHECKSUM_MISMATCH:
      return new CopyError(ErrorCode.CHECKSUM_MISMATCH, message);
    case ErrorCode.TIMEOUT:
      return new CopyError(ErrorCode.TIMEOUT, message);
    default:
      return new CopyError(ErrorCode.NETWORK, `writing at the destination failed: ${message}`);
  }
}

/** Copies one file; resolves with what was written, or rejects with a CopyError naming the reason. */
export async function copyObject(req: CopyRequest): Promise<CopyResult> {
  const capture = req.captureHeader ? new HeaderCapture() : null;
  // The stall timer and the caller's signal both end the GET and the write, through one
  // controller (AbortSignal.any, per copy, cost more: a composite signal tracked by weak references).
  const ends = new AbortController();
  const signal = ends.signal;
  let stallFired = false;
  const onCaller = () => ends.abort(req.signal.reason);
  if (req.signal.aborted) onCaller();
  else req.signal.addEventListener("abort", onCaller, { once: true });
  // Pushed back at every chunk received (refresh: the same timer, not a new one per chunk).
  const timer = setTimeout(() => {
    stallFired = true;
    ends.abort();
  }, req.stallMs);
  const arm = () => timer.refresh();
  let sourceFailure: CopyError | undefined;
  const stalled = () => new CopyError(ErrorCode.TIMEOUT, `no bytes from the source for ${Math.round(req.stallMs / 1000)} s`);
  try {
    let res: http.IncomingMessage;
    try {
      res = await httpGet(req.url, signal);
    } catch (err) {
      if (stallFired) throw stalled();
      if (req.signal.aborted) throw new CopyError(ErrorCode.NETWORK, `copy abandoned: ${String(req.signal.reason ?? "aborted")}`);
      throw new CopyError(ErrorCode.NETWORK, `cannot reach the source: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
    }
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const text = status === 401 || status === 403 ? await textOf(res, 300).catch(() => "") : (res.resume(), "");
      if (status === 404) throw new CopyError(ErrorCode.SOURCE_MISSING, `the source has no such object (HTTP 404)`);
      if (status === 401 || status === 403) throw new CopyError(ErrorCode.SOURCE_DENIED, `the source refused the read (HTTP ${status}) ${text}`.trim());
      throw new CopyError(ErrorCode.NETWORK, `the source answered HTTP ${status}`);
    }
    const length = res.headers["content-length"] === undefined ? NaN : Number(res.headers["content-length"]);
    const source = res;
    // Failures of the source are told apart from the destination's: the body is tapped, and an
    // error on the way in ends the tap with its own reason.
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    source.on("data", (chunk: Buffer) => {
      arm();
      req.onBytes?.(chunk.length);
      capture?.add(chunk);
    });
    source.on("error", (err) => {
      sourceFailure = stallFired ? stalled() : new CopyError(ErrorCode.NETWORK, `reading the source failed: ${err.message}`);
      body.destroy(sourceFailure);
    });
    source.pipe(body);
    try {
      const written = await req.destination.write(req.path, body, {
        bytes: Number.isFinite(length) && length >= 0 ? length : req.expected.bytes,
        // The catalog's md5: the store checks it (Content-MD5), and S3 streams a single PUT as the GET comes in.
        md5: req.expected.md5,
        signal,
        beforeCommit: (received) => {
          const mismatch = mismatchOf(received, req.expected);
          if (mismatch) throw new CopyError(ErrorCode.CHECKSUM_MISMATCH, `what the source sent is not the catalog's file: ${mismatch}`);
        },
      });
      return { ...written, header: capture?.text() ?? null };
    } catch (err) {
      if (sourceFailure) throw sourceFailure;
      if (stallFired) throw stalled();
      if (req.signal.aborted && !(err instanceof CopyError)) throw new CopyError(ErrorCode.NETWORK, `copy abandoned: ${String(req.signal.reason ?? "aborted")}`);
      throw destinationReason(err);
    } finally {
      source.destroy();
    }
  } finally {
    clearTimeout(timer);
    req.signal.removeEventListener("abort", onCaller);
  }
}
