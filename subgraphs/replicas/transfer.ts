import type { EntityManager } from "typeorm";
import { checksumDifferences } from "../../lib/checksum";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { keysetPage, SqlFilter } from "../../lib/keyset-page";
import { decodeCursor, Page } from "../../lib/pagination";
import { appendEventsFrom } from "./event";
import { isUuid } from "./identifiers";
import { refreshRules } from "./rule";

/**
 * Transfer requests and the agents' side of them: claim with a lease (FOR UPDATE SKIP LOCKED, so
 * two agents never get the same request), heartbeat, report. A DONE report makes the replica
 * AVAILABLE only when size and checksums match the file; failures retry with exponential backoff
 * and, past the attempt limit, leave the locks and rules STUCK with the error.
 */
export type RequestState = "QUEUED" | "SUBMITTED" | "DONE" | "FAILED";

export interface TransferRow {
  id: string;
  scope: string;
  name: string;
  destRseId: string;
  sourceRseId: string | null;
  ruleId: string | null;
  state: RequestState;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  errorCode: string | null;
  bytes: number;
  activity: string;
  priority: number;
  claimedBy: string | null;
  leaseExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** created_at at full (microsecond) precision, for cursors. */
  cursorAt: string;
  finishedAt: Date | null;
  submittedAt: Date | null;
  /** The file's path on the destination RSE (relative to its root or bucket prefix). */
  destinationPath: string | null;
  /** The file's path on the chosen source RSE, once claimed. */
  sourcePath: string | null;
  /** Present only on the rows handed to the agent that claimed them. */
  lease?: string | null;
}

export const TRANSFER_COLUMNS = `t.id, t.scope, t.name, t.dest_rse_id AS "destRseId", t.source_rse_id AS "sourceRseId", t.rule_id AS "ruleId",
  t.state, t.attempts, t.next_attempt_at AS "nextAttemptAt", t.last_error AS "lastError", t.error_code AS "errorCode", t.bytes,
  t.activity, t.priority, t.claimed_by AS "claimedBy", t.lease_expires_at AS "leaseExpiresAt",
  t.created_at AS "createdAt", t.updated_at AS "updatedAt", t.finished_at AS "finishedAt", t.submitted_at AS "submittedAt", t.created_at::text AS "cursorAt",
  (SELECT r.path FROM replicas r WHERE r.scope = t.scope AND r.name = t.name AND r.rse_id = t.dest_rse_id) AS "destinationPath",
  (SELECT r.path FROM replicas r WHERE r.scope = t.scope AND r.name = t.name AND r.rse_id = t.source_rse_id) AS "sourcePath"`;

/** The failure reasons an agent reports (TransferRequest.errorCode); anything else is refused. */
export const AGENT_FAILURE_CODES = [
  ErrorCode.SOURCE_MISSING,
  ErrorCode.SOURCE_DENIED,
  ErrorCode.DESTINATION_DENIED,
  ErrorCode.DESTINATION_FULL,
  ErrorCode.CHECKSUM_MISMATCH,
  ErrorCode.NETWORK,
  ErrorCode.TIMEOUT,
] as const;

/**
 * SQL for the URL of `path` on RSE alias `s`: `<endpoint>/<bucket>/<prefix>/<path>` for S3
 * (path-style, usable by any S3 client given the endpoint), `file://<root>/<path>` for POSIX.
 */
export function rseUrlSql(s: string, path: string): string {
  return `CASE WHEN ${s}.kind = 'S3' THEN ${s}.endpoint || '/' || ${s}.bucket || '/' || CASE WHEN ${s}.prefix <> '' THEN ${s}.prefix || '/' ELSE '' END || ${path}
    ELSE 'file://' || rtrim(${s}.root_path, '/') || '/' || ${path} END`;
}

const RUCIO_TIME = `'YYYY-MM-DD HH24:MI:SS'`;

/**
 * The payload of transfer-done / transfer-failed in the field names of Rucio's messages for the
 * same events (core/request.py, conveyor/common.py), so tools written for Rucio's messages read
 * ours; `t` is the request, `s` the destination RSE, `src` the source RSE, `d` the file's DID.
 * Our own keys (request, rse, facility, source, rules, attempts, error, errorCode) stay beside them.
 */
