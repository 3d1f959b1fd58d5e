import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { decodeCursor, Page, pageSize, toPage } from "../../lib/pagination";
import { resolveSearchPath } from "./collection";
import { resolveDatasetTypes } from "./dataset-type";
import { DIMENSION_NAMES } from "./dimension-universe";
import { facilityError, FacilityErrorCode } from "./errors";
import { toUtcText } from "./time";
import { compileWhere, datasetSource, evaluateWhere } from "./where/compiler";

/**
 * Datasets: finding them by dataset type, collection search path and `where` expression (as
 * Butler.query_datasets does, with find-first through an ordered search path), by ID, and by the
 * DID their file came from.
 */

export interface DatasetRow {
  id: string;
  datasetType: string;
  datasetTypeId: number;
  run: string;
  /** The full data ID (required and implied dimensions), keys in universe order. */
  dataId: Record<string, unknown>;
  ingestDate: Date;
}

export interface FileRecordRow {
  datasetId: string;
  component: string | null;
  path: string;
  formatter: string;
  storageClass: string;
  checksum: string | null;
  fileSize: number | null;
  scope: string | null;
  name: string | null;
}

export const DATASET_COLUMNS = `d.id::text AS id, t.name AS "datasetType", d.dataset_type_id AS "datasetTypeId", c.name AS run,
  d.data_id AS "dataId", d.ingest_date AS "ingestDate"`;
const DATASET_FROM = `datasets d JOIN dataset_types t ON t.id = d.dataset_type_id JOIN collections c ON c.id = d.run_id`;

const ORDER = new Map(DIMENSION_NAMES.map((d, i) => [d, i]));

/** A data ID with its keys in the universe's order (jsonb keeps its own order). */
export function orderDataId(dataId: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(dataId).sort(([a], [b]) => (ORDER.get(a) ?? 1e9) - (ORDER.get(b) ?? 1e9)));
}

function fix<T extends DatasetRow>(rows: T[]): T[] {
  for (const r of rows) r.dataId = orderDataId(r.dataId);
  return rows;
}

export async function datasetsById(db: EntityManager, ids: readonly string[]): Promise<DatasetRow[]> {
  const valid = ids.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)).map((id) => id.toLowerCase());
  if (!valid.length) return [];
  return fix(await db.query(`SELECT ${DATASET_COLUMNS} FROM ${DATASET_FROM} WHERE d.id = ANY($1::uuid[])`, [valid]));
}

export async function getDataset(db: EntityManager, id: string): Promise<DatasetRow> {
  const rows = await datasetsById(db, [id]);
  if (!rows.length) throw facilityError(FacilityErrorCode.DATASET_NOT_FOUND, `dataset ${id} does not exist at this facility`, { id });
  return rows[0];
}

export async function fileRecordsOf(db: EntityManager, ids: readonly string[]): Promise<FileRecordRow[]> {
  return db.query(
    `SELECT dataset_id::text AS "datasetId", NULLIF(component, '') AS component, path, formatter, storage_class AS "storageClass",
            checksum, file_size AS "fileSize", did_scope AS scope, did_name AS name
     FROM file_records WHERE dataset_id = ANY($1::uuid[]) ORDER BY dataset_id, component`,
    [ids.map((i) => i.toLowerCase())],
  );
}

export interface DidKey {
  scope: string;
  name: string;
}

/**
 * The dataset each DID's file became here (through the file record's DID); when one file holds
 * several datasets, the one whose record has no component, then the lowest ID.
 */
export async function datasetsByDid(db: EntityManager, keys: readonly DidKey[]): Promise<Array<DatasetRow & DidKey>> {
  const rows: Array<DatasetRow & DidKey & { didScope: string; didName: string }> = await db.query(
    `SELECT DISTINCT ON (f.did_scope, f.did_name) ${DATASET_COLUMNS}, f.did_scope AS "didScope", f.did_name AS "didName"
     FROM unnest($1::text[], $2::text[]) AS k(scope, name)
     JOIN file_records f ON f.did_scope = k.scope AND f.did_name = k.name
     JOIN ${DATASET_FROM} ON d.id = f.dataset_id
     ORDER BY f.did_scope, f.did_name, f.component, d.id`,
    [keys.map((k) => k.scope), keys.map((k) => k.name)],
  );
  return fix(rows).map((r) => ({ ...r, scope: r.didScope, name: r.didName }));
}

export interface DatasetQuery {
  /** A dataset type name or glob, or several; null = all. */
  datasetType?: string | string[] | null;
  /** Collection names or globs, in search order; null = every collection. */
  collections?: string[] | null;
  where?: string | null;
  bind?: Record<string, unknown> | null;
  /** For each dataset type and data ID, only the dataset of the first collection of the search path that has one. */
  findFirst?: boolean | null;
  /**
   * Calibration lookup time (ISO 8601, UTC unless an offset is given): a CALIBRATION collection
   * contributes only certifications whose validity range [begin, end) contains it.
   */
  validAt?: string | null;
  first?: number | null;
  after?: string | null;
}

/**
 * One page of datasets, ordered by ID. With findFirst, collections must be an ordered list (no
 * globs). A CALIBRATION collection contributes the certifications valid at `validAt` when it is
 * given (as Butler.find_dataset with a timespan); without it, per data ID, the certification with
 * the latest validity start.
 */
interface BuiltQuery {
  empty: boolean;
  limit: number;
  sql: string;
  params: unknown[];
  countSql: string;
  countParams: unknown[];
}

