import type { EntityManager } from "typeorm";
import { invalidInput } from "../../../lib/errors";
import { removeDatasets } from "../removal";

/**
 * The other end of ingest on arrival: when the facility's agent deletes a file, the Butler dataset
 * that was ingested from it goes too (daf_butler's prune-datasets --purge), so the registry and
 * the storage agree. Idempotent: a file told twice, or never ingested, removes nothing more.
 */
export interface DepartureResult {
  files: number;
  datasetsRemoved: number;
}

export const MAX_DEPARTURES_PER_CALL = 10_000;

export async function recordDepartures(db: EntityManager, files: Array<{ scope: string; name: string }>): Promise<DepartureResult> {
  if (files.length > MAX_DEPARTURES_PER_CALL) throw invalidInput(`at most ${MAX_DEPARTURES_PER_CALL} files per call`, { argument: "files" });
  files.forEach((f, item) => {
    if (typeof f.scope !== "string" || !f.scope || typeof f.name !== "string" || !f.name) throw invalidInput(`item ${item}: scope and name are needed`, { item, argument: "files" });
  });
  const scopes = files.map((f) => f.scope);
  const names = files.map((f) => f.name);
  const rows: Array<{ id: string }> = await db.query(
    `SELECT a.dataset_id::text AS id FROM arrivals a JOIN unnest($1::text[], $2::text[]) AS k(scope, name) ON a.scope = k.scope AND a.name = k.name
     WHERE a.dataset_id IS NOT NULL`,
    [scopes, names],
  );
  // The datasets first, then the arrival records: a retry after a crash in between finds the
  // records still there and removes nothing twice.
  const removed = rows.length ? await removeDatasets(db, rows.map((r) => r.id)) : { datasets: 0 };
  await db.query(`DELETE FROM arrivals a USING unnest($1::text[], $2::text[]) AS k(scope, name) WHERE a.scope = k.scope AND a.name = k.name`, [scopes, names]);
  return { files: files.length, datasetsRemoved: removed.datasets };
}
