import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { decodeCursor, Page, pageSize, toPage } from "../../lib/pagination";
import { compileWhere, evaluateWhere, recordSource } from "./where/compiler";
import { Column, dimensionTable, DimensionTable, q, REGION_BOUNDS, SQL_TYPES } from "./dimension-tables";
import { boundingBox } from "./sky/overlap";
import { RegionError } from "./sky/region";
import { regionFromStored, regionToHex } from "./sky/region-encoding";
import { hasElement } from "./dimension-universe";
import { facilityError, FacilityErrorCode } from "./errors";
import { dateToMicros, formatUtc, toUtcText } from "./time";

/**
 * Dimension records (exposure, visit, detector, physical_filter, …): validated against the
 * universe, inserted set-based, and checked against what is stored. Two ways to meet a stored
 * record with the same key:
 *   - "strict" (ingestDatasets by default): it must equal the stored one (DIMENSION_CONFLICT
 *     otherwise), so an agent never writes a second truth;
 *   - "keepStored" (imports, as daf_butler's import inserts with skip_existing): the stored record
 *     is kept as it is and the differing ones are counted and a few returned as examples
 *     (two real exports of one instrument often differ in small fields: visit_system null vs 0).
 * A record with a new key that clashes with a stored one on an alternate key (detector full_name,
 * exposure obs_id, …) is DIMENSION_CONFLICT in both modes: it is not the stored record.
 */

export interface DimensionRecordInput {
  element: string;
  record: Record<string, unknown>;
}

/** A record as stored: column name → SQL-ready value (text for times, hex text for hashes). */
export type StoredRecord = Record<string, string | number | boolean | null>;

/** The table of an element that holds records; INVALID_INPUT for skypix, band and unknown names. */
export function recordTable(elementName: string, details: Record<string, unknown> = {}): DimensionTable {
  const t = dimensionTable(elementName);
  if (!t) {
    const why = hasElement(elementName)
      ? `'${elementName}' has no records of its own (skypix regions are computed; band values come from physical_filter)`
      : `unknown dimension element '${elementName}' (universe daf_butler v8)`;
    throw invalidInput(why, { ...details, element: elementName });
  }
  return t;
}

function badRecord(message: string, details: Record<string, unknown>) {
  return facilityError(FacilityErrorCode.INVALID_DATA_ID, message, details);
}

/** A value for a column, typed; throws INVALID_DATA_ID naming the field. */
export function columnValue(column: Column, value: unknown, where: string, details: Record<string, unknown>): string | number | boolean | null {
  if (value === null || value === undefined) {
    if (!column.nullable) throw badRecord(`${where}: '${column.name}' is required`, { ...details, field: column.name });
    return null;
  }
  const bad = (expected: string) =>
    badRecord(`${where}: '${column.name}' must be ${expected}, got ${JSON.stringify(value)?.slice(0, 80)}`, { ...details, field: column.name });
  switch (column.type) {
    case "int":
      if (typeof value === "number" && Number.isSafeInteger(value)) return value;
      if (typeof value === "string" && /^-?\d{1,15}$/.test(value)) return Number(value);
      throw bad("an integer");
    case "float":
      if (typeof value === "number" && Number.isFinite(value)) return value;
      throw bad("a number");
    case "bool":
      if (typeof value === "boolean") return value;
      throw bad("true or false");
    case "string":
      if (typeof value === "string") return value;
      if (typeof value === "number" && column.role === "metadata") return String(value);
      throw bad("a string");
    case "datetime": {
      const t = toUtcText(value);
      if (t === null) throw bad("an ISO 8601 time (UTC unless an offset is given) or {tai: '…'}");
      return t;
    }
    case "hash":
      if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
      if (typeof value === "string" && /^([0-9a-f]{2})*$/i.test(value)) return value.toLowerCase();
      throw bad("binary data (hex text)");
    default:
      throw bad("a supported value");
  }
}

