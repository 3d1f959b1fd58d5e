import type { EntityManager } from "typeorm";

/**
 * A rule added while a campaign removal is under way wins (DMTN-198: nothing still wanted is
 * lost): every replica of a file the rule now locks that a removal planned but no agent has taken
 * yet is kept (its OBSOLETE tombstone lifted, the removal's record of it KEPT with the rule), and
 * the file is no longer obsolete. A copy already being deleted finishes; where the rule wants a
 * copy that is gone, its transfer re-replicates it from one that is kept. Deletion claims take at
 * most one copy of a removal's file at a time (deletion.ts), so a copy is left for the rule.
 *
 * Called by rule evaluation with the locks it just made (`newLocksSql` yields scope, name,
 * rule_id); costs one cheap statement when no removal is running.
 */
export async function keepFilesWantedByRules(tx: EntityManager, newLocksSql: string, params: unknown[] = []): Promise<void> {
  const [{ active }] = await tx.query(`SELECT EXISTS (SELECT 1 FROM removals WHERE state IN ('PLANNED', 'RUNNING')) AS active`);
  if (!active) return;
  await tx.query(`DROP TABLE IF EXISTS rule_wanted_files`);
  await tx.query(
    `CREATE TEMP TABLE rule_wanted_files ON COMMIT DROP AS SELECT DISTINCT ON (scope, name) scope, name, rule_id FROM (${newLocksSql}) l ORDER BY scope, name, rule_id`,
    params,
  );
  await tx.query(`DROP TABLE IF EXISTS rule_kept_from_removal`);
  await tx.query(
    `CREATE TEMP TABLE rule_kept_from_removal ON COMMIT DROP AS
     WITH upd AS (
       UPDATE replicas r SET tombstone = NULL, removal_id = NULL, updated_at = now()
       FROM rule_wanted_files w
       WHERE r.scope = w.scope AND r.name = w.name AND r.removal_id IS NOT NULL AND r.state <> 'BEING_DELETED'
       RETURNING r.scope, r.name, r.rse_id, w.rule_id)
     SELECT * FROM upd`,
  );
  await tx.query(
    `UPDATE removal_files f SET state = 'KEPT', reason = 'wanted by rule ' || k.rule_id::text || ', added during the removal', rule_id = k.rule_id, updated_at = now()
     FROM rule_kept_from_removal k
     WHERE f.scope = k.scope AND f.name = k.name AND f.rse_id = k.rse_id AND f.state = 'PLANNED'`,
  );
  await tx.query(
    `UPDATE dids d SET obsolete = false, updated_at = now() FROM rule_wanted_files w WHERE d.scope = w.scope AND d.name = w.name AND d.obsolete`,
  );
}
