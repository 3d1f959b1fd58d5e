import { invalidInput } from "./errors";

/**
 * Cursor pagination (Relay connections). A cursor is an opaque base64url encoding of the
 * ordering key of the row it points at; `after` continues strictly after that key, so pages stay
 * stable while rows are added.
 */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 10000;

export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/**
 * What each part of a cursor's key must be. A cursor comes back from the client, so a forged one
 * (valid base64 and JSON, wrong types) must be refused here and never reach SQL as a bad cast.
 */
export type CursorPart = "text" | "int" | "number" | "uuid" | "time";

const CURSOR_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A timestamp as Postgres prints `timestamptz::text` (or ISO 8601). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)?$/;

function cursorPartOk(value: unknown, part: CursorPart): boolean {
  switch (part) {
    case "text":
      return typeof value === "string" && value.length <= 4096 && !value.includes("\u0000");
    case "int":
      return typeof value === "number" && Number.isSafeInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "uuid":
      return typeof value === "string" && CURSOR_UUID.test(value);
    case "time":
      return typeof value === "string" && CURSOR_TIME.test(value) && !Number.isNaN(Date.parse(value.replace(" ", "T").replace(/([+-]\d{2})$/, "$1:00")));
  }
}

/** The key of a cursor this service made; INVALID_INPUT for anything else (never echoing more than a few characters). */
export function decodeCursor(cursor: string, parts: readonly CursorPart[]): unknown[] {
  if (cursor.length <= 8192) {
    try {
      const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
      if (Array.isArray(key) && key.length === parts.length && key.every((v, i) => cursorPartOk(v, parts[i]))) return key;
    } catch {
      /* fall through */
    }
  }
  const shown = cursor.length > 40 ? `${cursor.slice(0, 40)}…` : cursor;
  throw invalidInput(`invalid cursor '${shown}': pass a cursor returned by this service`, { argument: "after" });
}

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw invalidInput(`first must be between 0 and ${MAX_PAGE_SIZE}, got ${first}`, { argument: "first" });
  }
  return first;
}

export interface Page<T> {
  nodes: T[];
  cursors: string[];
  hasNextPage: boolean;
  /** Computes the total lazily: only when the client selects totalCount. */
  totalCount: () => Promise<number>;
}

/** Builds a page from `limit + 1` fetched rows. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => unknown[], totalCount: () => Promise<number>): Page<T> {
  const nodes = rows.slice(0, limit);
  return { nodes, cursors: nodes.map((n) => encodeCursor(keyOf(n))), hasNextPage: rows.length > limit, totalCount };
}
