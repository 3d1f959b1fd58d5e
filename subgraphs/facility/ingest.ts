import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { resolveRuns } from "./collection";
import { IdGenerationMode, makeDatasetId } from "./dataset-id";
import { datasetTypesByName, DatasetTypeInput, DatasetTypeRow, registerDatasetTypes, requiredDimensions } from "./dataset-type";
import { DimensionRecordInput, insertDimensionRecords, KeptRecordConflict } from "./dimension-record";
import { DATASET_DIMENSION_COLUMNS, dimensionTable, q, SQL_TYPES } from "./dimension-tables";
import { element, ELEMENTS, primaryKeyField } from "./dimension-universe";
import { facilityError, FacilityErrorCode } from "./errors";
import { checkDatasetTypeName } from "./names";

/**
 * Bulk, idempotent ingest of datasets and their file records, with the dimension records they
 * need, in one transaction, set-based whatever the number of datasets (the data go through a
 * temporary staging table filled from unnest(...); the statement count does not grow with rows).
 *
 *   - Dimension records are inserted, or checked against the stored ones (DIMENSION_CONFLICT); with
 *     `keepStoredRecords` a differing stored record is kept and counted instead, as imports do.
 *   - Dataset types are registered first when given (DATASET_TYPE_CONFLICT when they differ);
 *     missing runs are created when `createRuns` is set (COLLECTION_NOT_FOUND otherwise).
 *   - A data ID holds the dataset type's required dimensions (implied ones optional); implied
 *     values are filled from the dimension records (DIMENSION_RECORD_MISSING when a record the data
 *     ID names does not exist; INVALID_DATA_ID when a given implied value contradicts it).
 *   - IDs: given, or made as daf_butler does (DATAID_TYPE_RUN by default, DATAID_TYPE, UNIQUE).
 *     The same dataset twice (same ID, type, run, data ID) is stored once; an ID naming another
 *     dataset, or a data ID that has another dataset in the run, is DATASET_CONFLICT. In UNIQUE mode
 *     a data ID that already has a dataset in the run resolves to it (so a retry is harmless).
 *   - File records are added once per (dataset, component); a different one is DATASET_CONFLICT.
 */

export interface FileRecordInput {
  path: string;
  formatter?: string | null;
  storageClass?: string | null;
  component?: string | null;
  checksum?: string | null;
  fileSize?: number | null;
  /** The DID (scope, name) of the replicated file this record is the local copy of. */
  scope?: string | null;
  name?: string | null;
}

export interface IngestDatasetInput {
  datasetType: string;
  run: string;
  dataId: Record<string, unknown>;
  id?: string | null;
  idGenerationMode?: IdGenerationMode | null;
  files?: FileRecordInput[] | null;
}

export interface IngestInput {
  dimensionRecords?: DimensionRecordInput[] | null;
  datasetTypes?: DatasetTypeInput[] | null;
  createRuns?: boolean | null;
  /** Keep stored dimension records that differ from the given ones (as `butler import`) instead of DIMENSION_CONFLICT. */
  keepStoredRecords?: boolean | null;
  datasets: IngestDatasetInput[];
}

