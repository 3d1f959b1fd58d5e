import { DbbError, ErrorCode } from "../errors";

/** The codes a driver fails with (besides an AbortError when its caller aborted). */
export const STORAGE_ERROR_CODES = [
  ErrorCode.OBJECT_NOT_FOUND,
  ErrorCode.STORAGE_DENIED,
  ErrorCode.STORAGE_FULL,
  ErrorCode.PATH_OUTSIDE_ROOT,
  ErrorCode.STORAGE_ERROR,
  ErrorCode.CHECKSUM_MISMATCH,
  ErrorCode.NETWORK,
  ErrorCode.TIMEOUT,
  ErrorCode.INVALID_INPUT,
] as const;

const NETWORK_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET"]);
const TIMEOUT_ERRNOS = new Set(["ETIMEDOUT", "ESOCKETTIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

export function isAbortError(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === "AbortError";
}

/**
 * The errno-style code of an error or of its cause, if any; else one quoted in its message (the
 * SDK's retry layer can hand on a socket error as a bare message, "… connect ECONNREFUSED …").
 */
function errno(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown }; message?: unknown } | null;
  if (typeof e?.code === "string") return e.code;
  if (typeof e?.cause?.code === "string") return e.cause.code;
  const quoted = typeof e?.message === "string" ? /\b(E[A-Z]{4,}|UND_ERR_[A-Z_]+)\b/.exec(e.message) : null;
  return quoted?.[1];
}

/**
 * A system error of a filesystem or a socket as a storage DbbError: what the store said, about
 * which object. DbbErrors and AbortErrors pass unchanged.
 */
export function systemStorageError(err: unknown, what: string): Error {
  if (err instanceof DbbError || isAbortError(err)) return err as Error;
  const code = errno(err);
  const message = (err as Error)?.message ?? String(err);
  const details = { errno: code };
  switch (code) {
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new DbbError(ErrorCode.STORAGE_DENIED, `${what}: permission denied by the filesystem (${code}); check the owner and mode of the RSE's root`, details);
    case "ENOSPC":
    case "EDQUOT":
    case "EFBIG":
      return new DbbError(ErrorCode.STORAGE_FULL, `${what}: no space or quota left on the filesystem (${code})`, details);
    case "ENOENT":
    case "ENOTDIR":
      return new DbbError(ErrorCode.OBJECT_NOT_FOUND, `${what}: no such object`, details);
  }
  if (code && NETWORK_ERRNOS.has(code)) return new DbbError(ErrorCode.NETWORK, `${what}: the store could not be reached (${code}): ${message}`, details);
  if (code && TIMEOUT_ERRNOS.has(code)) return new DbbError(ErrorCode.TIMEOUT, `${what}: the store did not answer in time (${code})`, details);
  return new DbbError(ErrorCode.STORAGE_ERROR, `${what}: ${message}`, details);
}

/**
 * Remembers the first error `body` emits, so that a write can tell a failing source (rethrown
 * unchanged: the caller's side) from a failing store (mapped to a storage code).
 */
export function watchSourceErrors(body: NodeJS.ReadableStream): () => unknown {
  let first: unknown;
  body.on("error", (err) => {
    first ??= err;
  });
  return () => first;
}

