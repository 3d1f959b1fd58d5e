import type { EntityManager } from "typeorm";

/**
 * What an RSE holds: its AVAILABLE replicas (files, bytes) and those being copied there
 * (Rucio's rse_usage, computed when asked). One statement for any number of RSEs; it reads every
 * replica of the RSEs asked, so on an RSE of many millions of files it is a scan (Rucio keeps
 * counters updated by its abacus daemon for that).
 */
export interface RseUsageRow {
  rseId: string;
  files: number;
  bytes: number;
  copyingFiles: number;
  copyingBytes: number;
}

export async function rseUsages(db: EntityManager, rseIds: readonly string[]): Promise<RseUsageRow[]> {
  return db.query(
    `SELECT rse_id AS "rseId",
       count(*) FILTER (WHERE state = 'AVAILABLE')::float8 AS files,
       coalesce(sum(bytes) FILTER (WHERE state = 'AVAILABLE'), 0)::float8 AS bytes,
       count(*) FILTER (WHERE state = 'COPYING')::float8 AS "copyingFiles",
       coalesce(sum(bytes) FILTER (WHERE state = 'COPYING'), 0)::float8 AS "copyingBytes"
     FROM replicas WHERE rse_id = ANY($1::uuid[]) AND state IN ('AVAILABLE', 'COPYING')
     GROUP BY rse_id`,
    [rseIds],
  );
}
