import type { EntityManager } from "typeorm";
import { invalidInput } from "../../../lib/errors";

/**
 * How ingest on arrival is going at this facility: the files waiting (PENDING) or failed (FAILED,
 * by error code; those given up after the last attempt apart), which are few and counted from a
 * partial index, and the files ingested (or found not to be Butler datasets) within the last
 * hours. One statement, whatever the number of arrivals.
 */
export const MAX_SUMMARY_HOURS = 168;

export interface ArrivalSummary {
  hours: number;
  pending: number;
  failed: number;
  /** Of the failed, those with no attempt left (they stay FAILED until delivered again). */
  givenUp: number;
  ingested: number;
  notADataset: number;
  /** FAILED files by error code, most first. */
  failures: Array<{ code: string; count: number }>;
  /** When the longest-waiting PENDING or FAILED file arrived. */
  oldestOpen: Date | null;
}

export async function arrivalSummary(db: EntityManager, hours: number): Promise<ArrivalSummary> {
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_SUMMARY_HOURS) {
    throw invalidInput(`hours must be a whole number from 1 to ${MAX_SUMMARY_HOURS}, got ${hours}`, { argument: "hours" });
  }
  const rows: Array<{ state: string; code: string | null; n: number; givenUp: number; oldest: Date | null }> = await db.query(
    `SELECT state::text AS state, error_code AS code, count(*)::float8 AS n,
       count(*) FILTER (WHERE state = 'FAILED' AND next_attempt_at IS NULL)::float8 AS "givenUp", min(arrived_at) AS oldest
     FROM arrivals WHERE state IN ('PENDING', 'FAILED') GROUP BY state, error_code
     UNION ALL
     SELECT state::text, NULL, count(*)::float8, 0, NULL
     FROM arrivals WHERE updated_at >= now() - make_interval(hours => $1) AND state IN ('INGESTED', 'NOT_A_DATASET') GROUP BY state`,
    [hours],
  );
  const summary: ArrivalSummary = { hours, pending: 0, failed: 0, givenUp: 0, ingested: 0, notADataset: 0, failures: [], oldestOpen: null };
  for (const r of rows) {
    if (r.state === "PENDING") summary.pending += r.n;
    else if (r.state === "INGESTED") summary.ingested += r.n;
    else if (r.state === "NOT_A_DATASET") summary.notADataset += r.n;
    else {
      summary.failed += r.n;
      summary.givenUp += r.givenUp;
      summary.failures.push({ code: r.code ?? "INGEST_FAILED", count: r.n });
    }
    if (r.oldest && (!summary.oldestOpen || r.oldest < summary.oldestOpen)) summary.oldestOpen = r.oldest;
  }
  summary.failures.sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  return summary;
}
