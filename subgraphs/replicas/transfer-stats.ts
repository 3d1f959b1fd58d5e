import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";

/**
 * How transfers are going, in aggregate: per destination facility (what waits, what runs, what
 * finished within a window) and per link, source facility → destination facility, the outcomes of
 * the agents' attempts over the last hours in time buckets, with the failures by code. What the
 * status page shows; each is one or two statements whatever the number of facilities, transfers
 * or buckets.
 *
 * Links come from the event log (`transfer-done`, `transfer-failed`: one per attempt, with the
 * source and destination RSE and the file's size), so an attempt that failed and was retried
 * counts as a failure on its link. Facility counts come from the requests themselves.
 */

/** The longest window asked (a week) and the most buckets one link carries. */
export const MAX_WINDOW_HOURS = 168;
export const MAX_BUCKETS = 500;

export interface FacilityTransferCounts {
  facility: string;
  /** QUEUED, never attempted. */
  queued: number;
  /** QUEUED again after a failed attempt, waiting out the backoff. */
  retrying: number;
  /** SUBMITTED: an agent holds it. */
  active: number;
  /** DONE within the window. */
  done: number;
  /** Bytes of the requests DONE within the window. */
  bytes: number;
  /** FAILED (attempts exhausted) within the window. */
  failed: number;
}

export function checkWindowHours(hours: number): number {
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_WINDOW_HOURS) {
    throw invalidInput(`hours must be a whole number from 1 to ${MAX_WINDOW_HOURS}, got ${hours}`, { argument: "hours" });
  }
  return hours;
}

/** Per destination facility (matched regardless of case, returned as registered): requests waiting, running, and finished within the last `hours`. */
export async function transferCountsOfFacilities(db: EntityManager, codes: readonly string[], hours: number): Promise<FacilityTransferCounts[]> {
  checkWindowHours(hours);
  return db.query(
    `SELECT s.facility,
       count(*) FILTER (WHERE t.state = 'QUEUED' AND t.attempts = 0)::int AS queued,
       count(*) FILTER (WHERE t.state = 'QUEUED' AND t.attempts > 0)::int AS retrying,
       count(*) FILTER (WHERE t.state = 'SUBMITTED')::int AS active,
       count(*) FILTER (WHERE t.state = 'DONE')::int AS done,
       coalesce(sum(t.bytes) FILTER (WHERE t.state = 'DONE'), 0)::float8 AS bytes,
       count(*) FILTER (WHERE t.state = 'FAILED')::int AS failed
     FROM (
       SELECT dest_rse_id, state, attempts, bytes FROM transfer_requests WHERE state IN ('QUEUED', 'SUBMITTED')
       UNION ALL
       SELECT dest_rse_id, state, attempts, bytes FROM transfer_requests
        WHERE finished_at >= now() - make_interval(hours => $2) AND state IN ('DONE', 'FAILED')
     ) t JOIN rses s ON s.id = t.dest_rse_id
     WHERE lower(s.facility) = ANY($1::text[])
     GROUP BY s.facility`,
    [codes.map((c) => c.toLowerCase()), hours],
  );
}

export interface TransferLink {
  /** Source facility (null when the attempt had no source yet or its RSE is gone). */
  source: string | null;
  destination: string;
  done: number;
  bytes: number;
  failed: number;
  /** Failed attempts by the agent's reason (CHECKSUM_MISMATCH, SOURCE_MISSING, …), most first. */
  errors: Array<{ code: string; count: number }>;
  /** Per bucket, oldest first: attempts DONE, their bytes, attempts FAILED. */
  doneSeries: number[];
  bytesSeries: number[];
  failedSeries: number[];
}

export interface TransferLinks {
  /** Start of the first bucket (a multiple of the bucket length since the Unix epoch). */
  since: Date;
  /** The end of the last bucket: now, rounded up to the bucket. */
  until: Date;
  bucketSeconds: number;
  buckets: number;
  links: TransferLink[];
}

/**
 * Transfer attempts per link over the last `hours` (rounded out to whole buckets of
 * `bucketMinutes`), from the event log: two statements.
 */
