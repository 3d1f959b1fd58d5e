import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { facilityError, FacilityErrorCode } from "./errors";
import { checkCollectionName, compileGlob, isGlob } from "./names";
import { toUtcText } from "./time";

/**
 * Collections as daf_butler has them: RUN (where a dataset is written; each dataset is in exactly
 * one), TAGGED (a hand-picked set, at most one dataset per dataset type and data ID), CHAINED (an
 * ordered search path of other collections), CALIBRATION (datasets certified with validity ranges).
 * Collection expressions are names or globs (`HSC/runs/*`); a CHAINED collection stands for its
 * children, depth first, in order.
 */

export type CollectionType = "RUN" | "TAGGED" | "CHAINED" | "CALIBRATION";
export const COLLECTION_TYPES: readonly CollectionType[] = ["RUN", "TAGGED", "CHAINED", "CALIBRATION"];

export interface CollectionRow {
  id: number;
  name: string;
  type: CollectionType;
  doc: string | null;
  /** Children of a CHAINED collection, in search order (ids). */
  children: number[];
  createdAt: Date;
}

export function collectionNotFound(name: string, details: Record<string, unknown> = {}) {
  return facilityError(FacilityErrorCode.COLLECTION_NOT_FOUND, `collection '${name}' does not exist at this facility`, { name, ...details });
}

/** Every collection with its chain children, in one statement (collections number in the thousands at most). */
export async function allCollections(db: EntityManager): Promise<CollectionRow[]> {
  const rows: Array<CollectionRow & { children: Array<number | null> }> = await db.query(
    `SELECT c.id, c.name, c.type, c.doc, c.created_at AS "createdAt",
            array_agg(ch.child_id ORDER BY ch.position) AS children
     FROM collections c LEFT JOIN collection_chains ch ON ch.parent_id = c.id
     GROUP BY c.id ORDER BY c.name`,
  );
  return rows.map((r) => ({ ...r, children: r.children.filter((c): c is number => c !== null) }));
}

export interface CollectionFilter {
  patterns?: readonly string[] | null;
  types?: readonly CollectionType[] | null;
}

/** Collections by name or glob and type, ordered by name. */
export async function listCollections(db: EntityManager, filter: CollectionFilter = {}): Promise<CollectionRow[]> {
  const all = await allCollections(db);
  const res = (filter.patterns ?? []).map((p) => compileGlob(p));
  return all.filter((c) => (!res.length || res.some((re) => re.test(c.name))) && (!filter.types?.length || filter.types.includes(c.type)));
}

export interface SearchPath {
  /** Non-chained collections in search order, each once (first occurrence wins). */
  collections: Array<{ id: number; name: string; type: CollectionType }>;
  /** False when a glob took part: the order is then by name, not one the user chose. */
  ordered: boolean;
}

/**
 * Resolves a collection expression (names and globs; null = every collection) to the search path:
 * chains flattened depth first, duplicates dropped. A plain name that does not exist is
 * COLLECTION_NOT_FOUND.
 */
export async function resolveSearchPath(db: EntityManager, expression: readonly string[] | null | undefined, argument = "collections"): Promise<SearchPath> {
  const all = await allCollections(db);
  const byId = new Map(all.map((c) => [c.id, c]));
  const byName = new Map(all.map((c) => [c.name, c]));
  const out: SearchPath = { collections: [], ordered: expression !== null && expression !== undefined };
  const seen = new Set<number>();
  const visit = (c: CollectionRow, stack: Set<number>) => {
    if (c.type === "CHAINED") {
      if (stack.has(c.id)) return;
      stack.add(c.id);
      for (const child of c.children) visit(byId.get(child)!, stack);
      stack.delete(c.id);
      return;
    }
    if (seen.has(c.id)) return;
    seen.add(c.id);
    out.collections.push({ id: c.id, name: c.name, type: c.type });
  };
  for (const item of expression ?? ["*"]) {
    if (isGlob(item)) {
      out.ordered = false;
      const re = compileGlob(item);
      for (const c of all) if (re.test(c.name)) visit(c, new Set());
      continue;
    }
    const c = byName.get(item);
    if (!c) throw collectionNotFound(item, { argument });
    visit(c, new Set());
  }
  return out;
}

export interface RegisterCollectionInput {
  name: string;
  type: CollectionType;
  doc?: string | null;
}

/**
 * Registers collections; an existing one of the same type is left as it is (its doc is updated
 * when given), one of another type is COLLECTION_TYPE_ERROR. Returns ids in input order.
 */
