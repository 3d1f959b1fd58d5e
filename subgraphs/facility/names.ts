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

/** Longer patterns could only match names longer than any name allowed. */
const MAX_GLOB_LENGTH = 1024;

type GlobToken = { kind: "star" } | { kind: "any" } | { kind: "char"; c: string } | { kind: "set"; negated: boolean; items: Array<[string, string]> };

export interface GlobMatcher {
  test(text: string): boolean;
}

/**
 * A shell-style glob (`*`, `?`, `[abc]`, `[a-z]`, `[!abc]`), anchored, as daf_butler's collection and
 * dataset type patterns (fnmatch) work. Matched by the two-pointer wildcard walk, in time linear in
 * pattern × name: a regular expression built from the glob backtracks exponentially on patterns
 * like `*a*a*a…` (a 70,000-character one stopped the service), and `[z-a]` is no valid one.
 */
export function compileGlob(pattern: string): GlobMatcher {
  if (pattern.length > MAX_GLOB_LENGTH) {
    throw invalidInput(`a pattern of ${pattern.length} characters; the limit is ${MAX_GLOB_LENGTH} (names are at most 512)`, { argument: "pattern", limit: MAX_GLOB_LENGTH });
  }
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (tokens[tokens.length - 1]?.kind !== "star") tokens.push({ kind: "star" });
    } else if (c === "?") tokens.push({ kind: "any" });
    else if (c === "[" && pattern.indexOf("]", i + 2) >= 0) {
      const close = pattern.indexOf("]", i + 2);
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith("!");
      if (negated) body = body.slice(1);
      const items: Array<[string, string]> = [];
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === "-" && k + 2 < body.length) {
          items.push([body[k], body[k + 2]]);
          k += 2;
        } else items.push([body[k], body[k]]);
      }
      tokens.push({ kind: "set", negated, items });
      i = close;
    } else tokens.push({ kind: "char", c });
  }
  const one = (t: GlobToken, ch: string): boolean => {
    switch (t.kind) {
      case "any":
        return true;
      case "char":
        return t.c === ch;
      case "set":
        return t.items.some(([lo, hi]) => lo <= ch && ch <= hi) !== t.negated;
      default:
        return false;
    }
  };
  return {
    test(text: string): boolean {
      let p = 0;
      let s = 0;
      let starP = -1;
      let starS = 0;
      while (s < text.length) {
        if (p < tokens.length && tokens[p].kind === "star") {
          starP = p++;
          starS = s;
        } else if (p < tokens.length && one(tokens[p], text[s])) {
          p++;
          s++;
        } else if (starP >= 0) {
          p = starP + 1;
          s = ++starS;
        } else return false;
      }
      while (p < tokens.length && tokens[p].kind === "star") p++;
      return p === tokens.length;
    },
  };
}

/** A glob (`*`, `?`) as a SQL LIKE pattern with `\` as the escape character. */
export function globToLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, "%").replace(/\?/g, "_");
}