async function buildQuery(db: EntityManager, query: DatasetQuery): Promise<BuiltQuery> {
  const limit = pageSize(query.first);
  const types = await resolveDatasetTypes(db, query.datasetType ?? null);
  const path = await resolveSearchPath(db, query.collections ?? null);
  if (query.findFirst && !path.ordered) {
    throw invalidInput("findFirst needs an ordered list of collection names: no glob patterns, and collections given", { argument: "collections" });
  }
  if (query.bind !== null && query.bind !== undefined && (typeof query.bind !== "object" || Array.isArray(query.bind))) {
    throw invalidInput("bind must be a JSON object of name → value", { argument: "bind" });
  }
  let validAt: string | null = null;
  if (query.validAt !== null && query.validAt !== undefined) {
    validAt = toUtcText(query.validAt);
    if (validAt === null) throw invalidInput(`validAt '${query.validAt}' is not a time (ISO 8601, e.g. 2025-06-02T03:00:00Z)`, { argument: "validAt" });
  }
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const typeIds = p(types.map((t) => t.id));
  const runs = path.collections.filter((c) => c.type === "RUN").map((c) => c.id);
  const tagged = path.collections.filter((c) => c.type === "TAGGED").map((c) => c.id);
  const calibs = path.collections.filter((c) => c.type === "CALIBRATION").map((c) => c.id);
  const where = await compileWhere(db, query.where, datasetSource(types), params, query.bind);
  const empty = !types.length || !path.collections.length;
  const afterId = query.after ? String(decodeCursor(query.after, ["uuid"])[0]) : null;
  // Only calibration collections have validity ranges; without one in the path validAt changes nothing.
  const validity = validAt === null || !calibs.length ? "" : (() => {
    const t = p(validAt);
    return ` AND (k.validity_begin IS NULL OR k.validity_begin <= ${t}::timestamptz) AND (k.validity_end IS NULL OR k.validity_end > ${t}::timestamptz)`;
  })();

  let base: string;
  if (!query.findFirst) {
    const member: string[] = [];
    if (runs.length) member.push(`d.run_id = ANY(${p(runs)}::int[])`);
    if (tagged.length) member.push(`EXISTS (SELECT 1 FROM tagged g WHERE g.dataset_id = d.id AND g.collection_id = ANY(${p(tagged)}::int[]))`);
    if (calibs.length) member.push(`EXISTS (SELECT 1 FROM calibs k WHERE k.dataset_id = d.id AND k.collection_id = ANY(${p(calibs)}::int[])${validity})`);
    base = `SELECT d.id FROM datasets d ${where.joins.join(" ")}
            WHERE d.dataset_type_id = ANY(${typeIds}::int[]) AND (${member.join(" OR ") || "false"}) AND ${where.sql}`;
  } else {
    const order = p(path.collections.map((c) => c.id));
    const member: string[] = [];
    if (runs.length) member.push(`SELECT array_position(${order}::int[], d.run_id) AS rank, NULL::timestamptz AS since WHERE d.run_id = ANY(${p(runs)}::int[])`);
    if (tagged.length) {
      member.push(`SELECT array_position(${order}::int[], g.collection_id), NULL FROM tagged g WHERE g.dataset_id = d.id AND g.collection_id = ANY(${p(tagged)}::int[])`);
    }
    if (calibs.length) {
      member.push(
        `SELECT array_position(${order}::int[], k.collection_id), COALESCE(k.validity_begin, '-infinity') FROM calibs k WHERE k.dataset_id = d.id AND k.collection_id = ANY(${p(calibs)}::int[])${validity}`,
      );
    }
    base = `SELECT DISTINCT ON (d.dataset_type_id, d.data_id) d.id
            FROM datasets d ${where.joins.join(" ")}
            CROSS JOIN LATERAL (${member.join(" UNION ALL ") || "SELECT 0, NULL::timestamptz WHERE false"}) m(rank, since)
            WHERE d.dataset_type_id = ANY(${typeIds}::int[]) AND ${where.sql}
            ORDER BY d.dataset_type_id, d.data_id, m.rank, m.since DESC NULLS LAST`;
  }
  const countParams = [...params];
  const afterSql = afterId ? `AND d.id > ${p(afterId)}::uuid` : "";
  const limitSql = p(limit + 1);
  return {
    empty,
    limit,
    sql: `SELECT ${DATASET_COLUMNS} FROM ${DATASET_FROM} WHERE d.id IN (${base}) ${afterSql} ORDER BY d.id LIMIT ${limitSql}`,
    params,
    countSql: `SELECT count(${where.multipliesRows && !query.findFirst ? "DISTINCT x.id" : "*"}) AS n FROM (${base}) x`,
    countParams,
  };
}

export async function queryDatasets(db: EntityManager, query: DatasetQuery): Promise<Page<DatasetRow>> {
  const q = await buildQuery(db, query);
  const rows: DatasetRow[] = q.empty ? [] : fix(await evaluateWhere(query.where, () => db.query(q.sql, q.params)));
  return toPage(rows, q.limit, (r) => [r.id], async () => {
    if (q.empty) return 0;
    const [{ n }] = await evaluateWhere(query.where, () => db.query(q.countSql, q.countParams));
    return n;
  });
}

/** The plan of the statement a dataset query runs (EXPLAIN), for tests and operators' diagnosis. */
export async function explainDatasetQuery(db: EntityManager, query: DatasetQuery): Promise<string> {
  const q = await buildQuery(db, query);
  const plan: Array<{ "QUERY PLAN": string }> = await db.query(`EXPLAIN ${q.sql}`, q.params);
  return plan.map((r) => r["QUERY PLAN"]).join("\n");
}
