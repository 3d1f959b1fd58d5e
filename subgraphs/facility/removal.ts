import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { allCollections, CollectionRow } from "./collection";
import { facilityError, FacilityErrorCode } from "./errors";
import { checkCollectionName, compileGlob, isGlob } from "./names";

/**
 * Removing what a campaign retires from the registry, as daf_butler's `butler prune-datasets
 * --purge`, `butler remove-runs` and `butler remove-collections` do:
 *
 *   - removeDatasets: datasets with their file records, tags and certifications;
 *   - removeRuns: RUN collections with all their datasets (and those datasets' file records, tags
 *     and certifications elsewhere);
 *   - removeCollections: TAGGED, CHAINED and CALIBRATION collections with their tags,
 *     certifications or chain links; the datasets stay in their runs.
 *
 * A collection that is a child of a CHAINED collection (not removed in the same call) is refused
 * with COLLECTION_IN_CHAIN unless `force`, which drops it from those chains first (remove-runs
 * --force, remove-collections --remove-from-parents). Each call is one transaction and idempotent:
 * what is already gone (an unknown dataset ID or collection name) counts 0, not an error. With
 * `dryRun` the same selections are counted and nothing is written or locked.
 *
 * The registry holds no bytes: file records go with their datasets. Deleting the files themselves
 * is the deletion agents' work, driven by the catalog.
 */

export interface RemovalOptions {
  dryRun?: boolean | null;
  force?: boolean | null;
}

