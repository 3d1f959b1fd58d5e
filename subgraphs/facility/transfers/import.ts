import type { EntityManager } from "typeorm";
import { associate, certify, registerCollections, RegisterCollectionInput, setCollectionChain } from "../collection";
import { DatasetTypeInput, registerDatasetTypes } from "../dataset-type";
import { DimensionRecordInput, KeptRecordConflict } from "../dimension-record";
import { UNIVERSE_NAMESPACE } from "../dimension-universe";
import { facilityError, FacilityErrorCode } from "../errors";
import { ingestDatasets, IngestDatasetInput } from "../ingest";
import { parseButlerYaml } from "./butler-yaml";
import { parseIndexJson, zipDimensionRecords } from "./zip-records";

/**
 * Imports what a Butler exported: daf_butler's YAML export (`butler export` / Butler.export:
 * "description: Butler Data Repository Export", version 1.x, entries of type dimension, run,
 * collection, dataset_type, dataset and associations) or a Butler zip's index
 * (`_butler_zip_index.json`: index_version V1, refs.compact_refs, artifact_map, and in newer
 * daf_butler refs.dimension_records). Everything is written in one transaction through the same
 * code as ingestDatasets, so an import is idempotent: importing the same file twice adds nothing.
 * Dimension records whose key is already stored are kept as stored, as daf_butler's import does
 * (it inserts them with skip_existing); those that differ are counted and a few shown in the
 * summary (conflictingRecordsKept).
 *
 * Not read: exports of dimension universes before version 6 (daf_butler migrates their visits,
 * groups and day_obs on import, which needs each instrument's day_obs offset), and the integer
 * dataset IDs of very old exports.
 */

export type ImportFormat = "YAML" | "ZIP_INDEX";

export interface ImportPlan {
  format: ImportFormat;
  datasetTypes: DatasetTypeInput[];
  collections: RegisterCollectionInput[];
  chains: Array<{ parent: string; children: string[] }>;
  dimensionRecords: DimensionRecordInput[];
  datasets: IngestDatasetInput[];
  tagged: Array<{ collection: string; ids: string[] }>;
  certified: Array<{ collection: string; begin: unknown; end: unknown; ids: string[] }>;
}

export interface ImportSummary {
  format: ImportFormat;
  datasetTypes: number;
  collections: number;
  dimensionRecordsInserted: number;
  datasets: number;
  datasetsInserted: number;
  associations: number;
  conflictingRecordsKept: number;
  conflictingRecordExamples: KeptRecordConflict[];
}

/** The oldest dimension universe whose YAML exports are read (older ones need daf_butler's migrations). */
export const OLDEST_YAML_UNIVERSE = 6;

function formatError(message: string, details: Record<string, unknown> = {}) {
  return facilityError(FacilityErrorCode.IMPORT_FORMAT_ERROR, message, details);
}

const list = <T>(v: T | T[] | null | undefined): T[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v : [v]);

function emptyPlan(format: ImportFormat): ImportPlan {
  return { format, datasetTypes: [], collections: [], chains: [], dimensionRecords: [], datasets: [], tagged: [], certified: [] };
}

function checkUniverse(namespace: unknown) {
  if (namespace !== undefined && namespace !== UNIVERSE_NAMESPACE) {
    throw formatError(`the file uses the dimension universe '${String(namespace)}'; this registry has ${UNIVERSE_NAMESPACE} (version 8)`);
  }
}

