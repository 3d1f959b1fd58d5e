import type { EntityManager } from "typeorm";
import { invalidInput } from "../../../lib/errors";
import { removeDatasets, removeRuns } from "../removal";

/**
 * The other end of ingest on arrival: when the facility's agent deletes a file, the Butler datasets
 * recorded for it (ingested from it on arrival, or imported with its DID) go too (daf_butler's
 * prune-datasets --purge), so the registry and the storage agree. A file deleted for a campaign
 * removal of the catalog names the removal: what it takes is counted toward that removal
 * (`removal_progress`), and a run it empties is removed, from its chains too.
 * Idempotent: a file told twice, or never ingested, removes nothing more.
 */
export interface Departure {
  scope: string;
  name: string;
  /** The catalog's campaign removal the file was deleted for, if any. */
  removal?: string | null;
}

export interface RemovalTotals {
  removal: string;
  datasetsRemoved: number;
  runsRemoved: number;
  collectionsRemoved: number;
}

export interface DepartureResult {
  files: number;
  datasetsRemoved: number;
  /** Per campaign removal named in the call: what this registry removed for it so far (totals). */
  removals: RemovalTotals[];
}

export const MAX_DEPARTURES_PER_CALL = 10_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkDepartures(files: Departure[]): void {
  if (!Array.isArray(files)) throw invalidInput("files must be a list of {scope, name}", { argument: "files" });
  if (files.length > MAX_DEPARTURES_PER_CALL) throw invalidInput(`at most ${MAX_DEPARTURES_PER_CALL} files per call`, { argument: "files" });
  files.forEach((f, item) => {
    if (typeof f.scope !== "string" || !f.scope || typeof f.name !== "string" || !f.name) throw invalidInput(`item ${item}: scope and name are needed`, { item, argument: "files" });
    if (f.removal != null && (typeof f.removal !== "string" || !UUID_RE.test(f.removal))) {
      throw invalidInput(`item ${item}: removal must be the id of a catalog removal (a UUID)`, { item, argument: "files" });
    }
  });
}

export async function recordDepartures(db: EntityManager, files: Departure[]): Promise<DepartureResult> {
  checkDepartures(files);
  const scopes = files.map((f) => f.scope);
  const names = files.map((f) => f.name);
  const removals = files.map((f) => (f.removal ? f.removal.toLowerCase() : null));
  return db.transaction(async (tx) => {
    // The datasets of the departed files, each with the removal it goes for (the first file naming one wins).
    const rows: Array<{ id: string; removal: string | null; runId: number }> = await tx.query(
      `WITH k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[]) AS k(scope, name, removal)),
       linked AS (
         SELECT a.dataset_id AS id, k.removal FROM arrivals a JOIN k ON a.scope = k.scope AND a.name = k.name WHERE a.dataset_id IS NOT NULL
         UNION ALL
         SELECT fr.dataset_id, k.removal FROM file_records fr JOIN k ON fr.did_scope = k.scope AND fr.did_name = k.name)
       SELECT DISTINCT ON (l.id) l.id::text AS id, l.removal::text AS removal, d.run_id AS "runId"
       FROM linked l JOIN datasets d ON d.id = l.id ORDER BY l.id, l.removal NULLS LAST`,
      [scopes, names, removals],
    );
    const removed = rows.length ? await removeDatasets(tx, rows.map((r) => r.id)) : { datasets: 0 };
    await tx.query(`DELETE FROM arrivals a USING unnest($1::text[], $2::text[]) AS k(scope, name) WHERE a.scope = k.scope AND a.name = k.name`, [scopes, names]);
    const named = [...new Set(removals.filter((r): r is string => r !== null))];
    for (const removal of named) {
      const mine = rows.filter((r) => r.removal === removal);
      // The runs this removal emptied go (from their chains too), as `butler remove-runs --force`.
      const emptied: Array<{ name: string }> = await tx.query(
        `SELECT c.name FROM collections c WHERE c.id = ANY($1::int[]) AND c.type = 'RUN' AND NOT EXISTS (SELECT 1 FROM datasets d WHERE d.run_id = c.id)`,
        [[...new Set(mine.map((r) => r.runId))]],
      );
      const runs = emptied.length ? (await removeRuns(tx, emptied.map((e) => e.name), { force: true })).runs : 0;
      await addProgress(tx, removal, { datasets: mine.length, runs, collections: 0 });
    }
    return { files: files.length, datasetsRemoved: removed.datasets, removals: await progressOf(tx, named) };
  });
}

/** Adds to what this registry removed for a catalog removal. */
export async function addProgress(tx: EntityManager, removal: string, n: { datasets: number; runs: number; collections: number }): Promise<void> {
  await tx.query(
    `INSERT INTO removal_progress (removal_id, datasets_removed, runs_removed, collections_removed) VALUES ($1, $2, $3, $4)
     ON CONFLICT (removal_id) DO UPDATE SET datasets_removed = removal_progress.datasets_removed + $2,
       runs_removed = removal_progress.runs_removed + $3, collections_removed = removal_progress.collections_removed + $4, updated_at = now()`,
    [removal, n.datasets, n.runs, n.collections],
  );
}

/** What this registry removed so far for each catalog removal (zeros for one it never heard of). */
export async function progressOf(db: EntityManager, ids: string[]): Promise<RemovalTotals[]> {
  const rows: Array<{ removal: string; datasetsRemoved: number; runsRemoved: number; collectionsRemoved: number }> = await db.query(
    `SELECT removal_id::text AS removal, datasets_removed AS "datasetsRemoved", runs_removed AS "runsRemoved", collections_removed AS "collectionsRemoved"
     FROM removal_progress WHERE removal_id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.removal, r]));
  return ids.map((removal) => byId.get(removal) ?? { removal, datasetsRemoved: 0, runsRemoved: 0, collectionsRemoved: 0 });
}
