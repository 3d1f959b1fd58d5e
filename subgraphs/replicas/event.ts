import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { keysetPage, SqlFilter } from "../../lib/keyset-page";
import { decodeCursor, Page } from "../../lib/pagination";

/**
 * The catalog's event log: every new DID, metadata change, and state change of rules, transfers
 * and deletions appends one event, in the same transaction as the change. Agents, tools and the
 * subscription matcher follow it with a cursor.
 */
export type EventType =
  | "did-registered"
  | "did-metadata-changed"
  | "rule-created"
  | "rule-ok"
  | "rule-replicating"
  | "rule-stuck"
  | "rule-suspended"
  | "rule-deleted"
  | "rule-expired"
  | "transfer-queued"
  | "transfer-submitted"
  | "transfer-done"
  | "transfer-failed"
  | "transfer-lease-expired"
  | "transfer-cancelled"
  | "deletion-queued"
  | "deletion-claimed"
  | "deletion-done"
  | "deletion-failed"
  | "removal-requested"
  | "removal-planned"
  | "removal-facility-done"
  | "removal-done"
  | "removal-cancelled";

export const EVENT_TYPES: readonly EventType[] = [
  "did-registered",
  "did-metadata-changed",
  "rule-created",
  "rule-ok",
  "rule-replicating",
  "rule-stuck",
  "rule-suspended",
  "rule-deleted",
  "rule-expired",
  "transfer-queued",
  "transfer-submitted",
  "transfer-done",
  "transfer-failed",
  "transfer-lease-expired",
  "transfer-cancelled",
  "deletion-queued",
  "deletion-claimed",
  "deletion-done",
  "deletion-failed",
  "removal-requested",
  "removal-planned",
  "removal-facility-done",
  "removal-done",
  "removal-cancelled",
];

export interface EventRow {
  id: number;
  type: EventType;
  facility: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** Appends one event. */
export async function appendEvent(db: EntityManager, type: EventType, facility: string | null, payload: Record<string, unknown>): Promise<void> {
  await db.query(`INSERT INTO events (type, facility, payload) VALUES ($1, $2, $3::jsonb)`, [type, facility, JSON.stringify(payload)]);
}

/**
 * Appends one event per row that `selectSql` yields, set-based. The SELECT must produce the
 * columns `facility` and `payload` (jsonb).
 */
export async function appendEventsFrom(db: EntityManager, type: EventType, selectSql: string, params: unknown[]): Promise<void> {
  await db.query(`INSERT INTO events (type, facility, payload) SELECT $${params.length + 1}, x.facility, x.payload FROM (${selectSql}) x`, [
    ...params,
    type,
  ]);
}

export interface EventFilter {
  after?: string | null;
  types?: string[] | null;
  facility?: string | null;
  first?: number | null;
}

/** Events after a cursor, oldest first. */
export async function listEvents(db: EntityManager, filter: EventFilter): Promise<Page<EventRow>> {
  const where = new SqlFilter();
  if (filter.types?.length) {
    for (const t of filter.types) if (!EVENT_TYPES.includes(t as EventType)) throw invalidInput(`unknown event type '${t}'; known: ${EVENT_TYPES.join(", ")}`, { argument: "types" });
    where.add((p) => `type = ANY(${p}::text[])`, filter.types);
  }
  if (filter.facility) where.add((p) => `lower(facility) = lower(${p})`, filter.facility);
  let after: { key: unknown[]; sql: (id: string) => string } | null = null;
  if (filter.after) {
    const key = decodeCursor(filter.after, ["int"]);
    if (typeof key[0] !== "number") throw invalidInput("invalid cursor", { argument: "after" });
    after = { key, sql: (id) => `id > ${id}` };
  }
  return keysetPage<EventRow>(db, {
    select: `SELECT id, type, facility, payload, created_at AS "createdAt"`,
    from: "FROM events",
    filter: where,
    orderBy: "id",
    after,
    first: filter.first,
    keyOf: (r) => [r.id],
  });
}