/**
 * The stored columns of a record's region, decoded once: `region` (the lowercase hex of sphgeom's
 * encoding) and its bounding box (REGION_BOUNDS); all NULL without a region. RegionError when the
 * value is not a sphgeom region.
 */
export function regionColumns(value: unknown): StoredRecord {
  const out: StoredRecord = { region: null };
  const region = value === null || value === undefined ? null : regionFromStored(value);
  const box = region && boundingBox(region);
  if (region) out.region = regionToHex(region);
  for (const [field, column] of Object.entries(REGION_BOUNDS)) out[column] = box ? box[field as keyof typeof REGION_BOUNDS] : null;
  return out;
}

/** Splits a timespan given as {begin, end}, timespan_begin/_end or datetime_begin/_end (older exports). */
function timespanOf(record: Record<string, unknown>): { begin: unknown; end: unknown; used: string[] } {
  if (record.timespan !== undefined && record.timespan !== null) {
    const ts = record.timespan as { begin?: unknown; end?: unknown };
    if (typeof ts !== "object") return { begin: ts, end: undefined, used: ["timespan"] };
    return { begin: ts.begin ?? null, end: ts.end ?? null, used: ["timespan"] };
  }
  for (const prefix of ["timespan", "datetime"]) {
    if (`${prefix}_begin` in record || `${prefix}_end` in record) {
      return { begin: record[`${prefix}_begin`] ?? null, end: record[`${prefix}_end`] ?? null, used: [`${prefix}_begin`, `${prefix}_end`] };
    }
  }
  return { begin: null, end: null, used: record.timespan === null ? ["timespan"] : [] };
}

/** Validates one record of an element against its table; returns the stored form. */
export function normalizeRecord(t: DimensionTable, record: unknown, details: Record<string, unknown> = {}): StoredRecord {
  const where = `${details.item !== undefined ? `item ${details.item}: ` : ""}${t.element.name} record`;
  const at = { ...details, element: t.element.name };
  if (!record || typeof record !== "object" || Array.isArray(record)) throw badRecord(`${where} must be an object of field values`, at);
  const r = record as Record<string, unknown>;
  const out: StoredRecord = {};
  const known = new Set(t.columns.filter((c) => c.role !== "bounds").map((c) => c.name));
  let used: string[] = [];
  if (t.element.hasTimespan) {
    const ts = timespanOf(r);
    used = ts.used;
    out.timespan_begin = columnValue(t.columns.find((c) => c.name === "timespan_begin")!, ts.begin, where, at);
    out.timespan_end = columnValue(t.columns.find((c) => c.name === "timespan_end")!, ts.end, where, at);
    if (out.timespan_begin !== null && out.timespan_end !== null && String(out.timespan_begin) > String(out.timespan_end)) {
      throw badRecord(`${where}: timespan begins after it ends`, at);
    }
  }
  for (const key of Object.keys(r)) {
    if (!known.has(key) && !used.includes(key)) {
      throw badRecord(`${where}: unknown field '${key}' (fields: ${[...known].join(", ")})`, { ...at, field: key });
    }
  }
  for (const c of t.columns) {
    if (c.role === "timespan" || c.role === "bounds" || c.role === "region") continue;
    out[c.name] = columnValue(c, r[c.name], where, at);
  }
  if (t.element.hasRegion) {
    try {
      Object.assign(out, regionColumns(r.region));
    } catch (e) {
      if (!(e instanceof RegionError)) throw e;
      throw badRecord(`${where}: 'region' must be a sphgeom region (the hex of Region.encode()): ${e.message}`, { ...at, field: "region" });
    }
  }
  return out;
}

/** jsonb_to_recordset column definitions of a table (plus the item index). */
function recordsetColumns(t: DimensionTable): string {
  return ["_item integer", ...t.columns.map((c) => `${q(c.name)} ${SQL_TYPES[c.type]}`)].join(", ");
}

