import { z } from "zod";
import { facilityError, FacilityErrorCode } from "../errors";

/**
 * A DID's metadata as Rubin's registration tool writes it (lsst/rucio_register: RubinMeta and
 * DataType): `rubin_butler` says what the file is — raw_file, data_product, zip_file, dim_file —
 * and `rubin_sidecar` holds the dataset ref as daf_butler's `DatasetRef.to_json()` writes it (a
 * JSON string, or here also the object): `{id, datasetType: {name, storageClass, dimensions},
 * dataId: {dataId: {...}}, run}` (SerializedDatasetRef; dimensions a list of names, or
 * `{names: [...]}` as older versions write them). Errors are BAD_BUTLER_METADATA naming the key.
 */

export const RUBIN_BUTLER_TYPES = ["raw_file", "data_product", "zip_file", "dim_file"] as const;
export type RubinButlerType = (typeof RUBIN_BUTLER_TYPES)[number];

export interface ButlerRef {
  id: string;
  datasetType: { name: string; storageClass: string; dimensions: string[]; isCalibration: boolean };
  dataId: Record<string, string | number>;
  run: string;
  component: string | null;
}

function bad(message: string, key: string) {
  return facilityError(FacilityErrorCode.BAD_BUTLER_METADATA, message, { key });
}

const REF = z.object({
  id: z.string().regex(/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i, "a UUID"),
  datasetType: z.object({
    name: z.string().min(1),
    storageClass: z.string().min(1),
    dimensions: z.union([z.array(z.string()), z.object({ names: z.array(z.string()) })]),
    isCalibration: z.boolean().nullish(),
    parentStorageClass: z.string().nullish(),
  }),
  dataId: z.object({ dataId: z.record(z.string(), z.union([z.string(), z.number().int()])) }),
  run: z.string().min(1),
  component: z.string().nullish(),
});

/** What `rubin_butler` says the file is, or null when the DID has none. */
export function rubinButlerType(metadata: Record<string, unknown> | null | undefined): RubinButlerType | null {
  const v = metadata?.rubin_butler;
  if (v === undefined || v === null || v === "") return null;
  if (typeof v !== "string" || !(RUBIN_BUTLER_TYPES as readonly string[]).includes(v)) {
    throw bad(`rubin_butler must be one of ${RUBIN_BUTLER_TYPES.join(", ")}, not ${JSON.stringify(v)}`, "rubin_butler");
  }
  return v as RubinButlerType;
}

/** `rubin_sidecar` → the dataset ref, or null when it is absent or empty (rucio_register writes "" for zips and dims). */
export function rubinSidecarRef(metadata: Record<string, unknown> | null | undefined): ButlerRef | null {
  let v = metadata?.rubin_sidecar;
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch (err) {
      throw bad(`rubin_sidecar is not JSON (DatasetRef.to_json()): ${(err as Error).message}`, "rubin_sidecar");
    }
  }
  const parsed = REF.safeParse(v);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = ["rubin_sidecar", ...issue.path.map(String)].join(".");
    throw bad(`${key}: ${issue.message}`, key);
  }
  const r = parsed.data;
  const dims = Array.isArray(r.datasetType.dimensions) ? r.datasetType.dimensions : r.datasetType.dimensions.names;
  const hex = r.id.replace(/-/g, "").toLowerCase();
  return {
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    datasetType: { name: r.datasetType.name, storageClass: r.datasetType.storageClass, dimensions: dims, isCalibration: r.datasetType.isCalibration ?? false },
    dataId: r.dataId.dataId,
    run: r.run,
    component: r.component ?? null,
  };
}