function rucioTransferFields(): string {
  return `jsonb_build_object(
    'request-id', t.id, 'transfer-id', t.id, 'previous-request-id', NULL, 'scope', t.scope, 'name', t.name, 'guid', NULL,
    'src-rse', src.name, 'dst-rse', s.name, 'src-type', 'DISK', 'dst-type', 'DISK',
    'src-url', (SELECT ${rseUrlSql('src', 'r.path')} FROM replicas r WHERE r.scope = t.scope AND r.name = t.name AND r.rse_id = t.source_rse_id),
    'dst-url', (SELECT ${rseUrlSql('s', 'r.path')} FROM replicas r WHERE r.scope = t.scope AND r.name = t.name AND r.rse_id = t.dest_rse_id),
    'protocol', CASE WHEN s.kind = 'S3' THEN 's3' ELSE 'file' END,
    'bytes', d.bytes, 'file-size', d.bytes, 'checksum-adler', d.adler32, 'checksum-md5', d.md5,
    'activity', t.activity, 'account', (SELECT ru.account FROM rules ru WHERE ru.id = t.rule_id),
    'rule-ids', ${RULES_OF_REQUEST_JSON}, 'tool-id', 'dbb-agent', 'transfer-endpoint', t.claimed_by,
    'reason', coalesce(t.last_error, ''),
    'created_at', to_char(t.created_at AT TIME ZONE 'UTC', ${RUCIO_TIME}),
    'submitted_at', to_char(t.submitted_at AT TIME ZONE 'UTC', ${RUCIO_TIME}),
    'started_at', to_char(t.submitted_at AT TIME ZONE 'UTC', ${RUCIO_TIME}),
    'transferred_at', to_char(now() AT TIME ZONE 'UTC', ${RUCIO_TIME}),
    'duration', round(extract(epoch FROM now() - t.submitted_at)))`;
}

export interface TransferSettings {
  maxAttempts: number;
  backoffSeconds: number;
  leaseSeconds: number;
}

function transferNotFound(id: string): DbbError {
  return new DbbError(ErrorCode.TRANSFER_NOT_FOUND, `transfer request ${id} does not exist`, { request: id });
}

/**
 * The ids of the rules a request serves (those holding a lock on its destination replica), as
 * a jsonb array, for the payload of events about the request; `t` is the request's alias.
 */
export const RULES_OF_REQUEST_JSON = `(SELECT coalesce(jsonb_agg(l.rule_id ORDER BY l.rule_id), '[]'::jsonb) FROM locks l
  WHERE l.scope = t.scope AND l.name = t.name AND l.rse_id = t.dest_rse_id)`;

/**
 * Returns requests whose lease ran out to the queue (their agent stopped heartbeating), with a
 * transfer-lease-expired event each, in one statement (no temporary table: the claim runs this
 * before every claim, and a temporary table per call bloats the system catalogs).
 */
export async function requeueExpiredLeases(db: EntityManager): Promise<number> {
  const [{ n }]: Array<{ n: number }> = await db.query(
    `WITH upd AS (
       UPDATE transfer_requests SET state = 'QUEUED', lease = NULL, lease_expires_at = NULL, claimed_by = NULL, updated_at = now()
       WHERE id IN (SELECT id FROM transfer_requests WHERE state = 'SUBMITTED' AND lease_expires_at < now() FOR UPDATE SKIP LOCKED)
       RETURNING id, scope, name, dest_rse_id),
     ev AS (
       INSERT INTO events (type, facility, payload)
       SELECT 'transfer-lease-expired', s.facility,
              jsonb_build_object('request', t.id, 'scope', t.scope, 'name', t.name, 'rse', s.name, 'facility', s.facility, 'rules', ${RULES_OF_REQUEST_JSON})
       FROM upd t JOIN rses s ON s.id = t.dest_rse_id ORDER BY t.id
       RETURNING 1)
     SELECT (SELECT count(*) FROM upd)::int AS n, (SELECT count(*) FROM ev) AS events`,
  );
  return n;
}