export type RecordConflictMode = "strict" | "keepStored";

/** A record that differed from the stored one with its key, which was kept. */
export interface KeptRecordConflict {
  element: string;
  /** The primary key values of the record (its required dimensions and its own key). */
  key: Record<string, unknown>;
  /** The fields that differ (timespan and region as one field each). */
  fields: string[];
  /** Those fields as stored (and kept). */
  stored: Record<string, unknown>;
  /** Those fields as given (and not written). */
  given: Record<string, unknown>;
}

export interface RecordWriteResult {
  inserted: number;
  /** Records (with a stored key) that differed from the stored record and were not written ("keepStored" only). */
  conflictingKept: number;
  /** The first few of them, in input order. */
  conflictExamples: KeptRecordConflict[];
}

/** How many kept conflicts an answer shows. */
export const KEPT_CONFLICT_EXAMPLES = 5;

/** The client-facing field a column belongs to (timespan_begin/_end → timespan). */
function fieldOfColumn(name: string): string {
  return name === "timespan_begin" || name === "timespan_end" ? "timespan" : name;
}

/**
 * Inserts records (of any elements) or checks them against the stored ones, set-based: two
 * statements per element. `items` carry the index reported in errors.
 */
export async function insertDimensionRecords(
  db: EntityManager,
  inputs: DimensionRecordInput[],
  itemOffset = 0,
  itemField = "dimensionRecords",
  mode: RecordConflictMode = "strict",
): Promise<RecordWriteResult> {
  const byElement = new Map<string, Array<StoredRecord & { _item: number }>>();
  inputs.forEach((input, i) => {
    const item = i + itemOffset;
    const t = recordTable(input.element, { item, argument: itemField });
    const stored = normalizeRecord(t, input.record, { item });
    if (!byElement.has(t.element.name)) byElement.set(t.element.name, []);
    byElement.get(t.element.name)!.push({ ...stored, _item: item });
  });
  const result: RecordWriteResult = { inserted: 0, conflictingKept: 0, conflictExamples: [] };
  for (const [name, rows] of byElement) {
    const t = dimensionTable(name)!;
    const cols = t.columns.map((c) => q(c.name)).join(", ");
    const json = JSON.stringify(rows);
    const [{ n }] = await db.query(
      `WITH ins AS (
         INSERT INTO ${t.table} (${cols})
         SELECT ${cols} FROM jsonb_to_recordset($1::jsonb) AS r(${recordsetColumns(t)}) ORDER BY _item
         ON CONFLICT DO NOTHING RETURNING 1)
       SELECT count(*) AS n FROM ins`,
      [json],
    );
    result.inserted += Number(n);
    const pkJoin = t.primaryKey.map((k) => `s.${q(k)} = r.${q(k)}`).join(" AND ");
    // The bounds follow from the region; comparing the region is enough.
    const compared = t.columns.filter((c) => c.role !== "bounds");
    const rowOf = (alias: string) => `ROW(${compared.map((c) => `${alias}.${q(c.name)}`).join(", ")})`;
    const differing = `array_remove(ARRAY[${compared.map((c) => `CASE WHEN s.${q(c.name)} IS DISTINCT FROM r.${q(c.name)} THEN '${c.name}' END`).join(", ")}], NULL)`;
    const conflicts: Array<{ item: number; missing: boolean; total: string; fields: string[] | null; s: Record<string, unknown> | null; r: Record<string, unknown> }> = await db.query(
      `SELECT r._item AS item, s.${q(t.primaryKey[0])} IS NULL AS missing, count(*) OVER (PARTITION BY s.${q(t.primaryKey[0])} IS NULL) AS total,
              ${differing} AS fields, to_jsonb(s) AS s, to_jsonb(r) AS r
       FROM jsonb_to_recordset($1::jsonb) AS r(${recordsetColumns(t)})
       LEFT JOIN ${t.table} s ON ${pkJoin}
       WHERE s.${q(t.primaryKey[0])} IS NULL OR ${rowOf("s")} IS DISTINCT FROM ${rowOf("r")}
       ORDER BY s.${q(t.primaryKey[0])} IS NOT NULL, r._item LIMIT ${mode === "strict" ? 1 : KEPT_CONFLICT_EXAMPLES}`,
      [json],
    );
    const clash = conflicts.find((c) => c.missing) ?? (mode === "strict" ? conflicts[0] : undefined);
    if (clash) {
      const { item, missing } = clash;
      const row = rows.find((r) => r._item === item)!;
      const key = Object.fromEntries(t.primaryKey.map((k) => [k, row[k]]));
      throw facilityError(
        FacilityErrorCode.DIMENSION_CONFLICT,
        missing
          ? `item ${item}: the ${name} record ${JSON.stringify(key)} clashes on an alternate key (${t.element.alternateKeys.join(", ")}) with a stored record`
          : `item ${item}: the ${name} record ${JSON.stringify(key)} differs from the stored (or an earlier) record with the same key in ${(clash.fields ?? []).join(", ")}`,
        { item, argument: itemField, element: name, key, ...(missing ? {} : { fields: [...new Set((clash.fields ?? []).map(fieldOfColumn))] }) },
      );
    }
    if (conflicts.length) {
      result.conflictingKept += Number(conflicts[0].total);
      for (const c of conflicts) {
        if (result.conflictExamples.length >= KEPT_CONFLICT_EXAMPLES) break;
        const fields = [...new Set((c.fields ?? []).map(fieldOfColumn))];
        const pick = (row: Record<string, unknown>) => {
          const out: Record<string, unknown> = {};
          const time = (v: unknown) => (v === null || v === undefined ? null : toUtcText(v));
          for (const f of fields) out[f] = f === "timespan" ? { begin: time(row.timespan_begin), end: time(row.timespan_end) } : (row[f] ?? null);
          return out;
        };
        result.conflictExamples.push({
          element: name,
          key: Object.fromEntries(t.primaryKey.map((k) => [k, c.r[k]])),
          fields,
          stored: pick(c.s ?? {}),
          given: pick(c.r),
        });
      }
    }
  }
  return result;
}