export async function registerCollections(db: EntityManager, inputs: RegisterCollectionInput[], argument = "collections"): Promise<number[]> {
  if (!inputs.length) return [];
  inputs.forEach((c, item) => {
    checkCollectionName(c.name, { item, argument });
    if (!COLLECTION_TYPES.includes(c.type)) throw invalidInput(`item ${item}: type must be one of ${COLLECTION_TYPES.join(", ")}`, { item, argument });
  });
  const rows: Array<{ ord: number; id: number; name: string; type: CollectionType; wanted: CollectionType }> = await db.query(
    `WITH i AS (SELECT * FROM unnest($1::text[], $2::collection_type[], $3::text[]) WITH ORDINALITY AS i(name, type, doc, ord)),
     ins AS (
       INSERT INTO collections (name, type, doc)
       SELECT DISTINCT ON (name) name, type, doc FROM i ORDER BY name, ord
       ON CONFLICT (name) DO UPDATE SET doc = COALESCE(EXCLUDED.doc, collections.doc) WHERE collections.type = EXCLUDED.type
       RETURNING id, name, type)
     SELECT i.ord, c.id, c.name, c.type, i.type AS wanted
     FROM i JOIN (SELECT id, name, type FROM ins UNION SELECT id, name, type FROM collections) c ON c.name = i.name
     ORDER BY i.ord`,
    [inputs.map((c) => c.name), inputs.map((c) => c.type), inputs.map((c) => c.doc ?? null)],
  );
  const out: number[] = [];
  for (const r of rows) {
    if (r.type !== r.wanted) {
      throw facilityError(FacilityErrorCode.COLLECTION_TYPE_ERROR, `item ${r.ord - 1}: collection '${r.name}' exists as ${r.type}, not ${r.wanted}`, {
        item: r.ord - 1,
        argument,
        name: r.name,
        type: r.type,
      });
    }
    if (out.length < r.ord) out.push(r.id);
  }
  return out;
}

/**
 * The ids of RUN collections by name, in input order; missing runs are created when `create`,
 * COLLECTION_NOT_FOUND otherwise. `items` maps each name to the bulk item reported in errors.
 */
export async function resolveRuns(db: EntityManager, names: string[], create: boolean, items: number[], argument: string): Promise<Map<string, number>> {
  const unique = [...new Set(names)];
  // KEY SHARE: a run being removed (removal.ts locks it FOR UPDATE) is waited for, then seen gone.
  const rows: Array<{ id: number; name: string; type: CollectionType }> = await db.query(
    `SELECT id, name, type FROM collections WHERE name = ANY($1::text[]) ORDER BY id FOR KEY SHARE`,
    [unique],
  );
  const found = new Map(rows.map((r) => [r.name, r]));
  const missing: string[] = [];
  for (const name of unique) {
    const item = items[names.indexOf(name)];
    const row = found.get(name);
    if (!row) {
      checkCollectionName(name, { item, argument });
      if (!create) throw collectionNotFound(name, { item, argument, hint: "register the run first or ask for createRuns" });
      missing.push(name);
    } else if (row.type !== "RUN") {
      throw facilityError(FacilityErrorCode.COLLECTION_TYPE_ERROR, `item ${item}: '${name}' is a ${row.type} collection; datasets are written into RUN collections`, {
        item,
        argument,
        name,
      });
    }
  }
  const out = new Map(rows.map((r) => [r.name, r.id]));
  if (missing.length) {
    const ids = await registerCollections(db, missing.map((name) => ({ name, type: "RUN" as const })), argument);
    missing.forEach((name, i) => out.set(name, ids[i]));
  }
  return out;
}

async function collectionOfType(db: EntityManager, name: string, type: CollectionType, argument: string, lock = false): Promise<CollectionRow> {
  const rows: CollectionRow[] = await db.query(
    `SELECT id, name, type, doc, created_at AS "createdAt" FROM collections WHERE name = $1${lock ? " FOR UPDATE" : ""}`,
    [name],
  );
  if (!rows.length) throw collectionNotFound(name, { argument });
  if (rows[0].type !== type) {
    throw facilityError(FacilityErrorCode.COLLECTION_TYPE_ERROR, `'${name}' is a ${rows[0].type} collection, this needs a ${type} one`, { argument, name, type: rows[0].type });
  }
  return { ...rows[0], children: [] };
}

