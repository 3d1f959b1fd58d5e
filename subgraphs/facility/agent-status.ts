import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";

/**
 * The facility's transfer agents as they report themselves (Rucio's heartbeats, per worker): each
 * agent process sends its state every few seconds; one that stopped cleanly says so; one that
 * died keeps its last report and shows as LATE after three report intervals. Leases on the work
 * itself are per item, in the catalog; this is what an operator looks at.
 */
export type AgentState = "ALIVE" | "LATE" | "STOPPED";

export interface AgentError {
  code: string;
  message: string;
  at: string;
}

export interface AgentStatusInput {
  /** Stable for the process: `<subject>@<host>:<pid>`. */
  id: string;
  host: string;
  pid: number;
  version: string;
  streams: number;
  activeTransfers: number;
  bytesPerSecond: number;
  bytesTotal: number;
  transfersDone: number;
  transfersFailed: number;
  deletionsDone: number;
  recentErrors: AgentError[];
  reportSeconds: number;
  stopped?: boolean | null;
}

export interface AgentRow extends Omit<AgentStatusInput, "stopped" | "recentErrors"> {
  subject: string;
  state: AgentState;
  startedAt: Date;
  lastSeen: Date;
  stoppedAt: Date | null;
  recentErrors: AgentError[];
}

const AGENT_COLUMNS = `id, subject, host, pid, version, streams, active_transfers AS "activeTransfers", bytes_per_second AS "bytesPerSecond",
  bytes_total::float8 AS "bytesTotal", transfers_done::float8 AS "transfersDone", transfers_failed::float8 AS "transfersFailed",
  deletions_done::float8 AS "deletionsDone", recent_errors AS "recentErrors", report_seconds AS "reportSeconds",
  started_at AS "startedAt", last_seen AS "lastSeen", stopped_at AS "stoppedAt",
  CASE WHEN stopped_at IS NOT NULL THEN 'STOPPED' WHEN last_seen < now() - make_interval(secs => 3 * report_seconds) THEN 'LATE' ELSE 'ALIVE' END AS state`;

/** At most this many recent errors are kept per agent. */
export const MAX_RECENT_ERRORS = 20;

function check(input: AgentStatusInput): void {
  if (!/^[\x21-\x7e]{1,200}$/.test(input.id)) throw invalidInput("id must be 1-200 printable characters without spaces", { field: "id" });
  if (!input.host || input.host.length > 255) throw invalidInput("host must be 1-255 characters", { field: "host" });
  for (const [key, value] of Object.entries({ pid: input.pid, streams: input.streams, activeTransfers: input.activeTransfers })) {
    if (!Number.isInteger(value) || value < 0 || value > 1e9) throw invalidInput(`${key} must be a whole number ≥ 0`, { field: key });
  }
  for (const [key, value] of Object.entries({
    bytesPerSecond: input.bytesPerSecond,
    bytesTotal: input.bytesTotal,
    transfersDone: input.transfersDone,
    transfersFailed: input.transfersFailed,
    deletionsDone: input.deletionsDone,
  })) {
    if (!Number.isFinite(value) || value < 0) throw invalidInput(`${key} must be a number ≥ 0`, { field: key });
  }
  if (!(input.reportSeconds >= 1 && input.reportSeconds <= 3600)) throw invalidInput("reportSeconds must be 1 to 3600", { field: "reportSeconds" });
  if (input.recentErrors.length > MAX_RECENT_ERRORS) throw invalidInput(`at most ${MAX_RECENT_ERRORS} recent errors`, { field: "recentErrors" });
  for (const e of input.recentErrors) {
    if (!e.code || e.code.length > 64 || e.message.length > 2000 || Number.isNaN(Date.parse(e.at))) {
      throw invalidInput("each recent error needs a code (≤ 64 characters), a message (≤ 2000) and an ISO time `at`", { field: "recentErrors" });
    }
  }
}

/** Records an agent's report (creating its row on the first), as the token's subject. */
export async function reportAgentStatus(db: EntityManager, subject: string, input: AgentStatusInput): Promise<AgentRow> {
  check(input);
  const rows: AgentRow[] = await db.query(
    `INSERT INTO agents AS a (id, subject, host, pid, version, streams, active_transfers, bytes_per_second, bytes_total,
                         transfers_done, transfers_failed, deletions_done, recent_errors, report_seconds, stopped_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, CASE WHEN $15 THEN now() END)
     ON CONFLICT (id) DO UPDATE SET subject = EXCLUDED.subject, host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version,
       streams = EXCLUDED.streams, active_transfers = EXCLUDED.active_transfers, bytes_per_second = EXCLUDED.bytes_per_second,
       bytes_total = EXCLUDED.bytes_total, transfers_done = EXCLUDED.transfers_done, transfers_failed = EXCLUDED.transfers_failed,
       deletions_done = EXCLUDED.deletions_done, recent_errors = EXCLUDED.recent_errors, report_seconds = EXCLUDED.report_seconds,
       stopped_at = EXCLUDED.stopped_at, last_seen = now()
     RETURNING ${AGENT_COLUMNS}`,
    [
      input.id,
      subject,
      input.host,
      input.pid,
      input.version,
      input.streams,
      input.activeTransfers,
      input.bytesPerSecond,
      Math.round(input.bytesTotal),
      Math.round(input.transfersDone),
      Math.round(input.transfersFailed),
      Math.round(input.deletionsDone),
      JSON.stringify(input.recentErrors),
      input.reportSeconds,
      input.stopped ?? false,
    ],
  );
  // Agents that went away more than a day ago are forgotten.
  await db.query(`DELETE FROM agents WHERE last_seen < now() - interval '1 day'`);
  return rows[0];
}

/** Every agent that reported in the last day, newest first. */
export async function listAgents(db: EntityManager): Promise<AgentRow[]> {
  return db.query(`SELECT ${AGENT_COLUMNS} FROM agents ORDER BY started_at DESC, id`);
}