/**
 * Hands up to `limit` due QUEUED requests whose destination is at `facility` to the agent, each
 * with a fresh lease and a source chosen now: an AVAILABLE, readable replica on one of the
 * rule's source RSEs (any RSE when it names none). Requests with no usable source yet, only
 * suspended rules behind them, or a destination replica still being deleted wait.
 */
export async function claimTransfers(db: EntityManager, facility: string, limit: number, agent: string, settings: TransferSettings): Promise<TransferRow[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw invalidInput("limit must be 1 to 10000", { argument: "limit" });
  await requeueExpiredLeases(db);
  return db.transaction(async (tx) => {
    // Per destination RSE, the queue is walked in its index's order (transfer_requests_queue) and
    // left after `limit` usable requests: a claim's cost does not grow with the queue (sorting the
    // whole queue took a claim as long as the queue, all night long with 200,000 raws waiting).
    const rows: TransferRow[] = await tx.query(
      `WITH picked AS (
         SELECT c.id, c.source FROM rses d
         CROSS JOIN LATERAL (
           SELECT t.id, t.priority, t.created_at, src.rse_id AS source
           FROM transfer_requests t
           CROSS JOIN LATERAL (
             SELECT r.rse_id FROM replicas r JOIN rses s ON s.id = r.rse_id
             WHERE r.scope = t.scope AND r.name = t.name AND r.state = 'AVAILABLE' AND s.availability_read AND NOT s.deleted
               AND r.rse_id <> t.dest_rse_id AND (t.source_rse_ids IS NULL OR r.rse_id = ANY(t.source_rse_ids))
             ORDER BY s.name LIMIT 1) src
           WHERE t.dest_rse_id = d.id AND t.state = 'QUEUED' AND t.next_attempt_at <= now()
             AND EXISTS (SELECT 1 FROM locks l JOIN rules ru ON ru.id = l.rule_id
                         WHERE l.scope = t.scope AND l.name = t.name AND l.rse_id = t.dest_rse_id AND ru.state <> 'SUSPENDED')
             AND NOT EXISTS (SELECT 1 FROM replicas x WHERE x.scope = t.scope AND x.name = t.name AND x.rse_id = t.dest_rse_id AND x.state = 'BEING_DELETED')
           ORDER BY t.priority DESC, t.created_at
           LIMIT $2
           FOR UPDATE OF t SKIP LOCKED) c
         WHERE d.facility = $1 AND d.availability_write
         ORDER BY c.priority DESC, c.created_at
         LIMIT $2),
       upd AS (
         UPDATE transfer_requests t SET state = 'SUBMITTED', source_rse_id = p.source, lease = gen_random_uuid(),
           lease_expires_at = now() + make_interval(secs => $3), claimed_by = $4, submitted_at = now(), updated_at = now()
         FROM picked p WHERE t.id = p.id
         RETURNING t.*)
       SELECT ${TRANSFER_COLUMNS}, t.lease FROM upd t ORDER BY t.priority DESC, t.created_at`,
      [facility, limit, settings.leaseSeconds, agent],
    );
    if (rows.length) {
      await appendEventsFrom(
        tx,
        "transfer-submitted",
        `SELECT s.facility, jsonb_build_object('request', t.id, 'scope', t.scope, 'name', t.name, 'rse', s.name, 'facility', s.facility,
                                               'source', src.name, 'agent', t.claimed_by, 'rules', ${RULES_OF_REQUEST_JSON}) AS payload
         FROM transfer_requests t JOIN rses s ON s.id = t.dest_rse_id JOIN rses src ON src.id = t.source_rse_id
         WHERE t.id = ANY($1::uuid[])`,
        [rows.map((r) => r.id)],
      );
    }
    return rows;
  });
}

/**
 * Extends the leases (transfer and deletion) that this agent holds at its facilities and that have
 * not run out; returns those extended. A lease another agent holds, or one already lapsed, is not
 * extended (the agent must drop that work).
 */
