import type { EntityManager } from "typeorm";

/**
 * How far each subscription's rules are, per rule template (per target): the rules it made for
 * the DIDs it matched, by state, and their file copies (locks) done and still to do. One
 * statement for any number of subscriptions. Rules deleted since (expired, removed) are not
 * counted.
 */
export interface SubscriptionProgressRow {
  subscriptionId: string;
  template: number;
  rules: number;
  ok: number;
  replicating: number;
  stuck: number;
  suspended: number;
  locksOk: number;
  locks: number;
}

export async function subscriptionProgress(db: EntityManager, subscriptionIds: readonly string[]): Promise<SubscriptionProgressRow[]> {
  return db.query(
    `SELECT sr.subscription_id AS "subscriptionId", sr.template,
       count(*)::float8 AS rules,
       count(*) FILTER (WHERE ru.state = 'OK')::float8 AS ok,
       count(*) FILTER (WHERE ru.state = 'REPLICATING')::float8 AS replicating,
       count(*) FILTER (WHERE ru.state = 'STUCK')::float8 AS stuck,
       count(*) FILTER (WHERE ru.state = 'SUSPENDED')::float8 AS suspended,
       coalesce(sum(ru.locks_ok_cnt), 0)::float8 AS "locksOk",
       coalesce(sum(ru.locks_ok_cnt + ru.locks_replicating_cnt + ru.locks_stuck_cnt), 0)::float8 AS locks
     FROM subscription_rules sr JOIN rules ru ON ru.id = sr.rule_id
     WHERE sr.subscription_id = ANY($1::uuid[])
     GROUP BY sr.subscription_id, sr.template`,
    [subscriptionIds],
  );
}
