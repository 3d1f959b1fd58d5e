import type { FitsValue } from "../../../lib/fits-header";
import { calendarMicros } from "../time";
import { imgtypeObservationType, RubinCamera } from "./rubin-header";
import { fixLsstCamHeader, lsstCamPhysicalFilterOf, shutterExposureTime } from "./lsstcam";

/**
 * LSSTComCam, the commissioning camera: one raft (R22) of nine ITL sensors, detectors 0–8 in
 * S00…S22 order. Sources (lsst/obs_lsst): `policy/comCam/rafts.yaml` (id0 = 0), `policy/comCam/R22.yaml`,
 * `python/lsst/obs/lsst/translators/comCam.py` (LsstComCamTranslator: can_translate, fix_header,
 * dates), `filters.py` (COMCAM_FILTER_DEFINITIONS), `_instrument.py` (the instrument record).
 */

export const LSSTCOMCAM = "LSSTComCam";

export const LSSTCOMCAM_SENSORS = ["S00", "S01", "S02", "S10", "S11", "S12", "S20", "S21", "S22"] as const;

/** The detector records (daf_butler's `detector` dimension). */
export const LSSTCOMCAM_DETECTORS = LSSTCOMCAM_SENSORS.map((s, id) => ({
  instrument: LSSTCOMCAM,
  id,
  full_name: `R22_${s}`,
  name_in_raft: s,
  raft: "R22",
  purpose: "SCIENCE",
}));

/** The instrument record obs_lsst registers (exposure/visit max from LsstBaseTranslator.max_exposure_id). */
export const LSSTCOMCAM_INSTRUMENT_RECORD = Object.freeze({
  name: LSSTCOMCAM,
  visit_max: 7050123199999,
  exposure_max: 7050123199999,
  detector_max: 1000,
  class_name: "lsst.obs.lsst.LsstComCam",
});

/** Physical filter → band (COMCAM_FILTER_DEFINITIONS). */
export const LSSTCOMCAM_BANDS: Readonly<Record<string, string>> = Object.freeze({
  empty: "white",
  none: "white",
  unknown: "unknown",
  pinhole: "white",
  OG590_2_5mm: "OG590",
  u_05: "u",
  u_02: "u",
  u_06: "u",
  g_07: "g",
  g_01: "g",
  r_03: "r",
  i_06: "i",
  z_03: "z",
  z_02: "z",
  y_04: "y",
});

const DETECTOR_SERIALS: Record<string, string> = {
  S00: "ITL-3800C-229",
  S01: "ITL-3800C-251",
  S02: "ITL-3800C-215",
  S10: "ITL-3800C-326",
  S11: "ITL-3800C-283",
  S12: "ITL-3800C-243",
  S20: "ITL-3800C-319",
  S21: "ITL-3800C-209",
  S22: "ITL-3800C-206",
};

const TO_CHILE = BigInt(Date.parse("2020-03-13T00:00:00Z")) * 1000n;

/** LsstComCamTranslator.can_translate. */
export function isLsstComCamHeader(values: Record<string, FitsValue>): boolean {
  const instrument = typeof values.INSTRUME === "string" ? values.INSTRUME.toLowerCase() : null;
  if (instrument === null || values.TELESCOP === undefined) return false;
  if (instrument === "comcam" && (values.TELESCOP === "Simonyi Survey Telescope" || values.TELESCOP === "LSST")) return true;
  return values.TELCODE === "CC" && instrument === "lsst_camera";
}

/** LsstComCamTranslator.fix_header (after LSSTCam's: it is a subclass), on a copy. */
export function fixLsstComCamHeader(values: Record<string, FitsValue>): Record<string, FitsValue> {
  const h = fixLsstCamHeader(values);
  const f = h.FILTER;
  if (f === undefined || f === null) h.FILTER = "unknown";
  else if (f === "r" || f === "") {
    const when = typeof h["DATE-BEG"] === "string" ? calendarMicros(h["DATE-BEG"]) : typeof h["DATE-OBS"] === "string" ? calendarMicros(h["DATE-OBS"]) : null;
    h.FILTER = when !== null && when > TO_CHILE ? "empty" : "r_03";
  }
  if (h.INSTRUME === "LSST_CAMERA") h.INSTRUME = "ComCam";
  if (!("LSST_NUM" in h) && typeof h.CCDSLOT === "string" && DETECTOR_SERIALS[h.CCDSLOT]) h.LSST_NUM = DETECTOR_SERIALS[h.CCDSLOT];
  if (typeof h.ROTPA !== "number") h.ROTPA = 0.0;
  return h;
}

export const LSSTCOMCAM_CAMERA: RubinCamera = {
  instrument: LSSTCOMCAM,
  telescope: "Simonyi Survey Telescope",
  detector(h) {
    const raft = h.string("RAFTBAY").trim().toUpperCase();
    const slot = h.string("CCDSLOT").trim().toUpperCase();
    const id = (LSSTCOMCAM_SENSORS as readonly string[]).indexOf(slot);
    return raft === "R22" && id >= 0 ? { num: id, group: raft, name: slot } : undefined;
  },
  physicalFilter: lsstCamPhysicalFilterOf,
  band: (f) => LSSTCOMCAM_BANDS[f] ?? null,
  shipDate: 202003,
  onMountainAfter: BigInt(Date.parse("2024-08-24T00:00:00Z")) * 1000n,
  mountainByDateOnly: true,
  labSeesNoSky: true,
  canSeeSkyFromObstype: false,
  exposureTime: shutterExposureTime,
  exposureTimeRequested: (h) => h.number("EXPTIME"),
  darkTime: (h, exposureTime) => h.optNumber("DARKTIME") ?? exposureTime,
  observationType: imgtypeObservationType,
  rotationDefault: 0,
  scienceProgramKeys: ["PROGRAM", "RUNNUM"],
  fixHeader: fixLsstComCamHeader,
};