/** A stored row → the record as clients see it (daf_butler's toDict): timespan as {begin, end}. */
export function recordOfRow(t: DimensionTable, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.columns) {
    if (c.role === "timespan" || c.role === "bounds") continue;
    const v = row[c.name];
    out[c.name] = v instanceof Date ? formatUtc(dateToMicros(v)) : (v ?? null);
  }
  if (t.element.hasTimespan) {
    const iso = (v: unknown) => (v instanceof Date ? formatUtc(dateToMicros(v)) : null);
    out.timespan = row.timespan_begin === null && row.timespan_end === null ? null : { begin: iso(row.timespan_begin), end: iso(row.timespan_end) };
  }
  return out;
}

/** The data ID of a record: its required dimensions and its own primary key value. */
export function dataIdOfRecord(t: DimensionTable, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of t.columns) {
    if (c.role === "required") out[c.name] = row[c.name];
    if (c.role === "key") out[t.element.name] = row[c.name];
  }
  return out;
}

export interface DimensionRecordRow {
  element: string;
  dataId: Record<string, unknown>;
  record: Record<string, unknown>;
  /** The primary key values (the cursor). */
  key: unknown[];
}

/**
 * One page of an element's records matching a where expression (over the element's fields and
 * dimensions, and those of the dimensions it implies), ordered by primary key.
 */