/** Reads daf_butler's YAML export. */
export function planYamlImport(text: string, didScope?: string | null): ImportPlan {
  const doc = parseButlerYaml(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== "object" || doc.description !== "Butler Data Repository Export" || !Array.isArray(doc.data)) {
    throw formatError("not a Butler export: expected a mapping with description 'Butler Data Repository Export' and a data list");
  }
  const version = String(doc.version ?? "0");
  if (version !== "0" && !/^1\.\d+\.\d+$/.test(version)) throw formatError(`export format version ${version} is not supported (1.x.x is)`);
  checkUniverse(doc.universe_namespace);
  // daf_butler reads a missing universe_version as 0; it migrates visits and exposures (and
  // dataset types with visit_system) of universes before 6 on import. Such entries are refused.
  const universeVersion = Number(doc.universe_version ?? 0);
  const oldUniverse = (doc.universe_namespace ?? UNIVERSE_NAMESPACE) === UNIVERSE_NAMESPACE && !(universeVersion >= OLDEST_YAML_UNIVERSE);
  const refuseOld = (i: number, what: string) =>
    formatError(
      `data entry ${i} (${what}) was written with dimension universe version ${String(doc.universe_version ?? 0)}${doc.universe_version === undefined ? " (the file gives none)" : ""}; ` +
        `this registry reads such entries from versions ${OLDEST_YAML_UNIVERSE} to 8 (older visits, exposures and day_obs need daf_butler's import migrations: import the file into a Butler and export it again)`,
      { entry: i, universeVersion: doc.universe_version ?? 0 },
    );
  const plan = emptyPlan("YAML");
  const typeStorage = new Map<string, string>();
  (doc.data as Array<Record<string, any>>).forEach((entry, i) => {
    const at = { entry: i };
    if (!entry || typeof entry !== "object") throw formatError(`data entry ${i} is not a mapping`, at);
    switch (entry.type) {
      case "dimension":
        if (oldUniverse && ["visit", "exposure"].includes(String(entry.element))) throw refuseOld(i, `${String(entry.element)} records`);
        for (const record of list(entry.records)) plan.dimensionRecords.push({ element: String(entry.element), record });
        break;
      case "run":
        plan.collections.push({ name: String(entry.name), type: "RUN", doc: entry.doc ?? null });
        break;
      case "collection": {
        const type = String(entry.collection_type);
        if (!["RUN", "TAGGED", "CHAINED", "CALIBRATION"].includes(type)) throw formatError(`data entry ${i}: unknown collection_type '${type}'`, at);
        plan.collections.push({ name: String(entry.name), type: type as RegisterCollectionInput["type"], doc: entry.doc ?? null });
        if (type === "CHAINED") {
          // Older exports wrote [child, dataset type restriction] pairs; the restriction is ignored, as daf_butler does.
          plan.chains.push({ parent: String(entry.name), children: list(entry.children).map((c: unknown) => String(Array.isArray(c) ? c[0] : c)) });
        }
        break;
      }
      case "dataset_type":
        if (oldUniverse && list(entry.dimensions).includes("visit_system")) throw refuseOld(i, `dataset type ${String(entry.name)}`);
        plan.datasetTypes.push({
          name: String(entry.name),
          dimensions: list(entry.dimensions).map(String),
          storageClass: String(entry.storage_class),
          isCalibration: Boolean(entry.is_calibration ?? false),
        });
        typeStorage.set(String(entry.name), String(entry.storage_class));
        break;
      case "dataset":
        for (const r of list(entry.records) as Array<Record<string, any>>) {
          const ids = list(r.dataset_id);
          const dataIds = list(r.data_id);
          if (ids.length !== dataIds.length) throw formatError(`data entry ${i}: a record has ${ids.length} dataset IDs and ${dataIds.length} data IDs`, at);
          ids.forEach((id, k) => {
            if (typeof id !== "string") throw formatError(`data entry ${i}: dataset_id ${String(id)} is not a UUID (integer IDs of old exports are not supported)`, at);
            plan.datasets.push({
              datasetType: String(entry.dataset_type),
              run: String(entry.run),
              id,
              dataId: dataIds[k] as Record<string, unknown>,
              files: r.path
                ? [{ path: String(r.path), formatter: r.formatter ?? null, ...(didScope ? { scope: didScope, name: String(r.path) } : {}) }]
                : [],
            });
          });
        }
        break;
      case "associations": {
        const ids = [...list(entry.dataset_ids), ...(list(entry.validity_ranges) as Array<Record<string, any>>).flatMap((v) => list(v?.dataset_ids))];
        const integer = ids.find((id) => typeof id !== "string");
        if (integer !== undefined) throw formatError(`data entry ${i}: dataset ID ${String(integer)} is not a UUID (integer IDs of old exports are not supported)`, at);
        if (entry.collection_type === "TAGGED") plan.tagged.push({ collection: String(entry.collection), ids: list(entry.dataset_ids).map(String) });
        else if (entry.collection_type === "CALIBRATION") {
          for (const v of list(entry.validity_ranges) as Array<Record<string, any>>) {
            const ts = v.timespan ?? { begin: v.begin ?? null, end: v.end ?? null };
            plan.certified.push({ collection: String(entry.collection), begin: ts?.begin ?? null, end: ts?.end ?? null, ids: list(v.dataset_ids).map(String) });
          }
        } else throw formatError(`data entry ${i}: associations of a ${String(entry.collection_type)} collection`, at);
        break;
      }
      default:
        throw formatError(`data entry ${i} has the unknown type '${String(entry.type)}'`, at);
    }
  });
  void typeStorage;
  return plan;
}

