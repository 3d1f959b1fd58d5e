import type { FitsValue } from "../../../lib/fits-header";
import { readHeaderValues } from "../../../lib/fits-header";
import { makeDatasetId } from "../dataset-id";
import type { DatasetTypeInput } from "../dataset-type";
import type { DimensionRecordInput } from "../dimension-record";
import { facilityError, FacilityErrorCode } from "../errors";
import type { FileRecordInput, IngestDatasetInput } from "../ingest";
import type { Observation } from "../instrument/observation";
import { isPhotodiodeHeader, PHOTODIODE_CARDS, PHOTODIODE_DATASET_TYPE, PHOTODIODE_FORMATTER, planPhotodiode } from "../instrument/photodiode";
import { isTranslatedCard, planRaw, RAW_DATASET_TYPE, RAW_FORMATTERS, translateHeader } from "../instrument/translate";
import { ImportPlan, planImport } from "../transfers/import";
import { rubinButlerType, rubinSidecarRef } from "./butler-metadata";
import { readSidecar } from "./sidecar";

/**
 * What an arrived file becomes in the Butler, decided from what the agent knows of it, in the
 * order the issue gives:
 *   1. the DID's metadata: `rubin_butler` data_product (or raw_file) with a `rubin_sidecar`
 *      DatasetRef → that dataset with that exact id; zip_file → the datasets of its
 *      `_butler_zip_index.json`; dim_file → the Butler YAML export it is, imported;
 *   2. a raw FITS primary header → the raw (translated as obs_lsst translates it), with the
 *      records it implies, id DATAID_TYPE_RUN in `<instrument>/raw/all`; a photodiode file's
 *      header (an Electrometer's readings from the Large File Annex) → its `photodiode` dataset,
 *      attached to the exposure of its GROUPID when it is ingested (instrument/photodiode.ts);
 *   3. a sidecar (per file, or the batch's `_index.json`) → the same, from its header or its
 *      ObservationInfo;
 *   4. none of these → NOT_A_DATASET (replicated without ingest).
 * Pure: no database. A file that is one of these but wrong is a DbbError naming the card or key.
 */

export interface ArrivalInput {
  scope: string;
  name: string;
  rse: string;
  /** The file's path in the facility's store (the file record's path). */
  path: string;
  bytes?: number | null;
  /** The DID's metadata (rubin_butler, rubin_sidecar, …). */
  metadata?: Record<string, unknown> | null;
  /** The primary header: its cards as text (the header's bytes up to END as Latin-1 text, or one card a line). */
  header?: string | null;
  /** The file's sidecar object (NAME.json / NAME.yaml read), or the batch's _index.json. */
  sidecar?: Record<string, unknown> | null;
  /** For a zip_file, the text of its _butler_zip_index.json; for a dim_file, the file's text (a Butler YAML export). */
  butlerFile?: string | null;
  /** The instrument the agent's configuration gives the file's source (agent.lfaIngest), for products whose header names their device, not a camera. */
  instrument?: string | null;
}

export type ArrivalSource = "rubin_sidecar" | "zip_index" | "dim_file" | "header" | "photodiode" | "sidecar" | "none";

export type ArrivalPlan =
  | {
      kind: "datasets";
      source: ArrivalSource;
      datasetTypes: DatasetTypeInput[];
      records: DimensionRecordInput[];
      datasets: IngestDatasetInput[];
      /** Null until the exposure of `exposureByGroup` is found (then its dataset's id). */
      datasetId: string | null;
      /** The dataset's exposure is the instrument's exposure of this group, found when it is ingested (a photodiode file). */
      exposureByGroup?: { instrument: string; group: string };
    }
  | { kind: "import"; source: ArrivalSource; plan: ImportPlan; datasetId: string | null }
  | { kind: "none"; source: "none" };

function fileRecord(a: ArrivalInput, extra: Partial<FileRecordInput> = {}): FileRecordInput {
  return { path: a.path, fileSize: a.bytes ?? null, scope: a.scope, name: a.name, ...extra };
}

/** A translated observation → the raw to ingest. */
export function rawPlan(a: ArrivalInput, observation: Observation, source: ArrivalSource): ArrivalPlan {
  const raw = planRaw(observation);
  const id = makeDatasetId("raw", raw.run, raw.dataId, "DATAID_TYPE_RUN");
  return {
    kind: "datasets",
    source,
    datasetTypes: [{ ...RAW_DATASET_TYPE, dimensions: [...RAW_DATASET_TYPE.dimensions] }],
    records: raw.records,
    datasets: [{ datasetType: "raw", run: raw.run, dataId: raw.dataId, id, files: [fileRecord(a, { formatter: RAW_FORMATTERS[observation.instrument] ?? null, storageClass: "Exposure" })] }],
    datasetId: id,
  };
}

