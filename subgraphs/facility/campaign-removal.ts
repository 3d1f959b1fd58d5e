import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { decodeCursor, encodeCursor, pageSize } from "../../lib/pagination";
import { addProgress, progressOf, RemovalTotals } from "./arrival/departure";
import { allCollections, CollectionRow } from "./collection";
import { removeCollections, removeRuns } from "./removal";
import { compileGlob, isGlob } from "./names";

/**
 * This facility's side of a catalog's campaign removal (subgraphs/replicas/removal.ts):
 *
 *   - `obsoleteFiles`: which files (catalog DIDs, from the file records) the datasets of the named
 *     runs and collections have here, or which datasets are recorded for given files — what the
 *     catalog plans with;
 *   - `finishRemoval`: once the catalog's deletions here are done (each departure already removed
 *     its datasets and the runs it emptied, arrival/departure.ts), the named runs and collections
 *     left empty go too, and the totals for the removal are returned.
 *
 * Names are collection names or globs, as daf_butler's collection expressions; a name this
 * facility does not have selects nothing (the run may live elsewhere).
 */
export interface ObsoleteFile {
  scope: string;
  name: string;
  datasetId: string;
  run: string;
}

export interface ObsoleteFilesQuery {
  runs?: string[] | null;
  collections?: string[] | null;
  files?: Array<{ scope: string; name: string }> | null;
  first?: number | null;
  after?: string | null;
}

export interface ObsoleteFilesPage {
  nodes: ObsoleteFile[];
  hasNextPage: boolean;
  endCursor: string | null;
}

const MAX_NAMES = 1000;
const MAX_FILES = 10_000;

function checkNames(list: unknown, argument: string): string[] {
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list) || list.length > MAX_NAMES) throw invalidInput(`${argument} must be a list of at most ${MAX_NAMES} collection names or globs`, { argument });
  return list.map((n, item) => {
    if (typeof n !== "string" || !n || n.length > 1024) throw invalidInput(`item ${item}: a collection name or glob is needed`, { argument, item });
    return n;
  });
}

/** The collections names and globs select (`types` limits them); unknown names select nothing. */
function select(all: CollectionRow[], names: string[], types?: CollectionRow["type"][]): CollectionRow[] {
  const out = new Map<number, CollectionRow>();
  const byName = new Map(all.map((c) => [c.name, c]));
  for (const n of names) {
    const hits = isGlob(n) ? all.filter((c) => compileGlob(n).test(c.name)) : byName.has(n) ? [byName.get(n)!] : [];
    for (const c of hits) if (!types || types.includes(c.type)) out.set(c.id, c);
  }
  return [...out.values()];
}

/** Collections through CHAINED ones, depth first, each once (cycles cannot occur, but are guarded against). */
function flatten(all: CollectionRow[], start: CollectionRow[]): CollectionRow[] {
  const byId = new Map(all.map((c) => [c.id, c]));
  const out = new Map<number, CollectionRow>();
  const visit = (c: CollectionRow, stack: Set<number>) => {
    if (c.type !== "CHAINED") {
      out.set(c.id, c);
      return;
    }
    if (stack.has(c.id)) return;
    stack.add(c.id);
    for (const child of c.children) visit(byId.get(child)!, stack);
    stack.delete(c.id);
  };
  for (const c of start) visit(c, new Set());
  return [...out.values()];
}

