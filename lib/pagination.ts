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

export function decodeCursor(cursor: string, arity: number): unknown[] {
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(key) && key.length === arity) return key;
  } catch {
    /* fall through */
  }
  throw invalidInput(`invalid cursor '${cursor}': pass a cursor returned by this service`, { argument: "after" });
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