/** A photodiode file → its dataset, whose exposure (and so its id) is found by GROUPID at ingest. */
function photodiodePlan(a: ArrivalInput, values: Record<string, FitsValue>): ArrivalPlan {
  const p = planPhotodiode(values, a.instrument);
  return {
    kind: "datasets",
    source: "photodiode",
    datasetTypes: [{ ...PHOTODIODE_DATASET_TYPE, dimensions: [...PHOTODIODE_DATASET_TYPE.dimensions] }],
    records: [],
    datasets: [{ datasetType: PHOTODIODE_DATASET_TYPE.name, run: p.run, dataId: { instrument: p.instrument }, files: [fileRecord(a, { formatter: PHOTODIODE_FORMATTER, storageClass: PHOTODIODE_DATASET_TYPE.storageClass })] }],
    datasetId: null,
    exposureByGroup: { instrument: p.instrument, group: p.group },
  };
}

function importPlan(a: ArrivalInput, type: "zip_file" | "dim_file"): ArrivalPlan {
  const key = type === "zip_file" ? "_butler_zip_index.json" : "the Butler YAML export";
  if (typeof a.butlerFile !== "string" || !a.butlerFile.trim()) {
    throw facilityError(FacilityErrorCode.BAD_BUTLER_METADATA, `rubin_butler is ${type}: give ${key} as butlerFile`, { key: "butlerFile" });
  }
  const plan = planImport(a.butlerFile);
  if (type === "zip_file") {
    if (plan.format !== "ZIP_INDEX") throw facilityError(FacilityErrorCode.BAD_BUTLER_METADATA, "rubin_butler is zip_file but butlerFile is not a zip index", { key: "butlerFile" });
    // Each member is read from inside the zip: its file record is "<zip path>#<member>", of the zip's DID.
    for (const d of plan.datasets) d.files = (d.files ?? []).map((f) => ({ ...f, path: `${a.path}#${f.path}`, scope: a.scope, name: a.name }));
  } else if (plan.format !== "YAML") {
    throw facilityError(FacilityErrorCode.BAD_BUTLER_METADATA, "rubin_butler is dim_file but butlerFile is not a Butler YAML export", { key: "butlerFile" });
  }
  return { kind: "import", source: type === "zip_file" ? "zip_index" : "dim_file", plan, datasetId: plan.datasets[0]?.id ?? null };
}

/** The cards a raw's or a photodiode file's header is read for (one function, so readHeaderValues remembers its answers). */
const cardsRead = (keyword: string): boolean => isTranslatedCard(keyword) || PHOTODIODE_CARDS.has(keyword);

export function planArrival(a: ArrivalInput): ArrivalPlan {
  const type = rubinButlerType(a.metadata);
  if (type === "zip_file" || type === "dim_file") return importPlan(a, type);
  const ref = rubinSidecarRef(a.metadata);
  if (ref) {
    return {
      kind: "datasets",
      source: "rubin_sidecar",
      datasetTypes: [{ name: ref.datasetType.name, dimensions: ref.datasetType.dimensions, storageClass: ref.datasetType.storageClass, isCalibration: ref.datasetType.isCalibration }],
      records: [],
      datasets: [{ datasetType: ref.datasetType.name, run: ref.run, dataId: ref.dataId, id: ref.id, files: [fileRecord(a, { storageClass: ref.datasetType.storageClass, component: ref.component })] }],
      datasetId: ref.id,
    };
  }
  if (type === "data_product") {
    throw facilityError(FacilityErrorCode.BAD_BUTLER_METADATA, "rubin_butler is data_product but rubin_sidecar holds no DatasetRef (DatasetRef.to_json())", { key: "rubin_sidecar" });
  }
  if (typeof a.header === "string" && a.header.trim()) {
    const values: Record<string, FitsValue> = readHeaderValues(a.header, cardsRead);
    if (isPhotodiodeHeader(values)) return photodiodePlan(a, values);
    return rawPlan(a, translateHeader(values), "header");
  }
  if (a.sidecar && typeof a.sidecar === "object") {
    const content = readSidecar(a.sidecar, a.name);
    return rawPlan(a, content.kind === "translated" ? content.observation : translateHeader(content.header), "sidecar");
  }
  if (type === "raw_file") {
    throw facilityError(FacilityErrorCode.BAD_FITS_HEADER, "rubin_butler is raw_file but neither its header nor a sidecar was given", { key: "header" });
  }
  return { kind: "none", source: "none" };
}
