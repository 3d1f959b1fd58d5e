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
