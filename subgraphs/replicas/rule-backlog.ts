import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { keysetPage, SqlFilter } from "../../lib/keyset-page";
import { decodeCursor, Page } from "../../lib/pagination";
import { RULE_COLUMNS, RuleRow, RuleState } from "./rule";

/**
 * The rules still waiting, oldest first: what an operator looks at to see what has been
 * REPLICATING (or STUCK, SUSPENDED) the longest. `rules` lists newest first, for a campaign's own
 * rules; this is the other end of the same table.
 */
export const BACKLOG_STATES: readonly RuleState[] = ["REPLICATING", "STUCK", "SUSPENDED"];

export async function listRuleBacklog(
  db: EntityManager,
  opts: { state: RuleState; subscription?: string | null; first?: number | null; after?: string | null },
): Promise<Page<RuleRow>> {
  if (!BACKLOG_STATES.includes(opts.state)) {
    throw invalidInput(`state must be one of ${BACKLOG_STATES.join(", ")} (rules still waiting), got ${opts.state}`, { argument: "state" });
  }
  const where = new SqlFilter().add((p) => `ru.state = ${p}`, opts.state);
  if (opts.subscription) where.add((p) => `ru.subscription_id = (SELECT id FROM subscriptions WHERE name = ${p})`, opts.subscription);
  return keysetPage<RuleRow>(db, {
    select: `SELECT ${RULE_COLUMNS}`,
    from: "FROM rules ru",
    filter: where,
    orderBy: "ru.created_at, ru.id",
    after: opts.after ? { key: decodeCursor(opts.after, ["time", "uuid"]), sql: (at, id) => `(ru.created_at, ru.id) > (${at}::timestamptz, ${id}::uuid)` } : null,
    first: opts.first,
    keyOf: (r) => [r.cursorAt, r.id],
  });
}
