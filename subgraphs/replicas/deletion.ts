import type { EntityManager } from "typeorm";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { appendEventsFrom } from "./event";
import { isUuid } from "./identifiers";
import { advanceParts } from "./removal";
import type { TransferSettings } from "./transfer";

/**
 * Deletion of replicas nobody protects: a replica whose tombstone is due and that no lock holds
 * is handed to an agent of its facility with a lease; the agent deletes the object and reports.
 * A replica under any lock is never handed out: the claim skips rows a concurrent rule holds
 * (SKIP LOCKED) and re-checks lock_cnt on the row it locks. A replica a campaign removal planned
 * (removal.ts) is handed out only while no other copy of its file is being deleted for a removal,
 * so a rule added during the removal always finds a copy to keep (removal-guard.ts); the claim
 * locks the file's DID row (FOR NO KEY UPDATE, SKIP LOCKED) so that two facilities' agents do not
 * take the last two copies at once. Its report counts toward the removal.
 */
export interface DeletionRow {
  id: string;
  lease: string;
  scope: string;
  name: string;
  rseId: string;
  rseName: string;
  facility: string;
  path: string;
  bytes: number;
  /** The campaign removal that planned this deletion, if one did. */
  removal: string | null;
}

function deletionNotFound(id: string): DbbError {
  return new DbbError(ErrorCode.DELETION_NOT_FOUND, `no replica ${id} is awaiting deletion`, { replica: id });
}

export async function claimDeletions(db: EntityManager, facility: string, limit: number, agent: string, settings: TransferSettings): Promise<DeletionRow[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw invalidInput("limit must be 1 to 10000", { argument: "limit" });
  return db.transaction(async (tx) => {
    const rows: DeletionRow[] = await tx.query(
      `WITH picked AS (
         SELECT r.scope, r.name, r.rse_id FROM replicas r JOIN rses s ON s.id = r.rse_id
         JOIN dids d ON d.scope = r.scope AND d.name = r.name
         WHERE s.facility = $1 AND s.availability_delete AND r.lock_cnt = 0 AND r.tombstone <= now()
           AND (r.deletion_lease IS NULL OR r.deletion_lease_expires_at < now())
           AND NOT EXISTS (SELECT 1 FROM transfer_requests t WHERE t.scope = r.scope AND t.name = r.name AND t.dest_rse_id = r.rse_id
                             AND t.state IN ('QUEUED', 'SUBMITTED'))
           AND (r.removal_id IS NULL OR NOT EXISTS (
                 SELECT 1 FROM replicas o WHERE o.scope = r.scope AND o.name = r.name AND o.rse_id <> r.rse_id
                   AND o.state = 'BEING_DELETED' AND o.removal_id IS NOT NULL AND o.deletion_lease_expires_at >= now()))
         ORDER BY r.tombstone LIMIT $2
         FOR UPDATE OF r SKIP LOCKED FOR NO KEY UPDATE OF d SKIP LOCKED),
       upd AS (
         UPDATE replicas r SET state = 'BEING_DELETED', deletion_lease = gen_random_uuid(),
           deletion_lease_expires_at = now() + make_interval(secs => $3), deletion_claimed_by = $4, updated_at = now()
         FROM picked p WHERE r.scope = p.scope AND r.name = p.name AND r.rse_id = p.rse_id AND r.lock_cnt = 0
         RETURNING r.*)
       SELECT u.id, u.deletion_lease AS lease, u.scope, u.name, u.rse_id AS "rseId", s.name AS "rseName", s.facility, u.path, u.bytes,
              u.removal_id AS removal
       FROM upd u JOIN rses s ON s.id = u.rse_id ORDER BY u.tombstone`,
      [facility, limit, settings.leaseSeconds, agent],
    );
    if (rows.length) {
      await appendEventsFrom(
        tx,
        "deletion-claimed",
        `SELECT s.facility, jsonb_build_object('replica', r.id, 'scope', r.scope, 'name', r.name, 'rse', s.name, 'facility', s.facility) AS payload
         FROM replicas r JOIN rses s ON s.id = r.rse_id WHERE r.id = ANY($1::uuid[])`,
        [rows.map((r) => r.id)],
      );
    }
    return rows;
  });
}