/** Replaces the children of a CHAINED collection (names, in search order); refuses cycles. */
export async function setCollectionChain(db: EntityManager, parentName: string, childNames: string[]): Promise<void> {
  const parent = await collectionOfType(db, parentName, "CHAINED", "parent", true);
  // Children being removed concurrently (removal.ts) are waited for, then not found.
  await db.query(`SELECT id FROM collections WHERE name = ANY($1::text[]) ORDER BY id FOR KEY SHARE`, [childNames]);
  const all = await allCollections(db);
  const byName = new Map(all.map((c) => [c.name, c]));
  const byId = new Map(all.map((c) => [c.id, c]));
  const children = childNames.map((n, item) => {
    const c = byName.get(n);
    if (!c) throw collectionNotFound(n, { item, argument: "children" });
    return c;
  });
  // A cycle: the parent reachable from one of the new children.
  const reaches = (c: CollectionRow, seen: Set<number>): boolean => {
    if (c.id === parent.id) return true;
    if (seen.has(c.id)) return false;
    seen.add(c.id);
    return c.children.some((id) => reaches(byId.get(id)!, seen));
  };
  children.forEach((c, item) => {
    if (reaches(c, new Set())) {
      throw facilityError(FacilityErrorCode.COLLECTION_CYCLE, `item ${item}: putting '${c.name}' into chain '${parentName}' would make the chain contain itself`, {
        item,
        argument: "children",
        name: c.name,
      });
    }
  });
  await db.query(`DELETE FROM collection_chains WHERE parent_id = $1`, [parent.id]);
  if (children.length) {
    await db.query(
      `INSERT INTO collection_chains (parent_id, position, child_id) SELECT $1, ord - 1, child FROM unnest($2::int[]) WITH ORDINALITY AS c(child, ord)`,
      [parent.id, children.map((c) => c.id)],
    );
  }
}

function checkIds(ids: string[], argument: string): string[] {
  const re = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  return ids.map((id, item) => {
    if (typeof id !== "string" || !re.test(id)) throw invalidInput(`item ${item}: '${String(id)}' is not a dataset ID (a UUID)`, { item, argument });
    return id.toLowerCase();
  });
}

async function requireDatasets(db: EntityManager, ids: string[], argument: string): Promise<void> {
  // Datasets being removed concurrently (removal.ts) are waited for, then not found.
  await db.query(`SELECT id FROM datasets WHERE id = ANY($1::uuid[]) ORDER BY id FOR KEY SHARE`, [ids]);
  const missing: Array<{ ord: number; id: string }> = await db.query(
    `SELECT i.ord, i.id FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, ord) LEFT JOIN datasets d ON d.id = i.id WHERE d.id IS NULL ORDER BY i.ord LIMIT 1`,
    [ids],
  );
  if (missing.length) {
    const item = missing[0].ord - 1;
    throw facilityError(FacilityErrorCode.DATASET_NOT_FOUND, `item ${item}: dataset ${missing[0].id} does not exist at this facility`, { item, argument, id: missing[0].id });
  }
}

/**
 * Adds datasets to a TAGGED collection. A dataset already there is left; another dataset of the
 * same type and data ID there is DATASET_CONFLICT (as daf_butler's associate). Returns how many were added.
 */
export async function associate(db: EntityManager, collectionName: string, datasetIds: string[]): Promise<number> {
  const ids = checkIds(datasetIds, "datasetIds");
  const c = await collectionOfType(db, collectionName, "TAGGED", "collection", true);
  await requireDatasets(db, ids, "datasetIds");
  const clash: Array<{ ord: number; id: string; other: string }> = await db.query(
    `WITH i AS (SELECT i.ord, d.id, d.dataset_type_id, d.data_id FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, ord) JOIN datasets d ON d.id = i.id)
     SELECT a.ord, a.id, b.id AS other FROM i a
     JOIN (SELECT dataset_id AS id, dataset_type_id, data_id FROM tagged WHERE collection_id = $2 UNION ALL SELECT id, dataset_type_id, data_id FROM i) b
       ON b.dataset_type_id = a.dataset_type_id AND b.data_id = a.data_id AND b.id <> a.id
     ORDER BY a.ord LIMIT 1`,
    [ids, c.id],
  );
  if (clash.length) {
    const item = clash[0].ord - 1;
    throw facilityError(
      FacilityErrorCode.DATASET_CONFLICT,
      `item ${item}: dataset ${clash[0].id} has the dataset type and data ID of ${clash[0].other}, which is (or is being) tagged in '${collectionName}'`,
      { item, argument: "datasetIds", id: clash[0].id, other: clash[0].other },
    );
  }
  const [{ n }] = await db.query(
    `WITH ins AS (
       INSERT INTO tagged (collection_id, dataset_id, dataset_type_id, data_id)
       SELECT DISTINCT $2::int, d.id, d.dataset_type_id, d.data_id FROM unnest($1::uuid[]) AS i(id) JOIN datasets d ON d.id = i.id
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT count(*) AS n FROM ins`,
    [ids, c.id],
  );
  return n;
}

