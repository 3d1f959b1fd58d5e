import type { FitsValue } from "../../../lib/fits-header";
import { facilityError, FacilityErrorCode } from "../errors";
import { headerError } from "./observation";
import { LATISS } from "./latiss";
import { LSSTCAM } from "./lsstcam";
import { LSSTCOMCAM } from "./lsstcomcam";

/**
 * Photodiode readings as obs_lsst ingests them (python/lsst/obs/lsst/_ingestAuxCalibs.py,
 * PhotodiodeIngestTask, `butler ingest-photodiode`): the FITS files an Electrometer CSC writes to
 * the Large File Annex while a flat is taken (ts_electrometer controller.write_fits_file: a primary
 * header with FORMAT_V '1', CALIBCLS 'lsst.ip.isr.PhotodiodeCalib', INSTRUME
 * 'Electrometer_index_<n>', OBSID (the electrometer's own image name, e.g. EM103_O_20250601_000012)
 * and GROUPID (the camera exposure's group), and the readings as a table). Each becomes a
 * `photodiode` dataset (dimensions instrument, exposure; storage class IsrCalib) in the run
 * `<instrument>/calib/photodiode`, with daf_butler's DATAID_TYPE_RUN id, attached to the exposure
 * whose group is the file's GROUPID (obs_lsst's "fits-v1" files). The instrument is the one the
 * ingest is configured for (INSTRUME names the electrometer, not a camera): here the agent's
 * `agent.lfaIngest` entry of the file's CSC, else INSTRUME when it is a camera.
 *
 * Not done as obs_lsst does: obs_lsst also refuses a GROUPID that is not of the form
 * `<group>#<n>` (what MTCalSys gives each exposure of a calibration sequence); any group that an
 * exposure of the instrument has is taken here. The older text formats (Photodiode_Readings_*.txt)
 * are not read.
 */
export const PHOTODIODE_CALIB_CLASS = "lsst.ip.isr.PhotodiodeCalib";
export const PHOTODIODE_DATASET_TYPE = { name: "photodiode", dimensions: ["instrument", "exposure"], storageClass: "IsrCalib", isCalibration: false } as const;
/** The formatter obs_lsst's photodiode ingest records. */
export const PHOTODIODE_FORMATTER = "lsst.obs.base.formatters.fitsGeneric.FitsGenericFormatter";
/** The cards read (readHeaderText's `keep`). */
export const PHOTODIODE_CARDS: ReadonlySet<string> = new Set(["CALIBCLS", "FORMAT_V", "INSTRUME", "GROUPID", "OBSID"]);
const CAMERAS = [LSSTCAM, LSSTCOMCAM, LATISS];

export interface PhotodiodePlan {
  instrument: string;
  /** The exposure's group: the exposure is looked up by it when the file is ingested. */
  group: string;
  run: string;
  obsId: string | null;
}

/** Whether a header is a photodiode file's (its CALIBCLS). */
export function isPhotodiodeHeader(values: Record<string, FitsValue>): boolean {
  return values.CALIBCLS === PHOTODIODE_CALIB_CLASS;
}

export function photodiodeRun(instrument: string): string {
  return `${instrument}/calib/photodiode`;
}

/** A photodiode file's header (and the configured instrument) → what to ingest, or BAD_HEADER_CARD naming the card. */
export function planPhotodiode(values: Record<string, FitsValue>, configured: string | null | undefined): PhotodiodePlan {
  const version = values.FORMAT_V ?? "1";
  if (String(version).trim() !== "1") throw headerError("FORMAT_V", `photodiode file format version ${String(version)} is not read (version 1 is, as obs_lsst's "fits-v1")`);
  const named = typeof values.INSTRUME === "string" ? CAMERAS.find((c) => c.toLowerCase() === (values.INSTRUME as string).trim().toLowerCase()) : undefined;
  const instrument = configured || named;
  if (!instrument) {
    throw facilityError(
      FacilityErrorCode.BAD_HEADER_CARD,
      `INSTRUME: '${String(values.INSTRUME ?? "")}' names no camera and no instrument was configured for this file's source (agent.lfaIngest: instrument)`,
      { keyword: "INSTRUME" },
    );
  }
  const group = typeof values.GROUPID === "string" ? values.GROUPID.trim() : "";
  if (!group) throw headerError("GROUPID", "a photodiode file needs the group of the exposure it was read during");
  return { instrument, group, run: photodiodeRun(instrument), obsId: typeof values.OBSID === "string" ? values.OBSID.trim() || null : null };
}