export async function heartbeat(db: EntityManager, leases: string[], facilities: string[], agent: string, settings: TransferSettings): Promise<string[]> {
  if (leases.length > 10000) throw invalidInput("at most 10000 leases per heartbeat", { argument: "leases" });
  const valid = leases.filter((l) => isUuid(l));
  const lower = facilities.map((f) => f.toLowerCase());
  const transfers: Array<{ lease: string }> = await db.query(
    `WITH upd AS (
       UPDATE transfer_requests t SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
       FROM rses d WHERE d.id = t.dest_rse_id AND lower(d.facility) = ANY($2::text[])
         AND t.lease = ANY($1::uuid[]) AND t.state = 'SUBMITTED' AND t.lease_expires_at >= now() AND t.claimed_by = $4
       RETURNING t.lease)
     SELECT lease FROM upd`,
    [valid, lower, settings.leaseSeconds, agent],
  );
  const deletions: Array<{ lease: string }> = await db.query(
    `WITH upd AS (
       UPDATE replicas r SET deletion_lease_expires_at = now() + make_interval(secs => $3)
       FROM rses s WHERE s.id = r.rse_id AND lower(s.facility) = ANY($2::text[])
         AND r.deletion_lease = ANY($1::uuid[]) AND r.deletion_lease_expires_at >= now() AND r.deletion_claimed_by = $4
       RETURNING r.deletion_lease AS lease)
     SELECT lease FROM upd`,
    [valid, lower, settings.leaseSeconds, agent],
  );
  return [...transfers, ...deletions].map((r) => r.lease);
}

export interface TransferOutcome {
  outcome: "DONE" | "FAILED";
  bytes?: number | null;
  adler32?: string | null;
  md5?: string | null;
  error?: string | null;
  /** One of AGENT_FAILURE_CODES: why a FAILED copy failed. */
  errorCode?: string | null;
}

/** The facility a request's destination belongs to (for the agent-scope check), or TRANSFER_NOT_FOUND. */
export async function transferFacility(db: EntityManager, id: string, facilities: string[]): Promise<string> {
  if (!isUuid(id)) throw transferNotFound(id);
  // A request of another facility is not found, exactly as an unknown id: an agent learns nothing of other facilities' ids.
  const rows: Array<{ facility: string }> = await db.query(
    `SELECT d.facility FROM transfer_requests t JOIN rses d ON d.id = t.dest_rse_id WHERE t.id = $1 AND lower(d.facility) = ANY($2::text[])`,
    [id, facilities.map((f) => f.toLowerCase())],
  );
  if (!rows.length) throw transferNotFound(id);
  return rows[0].facility;
}

/** Why a DONE report does not match the file, or null when size and every known checksum agree. */
function verify(file: { bytes: number | null; adler32: string | null; md5: string | null }, o: TransferOutcome): string | null {
  const problems = o.bytes == null ? [`no size reported (expected ${file.bytes})`] : [];
  problems.push(...checksumDifferences(file, o));
  return problems.length ? problems.join("; ") : null;
}

/**
 * The size and checksums of a file the catalog did not know the size of, from its first verified
 * copy: on the DID (checksums it already had are kept, and were checked), and on its replicas,
 * locks and requests, which counted 0 bytes until now.
 */
const wellFormed = (sum: string | null | undefined, pattern: RegExp) => (sum && pattern.test(sum.toLowerCase()) ? sum.toLowerCase() : null);

async function recordFirstCopy(tx: EntityManager, file: { scope: string; name: string }, o: TransferOutcome): Promise<void> {
  await tx.query(
    `UPDATE dids SET bytes = $3, adler32 = coalesce(adler32, $4), md5 = coalesce(md5, $5), updated_at = now() WHERE scope = $1 AND name = $2 AND bytes IS NULL`,
    [file.scope, file.name, o.bytes, wellFormed(o.adler32, /^[0-9a-f]{8}$/), wellFormed(o.md5, /^[0-9a-f]{32}$/)],
  );
  for (const table of ["replicas", "locks", "transfer_requests"]) {
    await tx.query(`UPDATE ${table} SET bytes = $3 WHERE scope = $1 AND name = $2 AND bytes <> $3`, [file.scope, file.name, o.bytes]);
  }
}

/** Reports one agent call may carry (reportTransfers). */
export const MAX_REPORTS_PER_CALL = 1000;

export interface TransferReportItem {
  id: string;
  lease: string;
  outcome: TransferOutcome;
}

