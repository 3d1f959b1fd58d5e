import { invalidInput } from "../../lib/errors";

/**
 * The shapes of names the catalog accepts, checked at the edge so that nothing malformed is
 * stored. Item-level errors name the offending item of a bulk call (`item`: index in the list).
 */
export const SCOPE_PATTERN = /^[A-Za-z0-9_.\-]{1,64}$/;
/** File and collection names: no leading slash or dot, no `//`, no `..` segment, no spaces. */
export const DID_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.\-:+=@/]{0,499}$/;
/** RSE names are upper case as in Rucio, which keeps them apart from attribute keys in expressions. */
export const RSE_NAME_PATTERN = /^[A-Z0-9][A-Z0-9_\-]{0,63}$/;
export const FACILITY_CODE_PATTERN = /^[A-Za-z][A-Za-z0-9_\-]{0,31}$/;
export const ATTRIBUTE_KEY_PATTERN = /^[A-Za-z0-9_.\-]{1,64}$/;
export const METADATA_KEY_PATTERN = /^[A-Za-z0-9_.\-]{1,128}$/;
const ADLER32_PATTERN = /^[0-9a-f]{8}$/;
const MD5_PATTERN = /^[0-9a-f]{32}$/;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids of rules, requests and replicas are UUIDs; anything else cannot name one. */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

type Details = Record<string, unknown>;

export function checkScope(scope: unknown, details: Details = {}): string {
  if (typeof scope !== "string" || !SCOPE_PATTERN.test(scope)) {
    throw invalidInput(`invalid scope '${scope}': 1-64 letters, digits, '_', '.', '-'`, details);
  }
  return scope;
}

export function checkDidName(name: unknown, details: Details = {}): string {
  if (typeof name !== "string" || !DID_NAME_PATTERN.test(name) || name.includes("//") || name.split("/").includes("..") || name.endsWith("/")) {
    throw invalidInput(
      `invalid name '${name}': up to 500 characters of letters, digits and _ . - : + = @ /, starting with a letter, digit or '_', with no '//' or '..' segment`,
      details,
    );
  }
  return name;
}

export function checkRseName(name: unknown, details: Details = {}): string {
  if (typeof name !== "string" || !RSE_NAME_PATTERN.test(name)) {
    throw invalidInput(`invalid RSE name '${name}': 1-64 upper-case letters, digits, '_' or '-' (e.g. USDF_DISK)`, details);
  }
  return name;
}

export function checkFacilityCode(code: unknown, details: Details = {}): string {
  if (typeof code !== "string" || !FACILITY_CODE_PATTERN.test(code)) {
    throw invalidInput(`invalid facility code '${code}': a letter, then up to 31 letters, digits, '_' or '-' (e.g. FrDF)`, details);
  }
  return code;
}

export function checkBytes(bytes: unknown, details: Details = {}): number {
  if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw invalidInput(`invalid bytes ${bytes}: a whole number of bytes, 0 or more`, details);
  }
  return bytes;
}

/** Checksums are stored in lower case; adler32 as 8 hex digits (zero-padded), md5 as 32. */
export function checkAdler32(value: unknown, details: Details = {}): string {
  const v = typeof value === "string" ? value.toLowerCase() : value;
  if (typeof v !== "string" || !ADLER32_PATTERN.test(v)) throw invalidInput(`invalid adler32 '${value}': 8 hex digits`, details);
  return v;
}

export function checkMd5(value: unknown, details: Details = {}): string {
  const v = typeof value === "string" ? value.toLowerCase() : value;
  if (typeof v !== "string" || !MD5_PATTERN.test(v)) throw invalidInput(`invalid md5 '${value}': 32 hex digits`, details);
  return v;
}

/** Metadata is a flat-or-nested JSON object whose top-level keys follow METADATA_KEY_PATTERN. */
export function checkMetadata(value: unknown, details: Details = {}): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalidInput(`metadata must be a JSON object`, details);
  for (const key of Object.keys(value)) {
    if (!METADATA_KEY_PATTERN.test(key)) {
      throw invalidInput(`invalid metadata key '${key}': 1-128 letters, digits, '_', '.', '-'`, { ...details, key });
    }
  }
  return value as Record<string, unknown>;
}