/** The facility of a replica awaiting deletion (for the agent-scope check). */
export async function deletionFacility(db: EntityManager, id: string, facilities: string[]): Promise<string> {
  if (!isUuid(id)) throw deletionNotFound(id);
  // A replica of another facility is not found, exactly as an unknown id: an agent learns nothing of other facilities' ids.
  const rows: Array<{ facility: string }> = await db.query(
    `SELECT s.facility FROM replicas r JOIN rses s ON s.id = r.rse_id WHERE r.id = $1 AND lower(s.facility) = ANY($2::text[])`,
    [id, facilities.map((f) => f.toLowerCase())],
  );
  if (!rows.length) throw deletionNotFound(id);
  return rows[0].facility;
}

export interface DeletionOutcome {
  ok: boolean;
  error?: string | null;
}

/**
 * Records an agent's deletion. Success removes the replica row, unless a rule locked the replica
 * meanwhile: then the replica becomes COPYING and the transfer that rule queued restores it.
 * Failure releases the claim and retries after the backoff.
 */
export async function reportDeletion(db: EntityManager, id: string, lease: string, agent: string, outcome: DeletionOutcome, settings: TransferSettings): Promise<boolean> {
  if (!isUuid(id)) throw deletionNotFound(id);
  return db.transaction(async (tx) => {
    const rows: Array<{ lockCount: number; lease: string | null; state: string; expired: boolean | null; holder: string | null; scope: string; name: string; rseId: string }> = await tx.query(
      `SELECT lock_cnt AS "lockCount", deletion_lease AS lease, state, (deletion_lease_expires_at < now()) AS expired, deletion_claimed_by AS holder,
              scope, name, rse_id AS "rseId"
       FROM replicas WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (!rows.length) throw deletionNotFound(id);
    const replica = rows[0];
    // An expired lease is lost even before another agent re-claims the replica; only its holder reports.
    if (replica.state !== "BEING_DELETED" || !isUuid(lease) || replica.lease !== lease.toLowerCase() || replica.expired || replica.holder !== agent) {
      throw new DbbError(ErrorCode.LEASE_LOST, `replica ${id} is no longer held with this lease (it ran out, or another agent holds it); drop the work`, { replica: id });
    }
    const payload = `jsonb_build_object('replica', r.id, 'scope', r.scope, 'name', r.name, 'rse', s.name, 'facility', s.facility, 'error', $2::text)`;
    const from = `FROM replicas r JOIN rses s ON s.id = r.rse_id WHERE r.id = $1`;
    const error = outcome.ok ? null : (outcome.error || "the agent reported a failure without a message").slice(0, 4000);
    await appendEventsFrom(tx, outcome.ok ? "deletion-done" : "deletion-failed", `SELECT s.facility, ${payload} AS payload ${from}`, [id, error]);
    await recordRemovalDeletion(tx, replica, outcome.ok, error);
    if (replica.lockCount > 0) {
      // A rule wants this copy again: its queued transfer (re)writes it, whatever happened here.
      await tx.query(`UPDATE replicas SET state = 'COPYING', deletion_lease = NULL, deletion_lease_expires_at = NULL, deletion_claimed_by = NULL, updated_at = now() WHERE id = $1`, [id]);
    } else if (outcome.ok) {
      await tx.query(`DELETE FROM replicas WHERE id = $1`, [id]);
    } else {
      await tx.query(
        `UPDATE replicas SET deletion_lease = NULL, deletion_lease_expires_at = NULL, deletion_claimed_by = NULL,
           tombstone = now() + make_interval(secs => $2), updated_at = now() WHERE id = $1`,
        [id, settings.backoffSeconds],
      );
    }
    return true;
  });
}

/**
 * Counts a deletion toward the campaign removals that planned this replica: DELETED on success
 * (also when a rule locked it meanwhile: the object went, the rule's transfer restores it), an
 * attempt and the error on failure; a facility with nothing planned left moves on to finishing.
 */
async function recordRemovalDeletion(tx: EntityManager, replica: { scope: string; name: string; rseId: string }, ok: boolean, error: string | null): Promise<void> {
  const touched: Array<{ removalId: string }> = await tx.query(
    `UPDATE removal_files SET state = CASE WHEN $4 THEN 'DELETED' ELSE state END, attempts = attempts + CASE WHEN $4 THEN 0 ELSE 1 END,
       last_error = CASE WHEN $4 THEN last_error ELSE $5 END, updated_at = now()
     WHERE scope = $1 AND name = $2 AND rse_id = $3 AND state = 'PLANNED' RETURNING removal_id AS "removalId"`,
    [replica.scope, replica.name, replica.rseId, ok, error],
  );
  if (touched.length) await advanceParts(tx, `SELECT unnest($1::uuid[])`, [touched.map((t) => t.removalId)]);
}
