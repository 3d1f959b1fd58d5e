/**
 * LSSTCam, the Rubin Observatory camera, as obs_lsst describes it to the Butler: its detectors
 * (id ↔ raft and sensor), its physical filters and its instrument record. Plain data and small
 * lookups, no I/O: the demo uses it, and so can a raw-header translator (RAFTBAY, CCDSLOT →
 * detector).
 *
 * Sources (lsst/obs_lsst): `policy/rafts.yaml` (each raft's first detector id, `id0`, ids
 * incrementing over the raft's sensors), `policy/lsstCam/R*.yaml` (the sensors of each raft),
 * `python/lsst/obs/lsst/filters.py` (`LsstCamFiltersBaseline`), and the detector and instrument
 * tables of its LSSTCam test registry, `tests/data/input/lsstCam/gen3.sqlite3`, against which
 * `test/unit/lsstcam.test.ts` checks every row.
 */

import type { FitsValue } from "../../../lib/fits-header";
import type { HeaderReader } from "./observation";
import { imgtypeObservationType, joinedFilters, RubinCamera } from "./rubin-header";

export const LSSTCAM = "LSSTCam";

export type DetectorPurpose = "SCIENCE" | "WAVEFRONT" | "GUIDER";

/** A detector record as daf_butler's `detector` dimension holds it. */
export interface LsstCamDetector {
  id: number;
  /** `<raft>_<sensor>`, e.g. R22_S11. */
  fullName: string;
  raft: string;
  nameInRaft: string;
  purpose: DetectorPurpose;
}

/** The 21 science rafts in detector order (the 5×5 focal plane without its four corners). */
export const LSSTCAM_SCIENCE_RAFTS = [
  "R01", "R02", "R03",
  "R10", "R11", "R12", "R13", "R14",
  "R20", "R21", "R22", "R23", "R24",
  "R30", "R31", "R32", "R33", "R34",
  "R41", "R42", "R43",
] as const;

/** A science raft's nine sensors, in detector order. */
export const LSSTCAM_SCIENCE_SENSORS = ["S00", "S01", "S02", "S10", "S11", "S12", "S20", "S21", "S22"] as const;

/** The four corner rafts: two guider sensors (SG0, SG1) and a split wavefront sensor (SW0, SW1) each. */
export const LSSTCAM_CORNER_RAFTS = ["R00", "R04", "R40", "R44"] as const;
const CORNER_SENSORS: Array<[string, DetectorPurpose]> = [
  ["SG0", "GUIDER"],
  ["SG1", "GUIDER"],
  ["SW0", "WAVEFRONT"],
  ["SW1", "WAVEFRONT"],
];

function buildDetectors(): LsstCamDetector[] {
  const out: LsstCamDetector[] = [];
  for (const raft of LSSTCAM_SCIENCE_RAFTS) {
    for (const sensor of LSSTCAM_SCIENCE_SENSORS) {
      out.push({ id: out.length, fullName: `${raft}_${sensor}`, raft, nameInRaft: sensor, purpose: "SCIENCE" });
    }
  }
  for (const raft of LSSTCAM_CORNER_RAFTS) {
    for (const [sensor, purpose] of CORNER_SENSORS) {
      out.push({ id: out.length, fullName: `${raft}_${sensor}`, raft, nameInRaft: sensor, purpose });
    }
  }
  return out;
}

/** All 205 detectors, indexed by id: science 0–188, corner guider and wavefront sensors 189–204. */
export const LSSTCAM_DETECTORS: readonly LsstCamDetector[] = Object.freeze(buildDetectors().map((d) => Object.freeze(d)));

const BY_NAME = new Map(LSSTCAM_DETECTORS.map((d) => [d.fullName, d]));

/** The detector with this id, or undefined. */
export function lsstCamDetector(id: number): LsstCamDetector | undefined {
  return Number.isInteger(id) ? LSSTCAM_DETECTORS[id] : undefined;
}

/** The detector named `R22_S11` (or raft and sensor apart: a raw header's RAFTBAY and CCDSLOT), or undefined. */
export function lsstCamDetectorByName(fullNameOrRaft: string, sensor?: string): LsstCamDetector | undefined {
  const name = sensor === undefined ? fullNameOrRaft : `${fullNameOrRaft}_${sensor}`;
  return BY_NAME.get(name.trim().toUpperCase());
}

/** The record of daf_butler's `detector` dimension for this detector. */
export function lsstCamDetectorRecord(d: LsstCamDetector) {
  return { instrument: LSSTCAM, id: d.id, full_name: d.fullName, name_in_raft: d.nameInRaft, raft: d.raft, purpose: d.purpose };
}

/** The instrument record obs_lsst registers for LSSTCam. */
export const LSSTCAM_INSTRUMENT_RECORD = Object.freeze({
  name: LSSTCAM,
  visit_max: 6050123199999,
  exposure_max: 6050123199999,
  detector_max: 1000,
  class_name: "lsst.obs.lsst.LsstCam",
});

/** LSSTCam's science filters (obs_lsst's LsstCamFiltersBaseline): physical filter → band. */
export const LSSTCAM_FILTERS: Readonly<Record<string, string>> = Object.freeze({
  u_24: "u",
  g_6: "g",
  r_57: "r",
  i_39: "i",
  z_20: "z",
  y_10: "y",
});

/** The physical filter of a band (u, g, r, i, z, y), or undefined. */
export function lsstCamPhysicalFilter(band: string): string | undefined {
  return Object.keys(LSSTCAM_FILTERS).find((f) => LSSTCAM_FILTERS[f] === band);
}