/** Files (DIDs) of the datasets the runs and collections select here, and of the given files, by (scope, name, dataset). */
export async function obsoleteFiles(db: EntityManager, q: ObsoleteFilesQuery): Promise<ObsoleteFilesPage> {
  const runs = checkNames(q.runs, "runs");
  const collections = checkNames(q.collections, "collections");
  const files = q.files ?? [];
  if (!Array.isArray(files) || files.length > MAX_FILES) throw invalidInput(`files must be a list of at most ${MAX_FILES} {scope, name}`, { argument: "files" });
  const limit = pageSize(q.first);
  const after = q.after ? decodeCursor(q.after, ["text", "text", "uuid"]) : null;
  const all = runs.length || collections.length ? await allCollections(db) : [];
  const chosen = flatten(all, [...select(all, runs, ["RUN"]), ...select(all, collections)]);
  const ids = (type: string) => chosen.filter((c) => c.type === type).map((c) => c.id);
  const rows: ObsoleteFile[] = await db.query(
    `WITH sel AS (
       SELECT id FROM datasets WHERE run_id = ANY($1::int[])
       UNION SELECT dataset_id FROM tagged WHERE collection_id = ANY($2::int[])
       UNION SELECT dataset_id FROM calibs WHERE collection_id = ANY($3::int[])),
     wanted AS (SELECT * FROM unnest($4::text[], $5::text[]) AS k(scope, name))
     SELECT fr.did_scope AS scope, fr.did_name AS name, fr.dataset_id::text AS "datasetId", c.name AS run
     FROM file_records fr JOIN datasets d ON d.id = fr.dataset_id JOIN collections c ON c.id = d.run_id
     WHERE fr.did_scope IS NOT NULL
       AND (fr.dataset_id IN (SELECT id FROM sel) OR (fr.did_scope, fr.did_name) IN (SELECT scope, name FROM wanted))
       AND ($6::text IS NULL OR (fr.did_scope, fr.did_name, fr.dataset_id) > ($6::text, $7::text, $8::uuid))
     GROUP BY fr.did_scope, fr.did_name, fr.dataset_id, c.name
     ORDER BY fr.did_scope, fr.did_name, fr.dataset_id LIMIT $9`,
    [ids("RUN"), ids("TAGGED"), ids("CALIBRATION"), files.map((f) => f.scope), files.map((f) => f.name), after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit + 1],
  );
  const nodes = rows.slice(0, limit);
  const last = nodes[nodes.length - 1];
  return { nodes, hasNextPage: rows.length > limit, endCursor: last ? encodeCursor([last.scope, last.name, last.datasetId]) : null };
}

/**
 * Finishes this facility's part of a catalog removal: the named runs and collections that are now
 * empty are removed (from their chains too); named ones still holding datasets (kept files) stay.
 * Idempotent. Returns what this registry removed for the removal in all.
 */
export async function finishRemoval(db: EntityManager, removal: string, runNames: string[], collectionNames: string[]): Promise<RemovalTotals> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(removal)) throw invalidInput("removal must be the id of a catalog removal", { argument: "removal" });
  const runs = checkNames(runNames, "runs");
  const collections = checkNames(collectionNames, "collections");
  return db.transaction(async (tx) => {
    const all = await allCollections(tx);
    const named = [...select(all, runs, ["RUN"]), ...select(all, collections)];
    const counts: Array<{ id: number; n: number }> = await tx.query(
      `SELECT c.id, (SELECT count(*) FROM datasets d WHERE d.run_id = c.id) + (SELECT count(*) FROM tagged t WHERE t.collection_id = c.id)
                    + (SELECT count(*) FROM calibs k WHERE k.collection_id = c.id) + (SELECT count(*) FROM collection_chains h WHERE h.parent_id = c.id) AS n
       FROM collections c WHERE c.id = ANY($1::int[])`,
      [named.map((c) => c.id)],
    );
    const empty = new Set(counts.filter((c) => Number(c.n) === 0).map((c) => c.id));
    // Runs first: a chain they empty then counts as empty too.
    const emptyRuns = named.filter((c) => c.type === "RUN" && empty.has(c.id)).map((c) => c.name);
    const r = emptyRuns.length ? await removeRuns(tx, emptyRuns, { force: true }) : { runs: 0 };
    const after = await allCollections(tx);
    const others = named.filter((c) => c.type !== "RUN" && (empty.has(c.id) || (c.type === "CHAINED" && after.find((a) => a.id === c.id)?.children.length === 0)));
    const k = others.length ? await removeCollections(tx, others.map((c) => c.name), { force: true }) : { collections: 0 };
    await addProgress(tx, removal.toLowerCase(), { datasets: 0, runs: r.runs, collections: k.collections });
    return (await progressOf(tx, [removal.toLowerCase()]))[0];
  });
}
