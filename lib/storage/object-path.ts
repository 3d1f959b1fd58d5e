import { DbbError, ErrorCode, invalidInput } from "../errors";

/**
 * The segments of an RSE-relative path, refusing what could leave the root: an absolute path,
 * `..`, a NUL byte (PATH_OUTSIDE_ROOT); and what names no object: an empty path or segment, `.`
 * (INVALID_INPUT). Shared by both drivers, so a path means the same on S3 and POSIX.
 */
export function pathSegments(objectPath: string): string[] {
  if (typeof objectPath !== "string" || objectPath.length === 0) throw invalidInput("an object path must not be empty");
  if (objectPath.includes("\0")) throw new DbbError(ErrorCode.PATH_OUTSIDE_ROOT, "an object path must not contain a NUL byte", { path: objectPath });
  if (objectPath.startsWith("/") || objectPath.startsWith("\\") || /^[A-Za-z]:/.test(objectPath)) {
    throw new DbbError(ErrorCode.PATH_OUTSIDE_ROOT, `'${objectPath}' is absolute: object paths are relative to the RSE's root or prefix`, { path: objectPath });
  }
  const segments = objectPath.split("/");
  for (const segment of segments) {
    if (segment === ".." || segment.split("\\").includes("..")) {
      throw new DbbError(ErrorCode.PATH_OUTSIDE_ROOT, `'${objectPath}' contains '..': object paths may not leave the RSE's root or prefix`, { path: objectPath });
    }
    if (segment === "" || segment === ".") throw invalidInput(`'${objectPath}' has an empty or '.' segment: use a plain relative path such as scope/run/file.fits`, { path: objectPath });
  }
  return segments;
}

/** A range of the driver contract: whole non-negative numbers, end (inclusive) not before start. */
export function checkRange(range?: { start: number; end?: number }): void {
  if (!range) return;
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw invalidInput(`invalid byte range ${start}-${end ?? ""}: start and end are whole numbers, end (inclusive) not before start`);
  }
}
