import { invalidInput } from "../../lib/errors";

/**
 * Names of the registry: facility codes, dataset types, collections. Checked at the edge so that
 * bad input gets a message a person can act on.
 */

export const FACILITY_CODE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export function checkFacilityCode(code: unknown): string {
  if (typeof code !== "string" || !FACILITY_CODE.test(code)) {
    throw invalidInput(`invalid facility code '${String(code)}': a letter, then letters, digits, _ or - (e.g. USDF, FrDF, SUMMIT)`);
  }
  return code;
}

/** daf_butler's DatasetType name rule: dot-separated parts of letters, digits and _, not starting with a digit. */
const DATASET_TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export function checkDatasetTypeName(name: unknown, details: Record<string, unknown> = {}): string {
  if (typeof name !== "string" || !DATASET_TYPE_NAME.test(name) || name.length > 128) {
    throw invalidInput(`invalid dataset type name '${String(name)}': dot-separated parts of letters, digits and _ (e.g. raw, calexp, calexp.wcs)`, details);
  }
  return name;
}

/** Collection names as daf_butler uses them (LSSTCam/raw/all, u/alice/DM-1234/20250601T000000Z): no glob characters or spaces. */
const COLLECTION_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.\/+:@,=-]*$/;

export function checkCollectionName(name: unknown, details: Record<string, unknown> = {}): string {
  if (typeof name !== "string" || !COLLECTION_NAME.test(name) || name.length > 512) {
    throw invalidInput(
      `invalid collection name '${String(name)}': letters, digits and _ . / + : @ , = - (no spaces or glob characters *?[])`,
      details,
    );
  }
  return name;
}

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/**
 * A shell-style glob (`*`, `?`, `[abc]`, `[!abc]`) as an anchored regular expression, as daf_butler's
 * collection and dataset type patterns (fnmatch) work.
 */
export function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) out += "\\[";
      else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        out += `[${body.replace(/\\/g, "\\\\")}]`;
        i = close;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

/** A glob (`*`, `?`) as a SQL LIKE pattern with `\` as the escape character. */
export function globToLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, "%").replace(/\?/g, "_");
}