// --- Raw-header translation (obs_lsst translators/lsstCam.py) --------------------------------------

/**
 * Bands of LSSTCam's physical filters, from obs_lsst's LSSTCAM_FILTER_DEFINITIONS: the no-filter
 * cases (empty, none), the baseline science filters with the pinhole and "empty" filters, and
 * "unknown". The BOT test-stand and CCOB combinations are not listed (their physical_filter record
 * must exist before such a raw is ingested).
 */
export const LSSTCAM_BANDS: Readonly<Record<string, string>> = Object.freeze({
  empty: "white",
  none: "white",
  ph_5: "white",
  ef_43: "white",
  unknown: "unknown",
  ...LSSTCAM_FILTERS,
});

const day = (values: Record<string, FitsValue>) => (values.DAYOBS === undefined || values.DAYOBS === null ? null : Number(values.DAYOBS));
const seq = (values: Record<string, FitsValue>) => Number(values.SEQNUM);

/** Nights and SEQNUM ranges whose VIGN_MIN obs_lsst corrects to FULLY (dome closed; DM-51847, DM-52249). */
const VIGNETTED: Record<number, Array<[number, number]>> = {
  20250703: [[743, 745]],
  20250704: [[832, 834]],
  20250705: [[1, 736]],
  20250707: [[784, 823], [744, 783], [864, 903], [904, 943]],
  20250714: [[258, 781]],
  20250715: [[205, 1218]],
  20250819: [[4, 1052]],
};
/** Nights whose PROGRAM BLOCK-417 is BLOCK-T417 (DM-53949). */
const BLOCK_T417_NIGHTS = new Set([20250415, 20250416, 20250423, 20250417, 20250418, 20250421, 20250424, 20250425, 20250504, 20250503, 20250512, 20250522, 20250524, 20250826, 20250827, 20250828]);

/** LsstCamTranslator.fix_header's corrections, on a copy. */
export function fixLsstCamHeader(values: Record<string, FitsValue>): Record<string, FitsValue> {
  const h = { ...values };
  if (!("FILTER" in h) && h.FILTER2 !== undefined && h.FILTER2 !== null) h.FILTER2 = null;
  const d = day(h);
  if (["20231107", "20231108", "20241015", "20241016"].includes(String(h.DAYOBS)) && h.FILTER === "ph_05") h.FILTER = "ph_5";
  if (d !== null && d > 20250301 && d < 20250422 && typeof h.ROTPA === "number" && h.ROTPA) h.ROTPA = h.ROTPA - 90;
  if (d === 20250422 && seq(h) < 251 && typeof h.ROTPA === "number" && h.ROTPA) {
    const wrapped = ((((h.ROTPA - 180) % 360) + 540) % 360) - 180;
    h.ROTPA = wrapped;
  }
  if (d === 20250518 && h.VIGN_MIN !== "FULLY") h.VIGN_MIN = "FULLY";
  if (d !== null && VIGNETTED[d]?.some(([a, b]) => a <= seq(h) && seq(h) <= b) && h.VIGN_MIN !== "FULLY") h.VIGN_MIN = "FULLY";
  if (d === 20250609 && seq(h) >= 76 && seq(h) <= 578) Object.assign(h, { FILTER: "z_20", FILTBAND: "z", FILTPOS: 201.0, FILTSLOT: 4 });
  if (d !== null && BLOCK_T417_NIGHTS.has(d) && h.PROGRAM === "BLOCK-417") h.PROGRAM = "BLOCK-T417";
  if (d === 20260315 && seq(h) >= 49 && seq(h) <= 109) Object.assign(h, { FILTER: "i_39", FILTBAND: "i", FILTPOS: 304.0, FILTSLOT: 1 });
  return h;
}

/** lsstCam.py to_physical_filter: FILTER~FILTER1~FILTER2 without trailing "~empty". */
export function lsstCamPhysicalFilterOf(h: HeaderReader): string {
  let joined = joinedFilters(h);
  while (joined.endsWith("~empty")) joined = joined.slice(0, -"~empty".length);
  return joined;
}

/** LsstCamTranslator's exposure times: SHUTTIME when the shutter opened, else EXPTIME. */
export function shutterExposureTime(h: HeaderReader): number {
  if (h.ok("SHUTTIME")) {
    const s = h.number("SHUTTIME");
    if (s > 0) return s;
  }
  return h.number("EXPTIME");
}

export const LSSTCAM_CAMERA: RubinCamera = {
  instrument: LSSTCAM,
  telescope: "Simonyi Survey Telescope",
  detector(h) {
    const raft = h.string("RAFTBAY");
    const slot = h.string("CCDSLOT");
    const d = lsstCamDetectorByName(raft, slot);
    return d && { num: d.id, group: d.raft, name: d.nameInRaft };
  },
  physicalFilter: lsstCamPhysicalFilterOf,
  band: (f) => LSSTCAM_BANDS[f] ?? null,
  shipDate: 202405,
  onMountainAfter: BigInt(Date.parse("2025-03-01T00:00:00Z")) * 1000n,
  mountainByDateOnly: true,
  labSeesNoSky: true,
  canSeeSkyFromObstype: false,
  exposureTime: shutterExposureTime,
  exposureTimeRequested: (h) => h.number("EXPTIME"),
  darkTime: (h, exposureTime) => h.optNumber("DARKTIME") ?? exposureTime,
  observationType: imgtypeObservationType,
  rotationDefault: 0,
  scienceProgramKeys: ["PROGRAM", "RUNNUM"],
  fixHeader: fixLsstCamHeader,
};