/** What became of one report: the request as it is now, or why the report was not taken. */
export interface TransferReportResult {
  id: string;
  request: TransferRow | null;
  error: { code: string; message: string; details: Record<string, unknown> } | null;
}

/** Refuses an outcome that is not DONE or FAILED, or a failure reason that is not one of the agent's. */
function checkOutcome(outcome: TransferOutcome | null | undefined, where: string, details: Record<string, unknown>): void {
  if (!outcome || (outcome.outcome !== "DONE" && outcome.outcome !== "FAILED")) throw invalidInput(`${where}outcome must be DONE or FAILED`, { field: "outcome", ...details });
  if (outcome.errorCode != null && !(AGENT_FAILURE_CODES as readonly string[]).includes(outcome.errorCode)) {
    throw invalidInput(`${where}errorCode must be one of ${AGENT_FAILURE_CODES.join(", ")}; got '${outcome.errorCode}'`, { field: "errorCode", ...details });
  }
}

type LockedRequest = TransferRow & { lease: string | null; leaseExpired: boolean | null; fileBytes: number | null; adler32: string | null; md5: string | null; rse: string; facility: string };

/**
 * Records an agent's reports on the requests it claimed, many in one transaction (a night of
 * raws is not one call, one transaction and one refresh of the rule per file). Every item is
 * checked before anything is written: an outcome that is not DONE or FAILED, a failure reason
 * that is not one of the agent's, or a request reported twice refuses the whole call
 * (INVALID_INPUT, naming the item). Then each item is taken or refused on its own, under the
 * rules of a single report: a request that does not exist or whose destination is not at one of
 * `facilities` (null: any) is TRANSFER_NOT_FOUND; one whose lease is not the current one,
 * unexpired and held by this agent is LEASE_LOST (the request went, or will go, back to the
 * queue, and another agent may have it), whether or not the reaper has returned it to the queue
 * yet. A DONE report makes the replica AVAILABLE only when size and checksums match the file;
 * a failure retries with backoff and, past the attempt limit, leaves the locks and rules STUCK.
 * The rules behind the taken items are refreshed once, at the end. Results come in the order asked.
 */