/** Removes datasets from a TAGGED collection; returns how many were removed. */
export async function disassociate(db: EntityManager, collectionName: string, datasetIds: string[]): Promise<number> {
  const ids = checkIds(datasetIds, "datasetIds");
  const c = await collectionOfType(db, collectionName, "TAGGED", "collection");
  const [{ n }] = await db.query(
    `WITH del AS (DELETE FROM tagged WHERE collection_id = $1 AND dataset_id = ANY($2::uuid[]) RETURNING 1) SELECT count(*) AS n FROM del`,
    [c.id, ids],
  );
  return n;
}

/**
 * Certifies calibration datasets into a CALIBRATION collection for a validity range [begin, end)
 * (null = unbounded). A range that overlaps another certification of the same dataset type and
 * data ID in that collection is DATASET_CONFLICT, as in daf_butler.
 */
export async function certify(db: EntityManager, collectionName: string, datasetIds: string[], begin: unknown, end: unknown): Promise<number> {
  const ids = checkIds(datasetIds, "datasetIds");
  const b = begin === null || begin === undefined ? null : toUtcText(begin);
  const e = end === null || end === undefined ? null : toUtcText(end);
  if ((begin != null && b === null) || (end != null && e === null)) throw invalidInput("begin and end must be ISO 8601 times (UTC unless an offset is given)", { argument: "timespan" });
  if (b !== null && e !== null && b >= e) throw invalidInput("the validity range must begin before it ends", { argument: "timespan" });
  const c = await collectionOfType(db, collectionName, "CALIBRATION", "collection", true);
  await requireDatasets(db, ids, "datasetIds");
  const notCalib: Array<{ ord: number; name: string }> = await db.query(
    `SELECT i.ord, t.name FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, ord) JOIN datasets d ON d.id = i.id
     JOIN dataset_types t ON t.id = d.dataset_type_id WHERE NOT t.is_calibration ORDER BY i.ord LIMIT 1`,
    [ids],
  );
  if (notCalib.length) {
    const item = notCalib[0].ord - 1;
    throw facilityError(FacilityErrorCode.COLLECTION_TYPE_ERROR, `item ${item}: dataset type ${notCalib[0].name} is not a calibration type and cannot be certified`, {
      item,
      argument: "datasetIds",
    });
  }
  const overlap: Array<{ ord: number; id: string }> = await db.query(
    `WITH i AS (SELECT DISTINCT ON (d.id) i.ord, d.id, d.dataset_type_id, d.data_id FROM unnest($1::uuid[]) WITH ORDINALITY AS i(id, ord) JOIN datasets d ON d.id = i.id ORDER BY d.id, i.ord)
     SELECT a.ord, a.id FROM i a
     WHERE EXISTS (SELECT 1 FROM calibs k WHERE k.collection_id = $2 AND k.dataset_type_id = a.dataset_type_id AND k.data_id = a.data_id
                     AND (k.validity_end IS NULL OR $3::timestamptz IS NULL OR k.validity_end > $3::timestamptz)
                     AND (k.validity_begin IS NULL OR $4::timestamptz IS NULL OR k.validity_begin < $4::timestamptz))
        OR EXISTS (SELECT 1 FROM i b WHERE b.ord < a.ord AND b.dataset_type_id = a.dataset_type_id AND b.data_id = a.data_id)
     ORDER BY a.ord LIMIT 1`,
    [ids, c.id, b, e],
  );
  if (overlap.length) {
    const item = overlap[0].ord - 1;
    throw facilityError(
      FacilityErrorCode.DATASET_CONFLICT,
      `item ${item}: dataset ${overlap[0].id}: its dataset type and data ID are already certified in '${collectionName}' for an overlapping validity range`,
      { item, argument: "datasetIds", id: overlap[0].id },
    );
  }
  const [{ n }] = await db.query(
    `WITH ins AS (
       INSERT INTO calibs (collection_id, dataset_id, dataset_type_id, data_id, validity_begin, validity_end)
       SELECT $2, d.id, d.dataset_type_id, d.data_id, $3::timestamptz, $4::timestamptz FROM (SELECT DISTINCT id FROM unnest($1::uuid[]) AS i(id)) i JOIN datasets d ON d.id = i.id
       RETURNING 1)
     SELECT count(*) AS n FROM ins`,
    [ids, c.id, b, e],
  );
  return n;
}
