import type { FitsValue } from "../../../lib/fits-header";
import { DbbError } from "../../../lib/errors";
import type { DimensionRecordInput } from "../dimension-record";
import { facilityError, FacilityErrorCode } from "../errors";
import { LATISS, LATISS_CAMERA, LATISS_DETECTOR, LATISS_INSTRUMENT_RECORD, isLatissHeader } from "./latiss";
import { LSSTCAM, LSSTCAM_CAMERA, LSSTCAM_INSTRUMENT_RECORD, lsstCamDetector, lsstCamDetectorRecord } from "./lsstcam";
import { isLsstComCamHeader, LSSTCOMCAM, LSSTCOMCAM_CAMERA, LSSTCOMCAM_DETECTORS, LSSTCOMCAM_INSTRUMENT_RECORD } from "./lsstcomcam";
import { headerError, Observation, observationRecords, rawDataId } from "./observation";
import { RubinCamera, translateRubinHeader } from "./rubin-header";

/**
 * A raw header → its observation, the dimension records it implies and its raw dataset, picking the
 * translator as astro_metadata_translator does, by each translator's can_translate: LATISS
 * (INSTRUME LATISS / LSST_ATISS, or DETNAME RXX_S00), LSSTComCam (INSTRUME ComCam on the Simonyi
 * telescope), LSSTCam (INSTRUME lsstCam, any case). Any other header is UNSUPPORTED_INSTRUMENT.
 */

export interface RawPlan {
  observation: Observation;
  /** instrument, detector, then physical_filter, day_obs, group, exposure. */
  records: DimensionRecordInput[];
  datasetType: "raw";
  /** `<instrument>/raw/all`, the run obs_base ingests raws into. */
  run: string;
  dataId: { instrument: string; exposure: number; detector: number };
}

/** The raw dataset type as obs_base registers it. */
export const RAW_DATASET_TYPE = { name: "raw", dimensions: ["instrument", "detector", "exposure"], storageClass: "Exposure", isCalibration: false } as const;

/** The raw formatter obs_lsst registers per instrument (lsst.obs.lsst.rawFormatter). */
export const RAW_FORMATTERS: Readonly<Record<string, string>> = Object.freeze({
  [LSSTCAM]: "lsst.obs.lsst.rawFormatter.LsstCamRawFormatter",
  [LSSTCOMCAM]: "lsst.obs.lsst.rawFormatter.LsstComCamRawFormatter",
  [LATISS]: "lsst.obs.lsst.rawFormatter.LatissRawFormatter",
});

export function rawRun(instrument: string): string {
  return `${instrument}/raw/all`;
}

/** The translator of a header, or null. */
export function cameraOf(values: Record<string, FitsValue>): RubinCamera | null {
  if (isLatissHeader(values)) return LATISS_CAMERA;
  if (isLsstComCamHeader(values)) return LSSTCOMCAM_CAMERA;
  if (typeof values.INSTRUME === "string" && values.INSTRUME.toLowerCase() === "lsstcam") return LSSTCAM_CAMERA;
  return null;
}

/** The instrument and detector records of an observation's instrument. */
export function instrumentRecords(o: Observation): DimensionRecordInput[] {
  switch (o.instrument) {
    case LSSTCAM: {
      const d = lsstCamDetector(o.detector_num);
      return [{ element: "instrument", record: { ...LSSTCAM_INSTRUMENT_RECORD } }, ...(d ? [{ element: "detector", record: lsstCamDetectorRecord(d) }] : [])];
    }
    case LSSTCOMCAM: {
      const d = LSSTCOMCAM_DETECTORS[o.detector_num];
      return [{ element: "instrument", record: { ...LSSTCOMCAM_INSTRUMENT_RECORD } }, ...(d ? [{ element: "detector", record: { ...d } }] : [])];
    }
    case LATISS:
      return [{ element: "instrument", record: { ...LATISS_INSTRUMENT_RECORD } }, { element: "detector", record: { ...LATISS_DETECTOR } }];
    default:
      // Another instrument (a translated sidecar of one): its instrument and detector records must be in the registry.
      return [];
  }
}

/** An observation → what to ingest. */
export function planRaw(o: Observation): RawPlan {
  return { observation: o, records: [...instrumentRecords(o), ...observationRecords(o)], datasetType: "raw", run: rawRun(o.instrument), dataId: rawDataId(o) };
}

/** Translates a raw header (keyword → value). BAD_HEADER_CARD names a card that is missing or wrong. */
export function translateHeader(values: Record<string, FitsValue>): Observation {
  const camera = cameraOf(values);
  if (!camera) {
    const what = typeof values.INSTRUME === "string" ? `INSTRUME '${values.INSTRUME}'` : "a header without INSTRUME";
    throw facilityError(FacilityErrorCode.UNSUPPORTED_INSTRUMENT, `${what} is not LSSTCam, LSSTComCam or LATISS; no translator reads it`, { keyword: "INSTRUME" });
  }
  try {
    return translateRubinHeader(camera, values);
  } catch (err) {
    if (err instanceof DbbError) throw err;
    throw headerError("?", `the ${camera.instrument} header could not be translated: ${(err as Error).message}`);
  }
}