/** Reads a Butler zip index (`_butler_zip_index.json`). */
export function planZipIndexImport(text: string, didScope?: string | null): ImportPlan {
  let index: any;
  try {
    index = parseIndexJson(text);
  } catch (err) {
    throw formatError(`the zip index is not valid JSON: ${(err as Error).message}`);
  }
  if (index?.index_version !== "V1" || !index.refs || typeof index.refs.compact_refs !== "object") {
    throw formatError("not a Butler zip index: expected index_version V1 with refs.compact_refs and artifact_map");
  }
  checkUniverse(index.refs.universe_namespace);
  const plan = emptyPlan("ZIP_INDEX");
  plan.dimensionRecords = zipDimensionRecords(index.refs.dimension_records, index.refs.universe_version);
  for (const [name, t] of Object.entries<any>(index.refs.dataset_types ?? {})) {
    const dims = Array.isArray(t.dimensions) ? t.dimensions : (t.dimensions?.names ?? []);
    plan.datasetTypes.push({ name: t.name ?? name, dimensions: dims, storageClass: t.storageClass, isCalibration: t.isCalibration ?? false });
  }
  const files = new Map<string, Array<{ path: string; formatter: string; storageClass: string; component: string | null; checksum: string | null; fileSize: number }>>();
  for (const [member, a] of Object.entries<any>(index.artifact_map ?? {})) {
    for (const id of list(a.ids)) {
      const info = a.info ?? {};
      if (!files.has(id)) files.set(id, []);
      files.get(id)!.push({
        path: member,
        formatter: info.formatter ?? "",
        storageClass: info.storage_class,
        component: info.component ?? null,
        checksum: info.checksum ?? null,
        fileSize: info.file_size,
        ...(didScope ? { scope: didScope, name: member } : {}),
      });
    }
  }
  const runs = new Set<string>();
  for (const [id, ref] of Object.entries<any>(index.refs.compact_refs)) {
    runs.add(ref.run);
    plan.datasets.push({ datasetType: ref.dataset_type_name, run: ref.run, id, dataId: ref.data_id, files: files.get(id) ?? [] });
  }
  for (const run of runs) plan.collections.push({ name: run, type: "RUN" });
  return plan;
}

export function planImport(text: string, didScope?: string | null): ImportPlan {
  return text.trimStart().startsWith("{") ? planZipIndexImport(text, didScope) : planYamlImport(text, didScope);
}

/** Writes an import plan in one transaction. */
export async function applyImport(db: EntityManager, plan: ImportPlan): Promise<ImportSummary> {
  return db.transaction(async (tx) => {
    await registerDatasetTypes(tx, plan.datasetTypes);
    await registerCollections(tx, plan.collections);
    const ingest = await ingestDatasets(tx, { dimensionRecords: plan.dimensionRecords, datasets: plan.datasets, createRuns: true, keepStoredRecords: true });
    for (const c of plan.chains) await setCollectionChain(tx, c.parent, c.children);
    let associations = 0;
    for (const t of plan.tagged) associations += await associate(tx, t.collection, t.ids);
    for (const c of plan.certified) {
      // Re-importing: certifications already present are skipped, so the import stays idempotent.
      const fresh: Array<{ id: string }> = await tx.query(
        `SELECT i.id::text AS id FROM unnest($1::uuid[]) AS i(id)
         WHERE NOT EXISTS (SELECT 1 FROM calibs k JOIN collections c ON c.id = k.collection_id WHERE c.name = $2 AND k.dataset_id = i.id)`,
        [c.ids, c.collection],
      );
      if (fresh.length) associations += await certify(tx, c.collection, fresh.map((f) => f.id), c.begin, c.end);
    }
    return {
      format: plan.format,
      datasetTypes: plan.datasetTypes.length,
      collections: plan.collections.length,
      dimensionRecordsInserted: ingest.dimensionRecordsInserted,
      datasets: plan.datasets.length,
      datasetsInserted: ingest.datasetsInserted,
      associations,
      conflictingRecordsKept: ingest.conflictingRecordsKept,
      conflictingRecordExamples: ingest.conflictingRecordExamples,
    };
  });
}