export async function listDimensionRecords(
  db: EntityManager,
  elementName: string,
  args: { where?: string | null; bind?: Record<string, unknown> | null; first?: number | null; after?: string | null },
): Promise<Page<DimensionRecordRow>> {
  const t = recordTable(elementName, { argument: "element" });
  const limit = pageSize(args.first);
  const params: unknown[] = [];
  const where = await compileWhere(db, args.where, recordSource(t), params, args.bind);
  const from = `FROM ${t.table} r ${where.joins.join(" ")} WHERE ${where.sql}`;
  const countParams = [...params];
  let after = "";
  if (args.after) {
    const key = decodeCursor(
      args.after,
      t.primaryKey.map((k) => {
        const type = t.columns.find((c) => c.name === k)!.type;
        return type === "int" ? "int" : type === "float" ? "number" : "text";
      }),
    );
    const placeholders = t.primaryKey.map((k, i) => {
      params.push(key[i]);
      return `$${params.length}::${SQL_TYPES[t.columns.find((c) => c.name === k)!.type]}`;
    });
    after = ` AND (${t.primaryKey.map((k) => `r.${q(k)}`).join(", ")}) > (${placeholders.join(", ")})`;
  }
  params.push(limit + 1);
  const rows: Array<Record<string, unknown>> = await evaluateWhere(args.where, () =>
    db.query(`SELECT r.* ${from}${after} ORDER BY ${t.primaryKey.map((k) => `r.${q(k)}`).join(", ")} LIMIT $${params.length}`, params),
  );
  const out = rows.map((row) => ({ element: t.element.name, dataId: dataIdOfRecord(t, row), record: recordOfRow(t, row), key: t.primaryKey.map((k) => row[k]) }));
  return toPage(out, limit, (r) => r.key, async () => {
    const [{ n }] = await evaluateWhere(args.where, () => db.query(`SELECT count(*) AS n ${from}`, countParams));
    return n;
  });
}

/** Records of an element by data IDs (for export): the rows whose primary key values are given. */
export async function recordsByKeys(db: EntityManager, elementName: string, keys: unknown[][]): Promise<Array<Record<string, unknown>>> {
  const t = recordTable(elementName);
  if (!keys.length) return [];
  const arrays = t.primaryKey.map((_, i) => keys.map((k) => k[i]));
  const types = t.primaryKey.map((k) => SQL_TYPES[t.columns.find((c) => c.name === k)!.type]);
  const rows: Array<Record<string, unknown>> = await db.query(
    `SELECT DISTINCT r.* FROM unnest(${types.map((ty, i) => `$${i + 1}::${ty}[]`).join(", ")}) AS k(${t.primaryKey.map((_, i) => `k${i}`).join(", ")})
     JOIN ${t.table} r ON ${t.primaryKey.map((k, i) => `r.${q(k)} = k.k${i}`).join(" AND ")}
     ORDER BY ${t.primaryKey.map((k) => `r.${q(k)}`).join(", ")}`,
    arrays,
  );
  return rows;
}

/**
 * Records of a join element (visit_definition, visit_detector_region, …) belonging to the given
 * records of the dimension that populates it (for export): rows whose columns of that dimension's
 * primary key match.
 */
export async function recordsPopulatedBy(db: EntityManager, elementName: string, dimension: string, keys: unknown[][]): Promise<Array<Record<string, unknown>>> {
  const t = recordTable(elementName);
  const by = recordTable(dimension);
  if (!keys.length) return [];
  // The populating dimension's key values, in the element's columns named after their dimensions.
  const columns = by.primaryKey.map((k, i) => ({ name: by.keyDimensions[i], type: SQL_TYPES[by.columns.find((c) => c.name === k)!.type] }));
  const arrays = columns.map((_, i) => keys.map((k) => k[i]));
  return db.query(
    `SELECT r.* FROM unnest(${columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ")}) AS k(${columns.map((_, i) => `k${i}`).join(", ")})
     JOIN ${t.table} r ON ${columns.map((c, i) => `r.${q(c.name)} = k.k${i}`).join(" AND ")}
     ORDER BY ${t.primaryKey.map((k) => `r.${q(k)}`).join(", ")}`,
    arrays,
  );
}