export interface RemovalCounts {
  /** Datasets removed (or that would be). */
  datasets: number;
  /** RUN collections removed. */
  runs: number;
  /** TAGGED, CHAINED and CALIBRATION collections removed. */
  collections: number;
  /** File records removed with their datasets. */
  fileRecords: number;
  /** Tags (TAGGED memberships) and certifications removed. */
  associations: number;
  /** Chain links removed: removed collections dropped from chains, and the links of removed chains. */
  chainLinks: number;
  /** The collections removed, by name. */
  collectionNames: string[];
  dryRun: boolean;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function emptyCounts(dryRun: boolean): RemovalCounts {
  return { datasets: 0, runs: 0, collections: 0, fileRecords: 0, associations: 0, chainLinks: 0, collectionNames: [], dryRun };
}

/** Deletes the rows of `table` matching `where`, or counts them on a dry run. */
async function drop(tx: EntityManager, dryRun: boolean, table: string, where: string, params: unknown[]): Promise<number> {
  const [{ n }] = await tx.query(
    dryRun ? `SELECT count(*) AS n FROM ${table} WHERE ${where}` : `WITH d AS (DELETE FROM ${table} WHERE ${where} RETURNING 1) SELECT count(*) AS n FROM d`,
    params,
  );
  return Number(n);
}

/** Removes the datasets a condition on `datasets` (alias-free, `$1`) selects, with everything that hangs on them. */
async function dropDatasets(tx: EntityManager, dryRun: boolean, datasetWhere: string, param: unknown, counts: RemovalCounts): Promise<void> {
  const ids = `dataset_id IN (SELECT id FROM datasets WHERE ${datasetWhere})`;
  counts.fileRecords += await drop(tx, dryRun, "file_records", ids, [param]);
  counts.associations += await drop(tx, dryRun, "tagged", ids, [param]);
  counts.associations += await drop(tx, dryRun, "calibs", ids, [param]);
  counts.datasets += await drop(tx, dryRun, "datasets", datasetWhere, [param]);
}

/** Removes datasets by ID (daf_butler's prune-datasets --purge --unstore). IDs already gone count 0. */
export async function removeDatasets(db: EntityManager, ids: string[], opts: RemovalOptions = {}): Promise<RemovalCounts> {
  if (!Array.isArray(ids)) throw invalidInput("ids must be a list of dataset IDs", { argument: "ids" });
  const wanted = ids.map((id, item) => {
    if (typeof id !== "string" || !UUID_RE.test(id)) {
      throw invalidInput(`item ${item}: '${String(id)}' is not a dataset ID (a UUID; integer IDs of very old exports are not used here)`, { item, argument: "ids" });
    }
    return id.toLowerCase();
  });
  const dryRun = opts.dryRun ?? false;
  return db.transaction(async (tx) => {
    const counts = emptyCounts(dryRun);
    if (wanted.length) await dropDatasets(tx, dryRun, "id = ANY($1::uuid[])", [...new Set(wanted)], counts);
    return counts;
  });
}

/**
 * The collections `names` (plain names and globs, as daf_butler's collection expressions) select
 * among those of the wanted kind. A plain name of the other kind is COLLECTION_TYPE_ERROR; one that
 * does not exist is skipped (already removed).
 */
function selectCollections(all: CollectionRow[], names: string[], runs: boolean, argument: string): CollectionRow[] {
  if (!Array.isArray(names)) throw invalidInput(`${argument} must be a list of collection names`, { argument });
  const fits = (c: CollectionRow) => (c.type === "RUN") === runs;
  const byName = new Map(all.map((c) => [c.name, c]));
  const out = new Map<number, CollectionRow>();
  names.forEach((name, item) => {
    if (typeof name !== "string" || !name) throw invalidInput(`item ${item}: a collection name is needed`, { item, argument });
    if (isGlob(name)) {
      const re = compileGlob(name);
      for (const c of all) if (fits(c) && re.test(c.name)) out.set(c.id, c);
      return;
    }
    checkCollectionName(name, { item, argument });
    const c = byName.get(name);
    if (!c) return;
    if (!fits(c)) {
      throw facilityError(
        FacilityErrorCode.COLLECTION_TYPE_ERROR,
        runs
          ? `item ${item}: '${name}' is a ${c.type} collection, not a RUN; remove it with removeCollections`
          : `item ${item}: '${name}' is a RUN collection; remove runs (with their datasets) with removeRuns`,
        { item, argument, name, type: c.type },
      );
    }
    out.set(c.id, c);
  });
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Drops the selected collections from the chains that hold them (refused without `force`), then
 * renumbers those chains' positions. Chains removed in the same call do not count as holders.
 */
async function unlinkFromChains(tx: EntityManager, all: CollectionRow[], selected: CollectionRow[], opts: RemovalOptions, counts: RemovalCounts): Promise<void> {
  const removed = new Set(selected.map((c) => c.id));
  const byId = new Map(all.map((c) => [c.id, c]));
  const holders = new Map<number, string[]>();
  for (const parent of all) {
    if (parent.type !== "CHAINED" || removed.has(parent.id)) continue;
    for (const child of parent.children) {
      if (removed.has(child)) holders.set(child, [...(holders.get(child) ?? []), parent.name]);
    }
  }
  if (!holders.size) return;
  if (!opts.force) {
    const [childId, parents] = [...holders.entries()].sort((a, b) => byId.get(a[0])!.name.localeCompare(byId.get(b[0])!.name))[0];
    const child = byId.get(childId)!.name;
    throw facilityError(
      FacilityErrorCode.COLLECTION_IN_CHAIN,
      `'${child}' is in the chained collection${parents.length > 1 ? "s" : ""} ${parents.map((p) => `'${p}'`).join(", ")}; ` +
        `take it out of the chain first, or pass force: true to drop it from its chains`,
      { name: child, parents },
    );
  }
  const parentIds = [...new Set(all.filter((p) => p.type === "CHAINED" && !removed.has(p.id) && p.children.some((ch) => removed.has(ch))).map((p) => p.id))];
  const childIds = [...removed];
  counts.chainLinks += await drop(tx, counts.dryRun, "collection_chains", "parent_id = ANY($1::int[]) AND child_id = ANY($2::int[])", [parentIds, childIds]);
  if (counts.dryRun) return;
  // Positions 0..n-1 again, in two steps so that no step collides with the primary key.
  await tx.query(
    `UPDATE collection_chains c SET position = -r.rank FROM (
       SELECT parent_id, position, row_number() OVER (PARTITION BY parent_id ORDER BY position) AS rank FROM collection_chains WHERE parent_id = ANY($1::int[])) r
     WHERE c.parent_id = r.parent_id AND c.position = r.position`,
    [parentIds],
  );
  await tx.query(`UPDATE collection_chains SET position = -1 - position WHERE parent_id = ANY($1::int[])`, [parentIds]);
}

/** Locks the collections to remove and the chains that hold them, in id order (no deadlock between two removals). */
async function lockCollections(tx: EntityManager, all: CollectionRow[], selected: CollectionRow[]): Promise<void> {
  const ids = new Set(selected.map((c) => c.id));
  for (const p of all) if (p.type === "CHAINED" && p.children.some((ch) => ids.has(ch))) ids.add(p.id);
  await tx.query(`SELECT id FROM collections WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE`, [[...ids]]);
}

async function removeSelected(db: EntityManager, names: string[], runs: boolean, opts: RemovalOptions): Promise<RemovalCounts> {
  const dryRun = opts.dryRun ?? false;
  return db.transaction(async (tx) => {
    const counts = emptyCounts(dryRun);
    let all = await allCollections(tx);
    let selected = selectCollections(all, names, runs, "names");
    if (!selected.length) return counts;
    if (!dryRun) {
      await lockCollections(tx, all, selected);
      // Read again under the locks: a concurrent call may have changed or removed them.
      all = await allCollections(tx);
      selected = selectCollections(all, names, runs, "names");
      if (!selected.length) return counts;
    }
    const ids = selected.map((c) => c.id);
    await unlinkFromChains(tx, all, selected, opts, counts);
    if (runs) await dropDatasets(tx, dryRun, "run_id = ANY($1::int[])", ids, counts);
    else {
      counts.associations += await drop(tx, dryRun, "tagged", "collection_id = ANY($1::int[])", [ids]);
      counts.associations += await drop(tx, dryRun, "calibs", "collection_id = ANY($1::int[])", [ids]);
      counts.chainLinks += await drop(tx, dryRun, "collection_chains", "parent_id = ANY($1::int[])", [ids]);
    }
    const removed = await drop(tx, dryRun, "collections", "id = ANY($1::int[])", [ids]);
    if (runs) counts.runs = removed;
    else counts.collections = removed;
    counts.collectionNames = selected.map((c) => c.name);
    return counts;
  });
}

/** Removes RUN collections with their datasets (daf_butler's remove-runs; `force` as its --force). */
export function removeRuns(db: EntityManager, names: string[], opts: RemovalOptions = {}): Promise<RemovalCounts> {
  return removeSelected(db, names, true, opts);
}

/** Removes TAGGED, CHAINED and CALIBRATION collections (daf_butler's remove-collections; `force` as its --remove-from-parents). */
export function removeCollections(db: EntityManager, names: string[], opts: RemovalOptions = {}): Promise<RemovalCounts> {
  return removeSelected(db, names, false, opts);
}