export async function reportTransfers(
  db: EntityManager,
  reports: readonly TransferReportItem[],
  agent: string,
  facilities: string[] | null,
  settings: TransferSettings,
): Promise<TransferReportResult[]> {
  if (!Array.isArray(reports)) throw invalidInput("reports must be a list", { argument: "reports" });
  if (reports.length > MAX_REPORTS_PER_CALL) throw invalidInput(`at most ${MAX_REPORTS_PER_CALL} reports per call; got ${reports.length}`, { argument: "reports" });
  const seen = new Set<string>();
  reports.forEach((r, i) => {
    const where = reports.length > 1 ? `item ${i}: ` : "";
    checkOutcome(r.outcome, where, reports.length > 1 ? { item: i } : {});
    const key = String(r.id).toLowerCase();
    if (seen.has(key)) throw invalidInput(`${where}request ${r.id} is reported twice in one call`, { item: i, field: "id" });
    seen.add(key);
  });
  if (!reports.length) return [];
  const lower = facilities?.map((f) => f.toLowerCase()) ?? null;
  return db.transaction(async (tx) => {
    // Locked in id order, so two concurrent calls over the same requests cannot deadlock.
    const rows: LockedRequest[] = await tx.query(
      `SELECT ${TRANSFER_COLUMNS}, t.lease, (t.lease_expires_at < now()) AS "leaseExpired", d.bytes AS "fileBytes", d.adler32, d.md5, s.name AS rse, s.facility
       FROM transfer_requests t JOIN dids d ON d.scope = t.scope AND d.name = t.name JOIN rses s ON s.id = t.dest_rse_id
       WHERE t.id = ANY($1::uuid[]) AND ($2::text[] IS NULL OR lower(s.facility) = ANY($2::text[]))
       ORDER BY t.id FOR UPDATE OF t`,
      [reports.filter((r) => isUuid(r.id)).map((r) => r.id.toLowerCase()), lower],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const results: TransferReportResult[] = [];
    const done: Array<{ req: LockedRequest; bytes: number }> = [];
    const failed: Array<{ req: LockedRequest; code: string; message: string }> = [];
    for (const r of reports) {
      // A request of another facility is not found, exactly as an unknown id: an agent learns nothing of other facilities' ids.
      const req = isUuid(r.id) ? byId.get(r.id.toLowerCase()) : undefined;
      if (!req) {
        results.push({ id: r.id, request: null, error: { code: ErrorCode.TRANSFER_NOT_FOUND, message: `transfer request ${r.id} does not exist`, details: { request: r.id } } });
        continue;
      }
      const lease = typeof r.lease === "string" ? r.lease.toLowerCase() : "";
      if (req.state !== "SUBMITTED" || !isUuid(lease) || req.lease !== lease || req.leaseExpired || req.claimedBy !== agent) {
        const why = req.state === "SUBMITTED" && req.lease === lease ? (req.claimedBy !== agent ? "another agent holds it" : "the lease ran out") : `state ${req.state}`;
        results.push({
          id: r.id,
          request: null,
          error: {
            code: ErrorCode.LEASE_LOST,
            message: `request ${r.id} is no longer held with this lease (${why}); drop the work, it will be handed out again`,
            details: { request: r.id, state: req.state },
          },
        });
        continue;
      }
      results.push({ id: r.id, request: null, error: null });
      // A file whose size the catalog does not know (an LFA file announced without byteSize): its
      // first copy from the origin records size and checksums, under a lock on the DID, so copies
      // reported at once (in this call or another) are all checked against what the first recorded.
      let unknownSize = false;
      if (r.outcome.outcome === "DONE" && req.fileBytes === null) {
        const [file] = await tx.query(`SELECT bytes AS "fileBytes", adler32, md5 FROM dids WHERE scope = $1 AND name = $2 FOR UPDATE`, [req.scope, req.name]);
        Object.assign(req, file);
        unknownSize = req.fileBytes === null;
      }
      const mismatch = r.outcome.outcome === "DONE" ? verify({ bytes: req.fileBytes, adler32: req.adler32, md5: req.md5 }, r.outcome) : null;
      if (r.outcome.outcome === "DONE" && !mismatch) {
        if (unknownSize) await recordFirstCopy(tx, req, r.outcome);
        done.push({ req, bytes: Number(r.outcome.bytes) });
      } else {
        const code = mismatch ? ErrorCode.CHECKSUM_MISMATCH : (r.outcome.errorCode ?? ErrorCode.TRANSFER_ERROR);
        const message = mismatch ? `CHECKSUM_MISMATCH: ${mismatch}` : (r.outcome.error || "the agent reported a failure without a message").slice(0, 4000);
        failed.push({ req, code, message });
      }
    }
    const payload = `${rucioTransferFields()} || jsonb_build_object('request', t.id, 'rse', s.name, 'facility', s.facility,
                      'source', src.name, 'attempts', t.attempts, 'error', t.last_error, 'errorCode', t.error_code,
                      'rules', ${RULES_OF_REQUEST_JSON})`;
    const eventFrom = (where: string) => `FROM transfer_requests t JOIN rses s ON s.id = t.dest_rse_id LEFT JOIN rses src ON src.id = t.source_rse_id
                       JOIN dids d ON d.scope = t.scope AND d.name = t.name WHERE ${where}`;
    if (done.length) {
      // Set-based: the requests DONE, their destination replicas AVAILABLE with the size written, their locks OK.
      const ids = done.map((d) => d.req.id);
      await tx.query(
        `UPDATE transfer_requests SET state = 'DONE', lease = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now(),
           last_error = NULL, error_code = NULL WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      await tx.query(
        `UPDATE replicas r SET state = 'AVAILABLE', bytes = x.bytes, updated_at = now()
         FROM unnest($1::uuid[], $2::bigint[]) AS x(id, bytes) JOIN transfer_requests t ON t.id = x.id
         WHERE r.scope = t.scope AND r.name = t.name AND r.rse_id = t.dest_rse_id`,
        [ids, done.map((d) => d.bytes)],
      );
      await tx.query(
        `UPDATE locks l SET state = 'OK', updated_at = now() FROM transfer_requests t
         WHERE t.id = ANY($1::uuid[]) AND l.scope = t.scope AND l.name = t.name AND l.rse_id = t.dest_rse_id AND l.state <> 'OK'`,
        [ids],
      );
      await appendEventsFrom(tx, "transfer-done", `SELECT s.facility, ${payload} AS payload ${eventFrom("t.id = ANY($1::uuid[])")} ORDER BY t.id`, [ids]);
    }
    for (const { req, code, message } of failed) {
      const attempts = req.attempts + 1;
      const final = attempts >= settings.maxAttempts;
      await tx.query(
        `UPDATE transfer_requests SET attempts = $2, last_error = $3, error_code = $4, lease = NULL, lease_expires_at = NULL,
           claimed_by = NULL, updated_at = now(),
           state = CASE WHEN $5 THEN 'FAILED'::request_state ELSE 'QUEUED'::request_state END,
           finished_at = CASE WHEN $5 THEN now() ELSE NULL END,
           next_attempt_at = now() + make_interval(secs => $6)
         WHERE id = $1`,
        [req.id, attempts, message, code, final, settings.backoffSeconds * 2 ** (attempts - 1)],
      );
      await appendEventsFrom(
        tx,
        "transfer-failed",
        `SELECT s.facility, ${payload} || jsonb_build_object('final', $2::boolean) AS payload ${eventFrom("t.id = $1")}`,
        [req.id, final],
      );
      if (final) {
        await tx.query(
          `UPDATE locks SET state = 'STUCK', updated_at = now() WHERE scope = $1 AND name = $2 AND rse_id = $3 AND state = 'REPLICATING'`,
          [req.scope, req.name, req.destRseId],
        );
        await tx.query(
          `UPDATE rules SET error = $4 WHERE id IN (SELECT rule_id FROM locks WHERE scope = $1 AND name = $2 AND rse_id = $3 AND state = 'STUCK')`,
          [req.scope, req.name, req.destRseId, `${req.scope}:${req.name} to ${req.rse}: ${message}`],
        );
      }
    }
    const taken = [...done.map((d) => d.req.id), ...failed.map((f) => f.req.id)];
    if (!taken.length) return results;
    await refreshRules(
      tx,
      `SELECT l.rule_id FROM locks l JOIN transfer_requests t ON l.scope = t.scope AND l.name = t.name AND l.rse_id = t.dest_rse_id WHERE t.id = ANY($1::uuid[])`,
      [taken],
    );
    const now: TransferRow[] = await tx.query(`SELECT ${TRANSFER_COLUMNS} FROM transfer_requests t WHERE t.id = ANY($1::uuid[])`, [taken]);
    const after = new Map(now.map((r) => [r.id, r]));
    for (const r of results) if (!r.error) r.request = after.get(r.id.toLowerCase()) ?? null;
    return results;
  });
}

/**
 * Records an agent's report on one claimed request (reportTransfers with one item; the caller has
 * checked the request's facility): the request as it is now, or TRANSFER_NOT_FOUND / LEASE_LOST.
 */
export async function reportTransfer(db: EntityManager, id: string, lease: string, agent: string, outcome: TransferOutcome, settings: TransferSettings): Promise<TransferRow> {
  const [result] = await reportTransfers(db, [{ id, lease, outcome }], agent, null, settings);
  if (result.error) throw new DbbError(result.error.code, result.error.message, result.error.details);
  return result.request!;
}

/**
 * The requests among `ids` that `agent` holds right now for one of `facilities` (claimed by it,
 * SUBMITTED, lease unexpired), in the order asked, null for every other id: what a source
 * facility asks before it signs a read URL for an agent of another facility.
 */
export async function heldTransfers(db: EntityManager, ids: readonly string[], agent: string, facilities: string[]): Promise<Array<TransferRow | null>> {
  if (ids.length > 10000) throw invalidInput("at most 10000 ids per call", { argument: "ids" });
  const rows: TransferRow[] = await db.query(
    `SELECT ${TRANSFER_COLUMNS} FROM transfer_requests t JOIN rses d ON d.id = t.dest_rse_id
     WHERE t.id = ANY($1::uuid[]) AND t.state = 'SUBMITTED' AND t.lease_expires_at >= now() AND t.claimed_by = $2
       AND lower(d.facility) = ANY($3::text[])`,
    [ids.filter((i) => isUuid(i)), agent, facilities.map((f) => f.toLowerCase())],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
}

export async function transfersById(db: EntityManager, ids: readonly string[]): Promise<TransferRow[]> {
  return db.query(`SELECT ${TRANSFER_COLUMNS} FROM transfer_requests t WHERE t.id = ANY($1::uuid[])`, [ids.filter((i) => isUuid(i))]);
}

export interface TransferFilter {
  state?: RequestState | null;
  destinationRse?: string | null;
  sourceRse?: string | null;
  facility?: string | null;
  scope?: string | null;
  name?: string | null;
  ruleId?: string | null;
  first?: number | null;
  after?: string | null;
}

/** Transfer requests by state, RSEs, facility, DID and rule; newest first. */
export async function listTransfers(db: EntityManager, filter: TransferFilter): Promise<Page<TransferRow>> {
  const where = new SqlFilter();
  if (filter.state) where.add((p) => `t.state = ${p}`, filter.state);
  if (filter.destinationRse) where.add((p) => `d.name = ${p}`, filter.destinationRse);
  if (filter.sourceRse) where.add((p) => `t.source_rse_id IN (SELECT id FROM rses WHERE name = ${p})`, filter.sourceRse);
  if (filter.facility) where.add((p) => `lower(d.facility) = lower(${p})`, filter.facility);
  if (filter.scope) where.add((p) => `t.scope = ${p}`, filter.scope);
  if (filter.name) where.add((p) => `t.name = ${p}`, filter.name);
  if (filter.ruleId) {
    if (!isUuid(filter.ruleId)) throw invalidInput(`ruleId must be a rule id (UUID)`, { argument: "ruleId" });
    // The rule that first asked for the copy, or any rule holding a lock on its destination replica (a shared request).
    where.add(
      (p) => `(t.rule_id = ${p}::uuid OR (t.scope, t.name, t.dest_rse_id) IN (SELECT l.scope, l.name, l.rse_id FROM locks l WHERE l.rule_id = ${p}::uuid))`,
      filter.ruleId,
    );
  }
  return keysetPage<TransferRow>(db, {
    select: `SELECT ${TRANSFER_COLUMNS}`,
    from: "FROM transfer_requests t JOIN rses d ON d.id = t.dest_rse_id",
    filter: where,
    orderBy: "t.created_at DESC, t.id DESC",
    after: filter.after ? { key: decodeCursor(filter.after, ["time", "uuid"]), sql: (at, id) => `(t.created_at, t.id) < (${at}::timestamptz, ${id}::uuid)` } : null,
    first: filter.first,
    keyOf: (r) => [r.cursorAt, r.id],
  });
}

/** One page of the requests to each of many destination RSEs (newest first), in one statement. */
export async function transfersToRses(
  db: EntityManager,
  rseIds: readonly string[],
  state: RequestState | null,
  limit: number,
  after: [string, string] | null,
): Promise<TransferRow[]> {
  return db.query(
    `SELECT * FROM (
       SELECT ${TRANSFER_COLUMNS}, row_number() OVER (PARTITION BY t.dest_rse_id ORDER BY t.created_at DESC, t.id DESC) AS rn
       FROM transfer_requests t WHERE t.dest_rse_id = ANY($1::uuid[]) AND ($2::request_state IS NULL OR t.state = $2)
         AND ($3::timestamptz IS NULL OR (t.created_at, t.id) < ($3::timestamptz, $4::uuid))) x
     WHERE rn <= $5 ORDER BY "createdAt" DESC, id DESC`,
    [rseIds, state, after?.[0] ?? null, after?.[1] ?? null, limit + 1],
  );
}

export async function countTransfersToRses(db: EntityManager, rseIds: readonly string[], state: RequestState | null): Promise<Array<{ rseId: string; n: number }>> {
  return db.query(
    `SELECT dest_rse_id AS "rseId", count(*) AS n FROM transfer_requests
     WHERE dest_rse_id = ANY($1::uuid[]) AND ($2::request_state IS NULL OR state = $2) GROUP BY 1`,
    [rseIds, state],
  );
}
