import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { decodeCursor, Page, pageSize, toPage } from "../../lib/pagination";

/**
 * The catalog's event log: every state change of rules, transfers and deletions appends one
 * event, in the same transaction as the change. Agents and tools follow it with a cursor.
 */
export type EventType =
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
  | "deletion-failed";

export const EVENT_TYPES: readonly EventType[] = [
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
  const limit = pageSize(filter.first);
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.types?.length) {
    for (const t of filter.types) if (!EVENT_TYPES.includes(t as EventType)) throw invalidInput(`unknown event type '${t}'; known: ${EVENT_TYPES.join(", ")}`, { argument: "types" });
    params.push(filter.types);
    where.push(`type = ANY($${params.length}::text[])`);
  }
  if (filter.facility) {
    params.push(filter.facility);
    where.push(`lower(facility) = lower($${params.length})`);
  }
  const filterSql = where.length ? where.join(" AND ") : "true";
  const filterParams = [...params];
  if (filter.after) {
    const [id] = decodeCursor(filter.after, 1);
    if (typeof id !== "number") throw invalidInput("invalid cursor", { argument: "after" });
    params.push(id);
    where.push(`id > $${params.length}`);
  }
  params.push(limit + 1);
  const rows: EventRow[] = await db.query(
    `SELECT id, type, facility, payload, created_at AS "createdAt" FROM events
     WHERE ${where.length ? where.join(" AND ") : "true"} ORDER BY id LIMIT $${params.length}`,
    params,
  );
  return toPage(rows, limit, (r) => [r.id], async () => {
    const [{ n }] = await db.query(`SELECT count(*) AS n FROM events WHERE ${filterSql}`, filterParams);
    return n;
  });
}