export interface IngestResult {
  /** Dataset IDs in input order (repeats for repeated datasets). */
  ids: string[];
  datasetsInserted: number;
  dimensionRecordsInserted: number;
  fileRecordsInserted: number;
  /** Given dimension records that differed from the stored ones and were not written (keepStoredRecords). */
  conflictingRecordsKept: number;
  conflictingRecordExamples: KeptRecordConflict[];
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MODES: readonly IdGenerationMode[] = ["UNIQUE", "DATAID_TYPE", "DATAID_TYPE_RUN"];

/** Dimensions that imply others, latest in the universe first, so chains (exposure → physical_filter → band) fill in order. */
const IMPLYING = ELEMENTS.filter((e) => e.kind === "dimension" && e.implies.length && dimensionTable(e.name)).reverse();

interface Staged {
  item: number;
  id: string;
  uniqueGenerated: boolean;
  typeId: number;
  runId: number;
  dims: Record<string, string | number | null>;
  skypix: Record<string, number>;
}

function dataIdError(item: number, message: string, extra: Record<string, unknown> = {}) {
  return facilityError(FacilityErrorCode.INVALID_DATA_ID, `item ${item}: ${message}`, { item, argument: "datasets", ...extra });
}

/** Checks a data ID against its dataset type; returns the dimension values (and skypix ones apart). */
function checkDataId(item: number, type: DatasetTypeRow, dataId: unknown): { dims: Record<string, string | number>; skypix: Record<string, number>; required: Record<string, string | number> } {
  if (!dataId || typeof dataId !== "object" || Array.isArray(dataId)) throw dataIdError(item, "dataId must be an object of dimension values");
  const dims: Record<string, string | number> = {};
  const skypix: Record<string, number> = {};
  for (const [key, value] of Object.entries(dataId as Record<string, unknown>)) {
    if (!type.dimensions.includes(key)) {
      throw dataIdError(item, `'${key}' is not a dimension of dataset type ${type.name} (its dimensions: ${type.dimensions.join(", ")})`, { dimension: key });
    }
    const pk = primaryKeyField(key);
    if (value === null || value === undefined) continue;
    if (pk.type === "int" ? !(typeof value === "number" && Number.isSafeInteger(value)) : typeof value !== "string") {
      throw dataIdError(item, `${key} must be ${pk.type === "int" ? "an integer" : "a string"}, got ${JSON.stringify(value)}`, { dimension: key });
    }
    if (element(key).kind === "skypix") skypix[key] = value as number;
    else dims[key] = value as string | number;
  }
  const required: Record<string, string | number> = {};
  for (const d of requiredDimensions(type)) {
    const v = dims[d] ?? skypix[d];
    if (v === undefined) throw dataIdError(item, `the data ID lacks '${d}' (dataset type ${type.name} requires ${requiredDimensions(type).join(", ")})`, { dimension: d });
    required[d] = v;
  }
  return { dims, skypix, required };
}

function checkFile(f: FileRecordInput, item: number, index: number) {
  const at = { item, argument: "datasets", file: index };
  if (!f || typeof f.path !== "string" || !f.path) throw invalidInput(`item ${item}: file ${index} needs a path`, at);
  if (f.fileSize != null && !(Number.isSafeInteger(f.fileSize) && f.fileSize >= 0)) throw invalidInput(`item ${item}: file ${index}: fileSize must be a whole number of bytes`, at);
  if ((f.scope == null) !== (f.name == null)) throw invalidInput(`item ${item}: file ${index}: give both scope and name of the DID, or neither`, at);
}

export async function ingestDatasets(db: EntityManager, input: IngestInput): Promise<IngestResult> {
  const datasets = input.datasets ?? [];
  return db.transaction(async (tx) => {
    await registerDatasetTypes(tx, input.datasetTypes ?? []);
    const records = await insertDimensionRecords(tx, input.dimensionRecords ?? [], 0, "dimensionRecords", input.keepStoredRecords ? "keepStored" : "strict");
    const recordCounts = { dimensionRecordsInserted: records.inserted, conflictingRecordsKept: records.conflictingKept, conflictingRecordExamples: records.conflictExamples };
    if (!datasets.length) return { ids: [], datasetsInserted: 0, fileRecordsInserted: 0, ...recordCounts };

    // Dataset types and runs, by name.
    datasets.forEach((d, item) => checkDatasetTypeName(d?.datasetType, { item, argument: "datasets" }));
    const types = new Map((await datasetTypesByName(tx, [...new Set(datasets.map((d) => d.datasetType))])).map((t) => [t.name, t]));
    const runNames = datasets.map((d) => d.run);
    const runs = await resolveRuns(tx, runNames, input.createRuns ?? false, datasets.map((_, i) => i), "datasets");

    // Per item: data ID, ID.
    const staged: Staged[] = datasets.map((d, item) => {
      const type = types.get(d.datasetType);
      if (!type) {
        throw facilityError(FacilityErrorCode.DATASET_TYPE_NOT_FOUND, `item ${item}: dataset type '${d.datasetType}' is not registered (give it in datasetTypes to register it)`, {
          item,
          argument: "datasets",
          name: d.datasetType,
        });
      }
      const { dims, skypix, required } = checkDataId(item, type, d.dataId);
      const mode = d.idGenerationMode ?? "DATAID_TYPE_RUN";
      if (!MODES.includes(mode)) throw invalidInput(`item ${item}: idGenerationMode must be one of ${MODES.join(", ")}`, { item, argument: "datasets" });
      let id: string;
      if (d.id != null) {
        if (typeof d.id !== "string" || !UUID_RE.test(d.id)) throw invalidInput(`item ${item}: id '${String(d.id)}' is not a UUID`, { item, argument: "datasets" });
        id = d.id.toLowerCase();
      } else id = makeDatasetId(type.name, d.run, required, mode);
      (d.files ?? []).forEach((f, i) => checkFile(f, item, i));
      const full: Record<string, string | number | null> = {};
      for (const col of DATASET_DIMENSION_COLUMNS) full[col] = dims[col] ?? null;
      return { item, id, uniqueGenerated: d.id == null && mode === "UNIQUE", typeId: type.id, runId: runs.get(d.run)!, dims: full, skypix };
    });

    // Stage.
    await tx.query(`DROP TABLE IF EXISTS _ingest`);
    await tx.query(
      `CREATE TEMP TABLE _ingest (item integer PRIMARY KEY, id uuid NOT NULL, unique_generated boolean NOT NULL, type_id integer NOT NULL, run_id integer NOT NULL,
         skypix jsonb NOT NULL, data_id jsonb, ${DATASET_DIMENSION_COLUMNS.map((c) => `${q(c)} ${SQL_TYPES[primaryKeyField(c).type]}`).join(", ")}) ON COMMIT DROP`,
    );
    const dimArrays = DATASET_DIMENSION_COLUMNS.map((c) => staged.map((s) => s.dims[c]));
    const dimUnnest = DATASET_DIMENSION_COLUMNS.map((c, i) => `$${i + 7}::${SQL_TYPES[primaryKeyField(c).type]}[]`);
    await tx.query(
      `INSERT INTO _ingest (item, id, unique_generated, type_id, run_id, skypix, ${DATASET_DIMENSION_COLUMNS.map(q).join(", ")})
       SELECT * FROM unnest($1::int[], $2::uuid[], $3::boolean[], $4::int[], $5::int[], $6::jsonb[], ${dimUnnest.join(", ")})`,
      [
        staged.map((s) => s.item),
        staged.map((s) => s.id),
        staged.map((s) => s.uniqueGenerated),
        staged.map((s) => s.typeId),
        staged.map((s) => s.runId),
        staged.map((s) => JSON.stringify(s.skypix)),
        ...dimArrays,
      ],
    );

    // Fill implied values from the records; a given implied value must agree with them.
    const present = new Set(DATASET_DIMENSION_COLUMNS.filter((_, i) => dimArrays[i].some((v) => v !== null)));
    for (const e of IMPLYING) {
      if (!present.has(e.name)) continue;
      const t = dimensionTable(e.name)!;
      const on = t.primaryKey.map((k, i) => `r.${q(k)} = s.${q(t.keyDimensions[i])}`);
      const clash: Array<{ item: number; dim: string; given: unknown; stored: unknown }> = await tx.query(
        `SELECT s.item, x.dim, x.given, x.stored FROM _ingest s JOIN ${t.table} r ON ${on.join(" AND ")}
         CROSS JOIN LATERAL (VALUES ${e.implies.map((imp) => `('${imp}', s.${q(imp)}::text, r.${q(imp)}::text)`).join(", ")}) AS x(dim, given, stored)
         WHERE x.given IS NOT NULL AND x.given IS DISTINCT FROM x.stored ORDER BY s.item LIMIT 1`,
      );
      if (clash.length) {
        const c = clash[0];
        throw dataIdError(c.item, `${c.dim} '${c.given}' contradicts the ${e.name} record, which says ${c.dim} '${c.stored}'`, { dimension: c.dim });
      }
      await tx.query(
        `UPDATE _ingest s SET ${e.implies.map((imp) => `${q(imp)} = r.${q(imp)}`).join(", ")} FROM ${t.table} r WHERE ${on.join(" AND ")}`,
      );
      for (const imp of e.implies) present.add(imp);
    }

    // Every dimension value with a table must have a record.
    // The first missing record: of the first item, in universe order (instrument before detector).
    const checks = DATASET_DIMENSION_COLUMNS.filter((c) => present.has(c) && dimensionTable(c)).map((c, ord) => {
      const t = dimensionTable(c)!;
      const on = t.primaryKey.map((k, i) => `r.${q(k)} = s.${q(t.keyDimensions[i])}`);
      return `SELECT s.item, ${ord} AS ord, '${c}' AS dim, s.${q(c)}::text AS value FROM _ingest s WHERE s.${q(c)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t.table} r WHERE ${on.join(" AND ")})`;
    });
    if (checks.length) {
      const missing: Array<{ item: number; dim: string; value: string }> = await tx.query(`SELECT * FROM (${checks.join(" UNION ALL ")}) m ORDER BY item, ord LIMIT 1`);
      if (missing.length) {
        const m = missing[0];
        const t = dimensionTable(m.dim)!;
        const keys = t.columns.filter((c) => c.role === "required").map((c) => c.name);
        throw facilityError(
          FacilityErrorCode.DIMENSION_RECORD_MISSING,
          `item ${m.item}: there is no ${m.dim} record for ${m.dim}=${m.value}${keys.length ? ` (with its ${keys.join(", ")})` : ""}; ingest the dimension record first or with the datasets`,
          { item: m.item, argument: "datasets", element: m.dim, value: m.value },
        );
      }
    }

    // The full data ID.
    await tx.query(
      `UPDATE _ingest SET data_id = jsonb_strip_nulls(jsonb_build_object(${DATASET_DIMENSION_COLUMNS.map((c) => `'${c}', ${q(c)}`).join(", ")})) || skypix`,
    );
    await tx.query(`CREATE INDEX ON _ingest (type_id, run_id, data_id)`);
    await tx.query(`ANALYZE _ingest`);

    // UNIQUE mode: a data ID that has a dataset already (stored, or earlier in this call) keeps it.
    if (staged.some((s) => s.uniqueGenerated)) {
      await tx.query(
        `UPDATE _ingest s SET id = COALESCE(
           (SELECT d.id FROM datasets d WHERE d.dataset_type_id = s.type_id AND d.run_id = s.run_id AND d.data_id = s.data_id),
           (SELECT f.id FROM _ingest f WHERE f.type_id = s.type_id AND f.run_id = s.run_id AND f.data_id = s.data_id ORDER BY f.item LIMIT 1))
         WHERE s.unique_generated`,
      );
    }

    const conflicts: Array<{ item: number; reason: string; id: string; other: string }> = await tx.query(
      `SELECT * FROM (
         SELECT s.item, 'id' AS reason, s.id::text AS id, s.id::text AS other FROM _ingest s JOIN datasets d ON d.id = s.id
           WHERE (d.dataset_type_id, d.run_id, d.data_id) IS DISTINCT FROM (s.type_id, s.run_id, s.data_id)
         UNION ALL
         SELECT s.item, 'dataId', s.id::text, d.id::text FROM _ingest s
           JOIN datasets d ON d.dataset_type_id = s.type_id AND d.run_id = s.run_id AND d.data_id = s.data_id WHERE d.id <> s.id
         UNION ALL
         SELECT max(item), 'repeatedId', min(id::text), min(id::text) FROM _ingest GROUP BY id
           HAVING count(DISTINCT jsonb_build_array(type_id, run_id, data_id)) > 1
         UNION ALL
         SELECT max(item), 'repeatedDataId', min(id::text), max(id::text) FROM _ingest GROUP BY type_id, run_id, data_id HAVING count(DISTINCT id) > 1
       ) c ORDER BY item LIMIT 1`,
    );
    if (conflicts.length) {
      const c = conflicts[0];
      const why = {
        id: `dataset ID ${c.id} already names a dataset with another dataset type, run or data ID`,
        dataId: `the run already holds dataset ${c.other} of this dataset type and data ID (this item would be ${c.id})`,
        repeatedId: `dataset ID ${c.id} is given to two different datasets in this call`,
        repeatedDataId: `two different dataset IDs (${c.id}, ${c.other}) for one dataset type, run and data ID in this call`,
      }[c.reason];
      throw facilityError(FacilityErrorCode.DATASET_CONFLICT, `item ${c.item}: ${why}`, { item: c.item, argument: "datasets", id: c.id, reason: c.reason });
    }

    const [{ n: inserted }] = await tx.query(
      `WITH ins AS (
         INSERT INTO datasets (id, dataset_type_id, run_id, data_id, ${DATASET_DIMENSION_COLUMNS.map(q).join(", ")})
         SELECT DISTINCT ON (id) id, type_id, run_id, data_id, ${DATASET_DIMENSION_COLUMNS.map(q).join(", ")} FROM _ingest ORDER BY id, item
         ON CONFLICT (id) DO NOTHING RETURNING 1)
       SELECT count(*) AS n FROM ins`,
    );

    // File records.
    const files = datasets.flatMap((d, item) => (d.files ?? []).map((f) => ({ item, f, storageClass: types.get(d.datasetType)!.storageClass })));
    let filesInserted = 0;
    if (files.length) {
      const params = [
        files.map((x) => x.item),
        files.map((x) => x.f.component ?? ""),
        files.map((x) => x.f.path),
        files.map((x) => x.f.formatter ?? ""),
        files.map((x) => x.f.storageClass ?? x.storageClass),
        files.map((x) => x.f.checksum ?? null),
        files.map((x) => x.f.fileSize ?? null),
        files.map((x) => x.f.scope ?? null),
        files.map((x) => x.f.name ?? null),
      ];
      const staged = `SELECT s.id AS dataset_id, f.* FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[])
                        WITH ORDINALITY AS f(item, component, path, formatter, storage_class, checksum, file_size, did_scope, did_name, ord)
                      JOIN _ingest s ON s.item = f.item`;
      const [{ n }] = await tx.query(
        `WITH ins AS (
           INSERT INTO file_records (dataset_id, component, path, formatter, storage_class, checksum, file_size, did_scope, did_name)
           SELECT dataset_id, component, path, formatter, storage_class, checksum, file_size, did_scope, did_name FROM (${staged}) x ORDER BY ord
           ON CONFLICT (dataset_id, component) DO NOTHING RETURNING 1)
         SELECT count(*) AS n FROM ins`,
        params,
      );
      filesInserted = Number(n);
      // Every row written is its own: none was there before with something else to differ.
      const differ: Array<{ item: number; id: string; component: string }> = filesInserted === files.length ? [] : await tx.query(
        `SELECT x.item, x.dataset_id::text AS id, x.component FROM (${staged}) x
         JOIN file_records r ON r.dataset_id = x.dataset_id AND r.component = x.component
         WHERE (r.path, r.checksum, r.file_size) IS DISTINCT FROM (x.path, COALESCE(x.checksum, r.checksum), COALESCE(x.file_size, r.file_size))
            OR (x.did_scope IS NOT NULL AND (r.did_scope, r.did_name) IS DISTINCT FROM (x.did_scope, x.did_name))
         ORDER BY x.ord LIMIT 1`,
        params,
      );
      if (differ.length) {
        const d = differ[0];
        throw facilityError(
          FacilityErrorCode.DATASET_CONFLICT,
          `item ${d.item}: dataset ${d.id} already has a${d.component ? ` '${d.component}'` : ""} file record with another path, checksum, size or DID`,
          { item: d.item, argument: "datasets", id: d.id, reason: "file" },
        );
      }
    }

    const ids: Array<{ id: string }> = await tx.query(`SELECT id::text AS id FROM _ingest ORDER BY item`);
    return { ids: ids.map((r) => r.id), datasetsInserted: Number(inserted), fileRecordsInserted: Number(filesInserted), ...recordCounts };
  });
}