export async function transferLinks(db: EntityManager, opts: { hours: number; bucketMinutes: number }): Promise<TransferLinks> {
  const hours = checkWindowHours(opts.hours);
  const bucketMinutes = opts.bucketMinutes;
  if (!Number.isInteger(bucketMinutes) || bucketMinutes < 1 || bucketMinutes > 24 * 60) {
    throw invalidInput(`bucketMinutes must be a whole number from 1 to 1440, got ${bucketMinutes}`, { argument: "bucketMinutes" });
  }
  const bucketSeconds = bucketMinutes * 60;
  const buckets = Math.ceil((hours * 3600) / bucketSeconds);
  if (buckets > MAX_BUCKETS) {
    throw invalidInput(`${hours} hours in buckets of ${bucketMinutes} minutes makes ${buckets} buckets; at most ${MAX_BUCKETS}`, { argument: "bucketMinutes" });
  }
  // The window ends with the bucket that holds now; it starts `buckets` buckets earlier.
  const window = `(SELECT to_timestamp((floor(extract(epoch FROM now())::float8 / $1::float8) + 1 - $2::float8) * $1::float8) AS since)`;
  const from = `FROM events e CROSS JOIN ${window} w
    LEFT JOIN rses src ON src.name = e.payload ->> 'src-rse' AND NOT src.deleted
    WHERE e.type IN ('transfer-done', 'transfer-failed') AND e.created_at >= w.since`;
  const rows: Array<{ source: string | null; destination: string; bucket: number; done: number; bytes: number; failed: number; since: Date }> = await db.query(
    `SELECT src.facility AS source, e.facility AS destination, w.since,
       floor(extract(epoch FROM e.created_at - w.since)::float8 / $1::float8)::int AS bucket,
       count(*) FILTER (WHERE e.type = 'transfer-done')::int AS done,
       coalesce(sum(CASE WHEN jsonb_typeof(e.payload -> 'bytes') = 'number' THEN (e.payload ->> 'bytes')::float8 END)
                FILTER (WHERE e.type = 'transfer-done'), 0)::float8 AS bytes,
       count(*) FILTER (WHERE e.type = 'transfer-failed')::int AS failed
     ${from}
     GROUP BY 1, 2, 3, 4
     UNION ALL
     SELECT NULL, NULL, w.since, NULL, 0, 0, 0 FROM ${window} w`,
    [bucketSeconds, buckets],
  );
  const errors: Array<{ source: string | null; destination: string; code: string; count: number }> = await db.query(
    `SELECT src.facility AS source, e.facility AS destination, coalesce(e.payload ->> 'errorCode', 'TRANSFER_ERROR') AS code, count(*)::int AS count
     ${from} AND e.type = 'transfer-failed'
     GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 3`,
    [bucketSeconds, buckets],
  );
  const since = new Date(rows[rows.length - 1].since);
  const links = new Map<string, TransferLink>();
  const linkOf = (source: string | null, destination: string) => {
    const key = `${source}\u0000${destination}`;
    let link = links.get(key);
    if (!link) {
      const zeros = () => new Array<number>(buckets).fill(0);
      link = { source, destination, done: 0, bytes: 0, failed: 0, errors: [], doneSeries: zeros(), bytesSeries: zeros(), failedSeries: zeros() };
      links.set(key, link);
    }
    return link;
  };
  for (const r of rows) {
    if (r.destination === null || r.bucket === null) continue;
    const link = linkOf(r.source, r.destination);
    const b = Math.min(buckets - 1, Math.max(0, r.bucket));
    link.done += r.done;
    link.bytes += r.bytes;
    link.failed += r.failed;
    link.doneSeries[b] += r.done;
    link.bytesSeries[b] += r.bytes;
    link.failedSeries[b] += r.failed;
  }
  for (const e of errors) if (e.destination !== null) linkOf(e.source, e.destination).errors.push({ code: e.code, count: e.count });
  const ordered = [...links.values()].sort(
    (a, b) => (a.source ?? "").localeCompare(b.source ?? "") || a.destination.localeCompare(b.destination),
  );
  return { since, until: new Date(since.getTime() + buckets * bucketSeconds * 1000), bucketSeconds, buckets, links: ordered };
}
