import type { FitsValue } from "../../../lib/fits-header";
import type { HeaderReader } from "./observation";
import { isFilterEmpty, RubinCamera } from "./rubin-header";

/**
 * LATISS, the Auxiliary Telescope's spectrograph: one sensor (RXX_S00, detector 0) behind a filter
 * and a grating. Sources (lsst/obs_lsst): `python/lsst/obs/lsst/translators/latiss.py`
 * (LatissTranslator), `filters.py` (LATISS_FILTER_DEFINITIONS: every filter with every grating),
 * `_instrument.py` (the instrument record; DETECTOR_MAX 0, registered as 1).
 */

export const LATISS = "LATISS";

export const LATISS_DETECTOR = Object.freeze({ instrument: LATISS, id: 0, full_name: "RXX_S00", name_in_raft: "S00", raft: "RXX", purpose: "SCIENCE" });

export const LATISS_INSTRUMENT_RECORD = Object.freeze({
  name: LATISS,
  visit_max: 7050123199999,
  exposure_max: 7050123199999,
  detector_max: 1,
  class_name: "lsst.obs.lsst.Latiss",
});

/** LATISS's filters and their bands (_latiss_filters). */
const FILTER_BANDS: Record<string, string> = {
  empty: "white",
  blank_bk7_wg05: "white",
  KPNO_1111_436nm: "g",
  KPNO_373A_677nm: "r",
  KPNO_406_828nm: "z",
  diffuser: "diffuser",
  unknown: "unknown",
  BG40: "g",
  BG40_65mm_1: "g",
  BG40_65mm_2: "g",
  quadnotch1: "notch",
  RG610: "r",
  OG550_65mm_1: "g",
  OG550_65mm_2: "g",
  FELH0600: "r",
  SDSSg: "g",
  SDSSr: "r",
  SDSSi: "i",
  collimator: "white",
  cyl_lens: "white",
  SDSSu_65mm: "u",
  SDSSg_65mm: "g",
  SDSSr_65mm: "r",
  SDSSi_65mm: "i",
  SDSSz_65mm: "z",
  SDSSy_65mm: "y",
};
const SDSS_65MM = ["SDSSu_65mm", "SDSSg_65mm", "SDSSr_65mm", "SDSSi_65mm", "SDSSz_65mm", "SDSSy_65mm"];
/** _latiss_gratings that are not filters themselves. */
const GRATINGS = new Set([
  "ronchi90lpmm", "ronchi170lpmm", "empty", "unknown", "holo4_003", "blue300lpmm_qn1", "holo4_001",
  "pinhole_1_1000", "pinhole_1_0500", "pinhole_1_0200", "pinhole_1_0100",
  ...[1, 2, 3, 4].flatMap((n) => ["1000", "0500", "0200", "0100"].map((s) => `pinhole_2_${n}_${s}`)),
]);

/** The band of a LATISS physical filter ("filter~grating" or a filter alone), as LATISS_FILTER_DEFINITIONS combines them; null if not defined. */
export function latissBand(physicalFilter: string): string | null {
  const [filter, grating, more] = physicalFilter.split("~");
  if (more !== undefined) return null;
  if (grating === undefined) return FILTER_BANDS[filter] ?? null;
  if (SDSS_65MM.includes(grating)) return filter === "empty" ? FILTER_BANDS[grating] : null;
  if (filter === "diffuser" || !GRATINGS.has(grating)) return null;
  return FILTER_BANDS[filter] ?? null;
}

/** LatissTranslator.can_translate. */
export function isLatissHeader(values: Record<string, FitsValue>): boolean {
  return values.INSTRUME === "LSST_ATISS" || values.INSTRUME === "LATISS" || values.DETNAME === "RXX_S00";
}

/** The date-independent parts of LatissTranslator.fix_header, on a copy (its corrections of 2019–2022 data are not applied). */
export function fixLatissHeader(values: Record<string, FitsValue>): Record<string, FitsValue> {
  const h = { ...values };
  const obsid = typeof h.OBSID === "string" ? h.OBSID : null;
  if (!("DAYOBS" in h) && obsid) {
    const d = obsid.split("_")[2];
    if (d && d.length === 8) h.DAYOBS = d;
  }
  if (!("SEQNUM" in h) && obsid) {
    const s = obsid.split("_")[3];
    if (s && /^\d+$/.test(s)) h.SEQNUM = Number(s);
  }
  if (h.SHUTTIME) h.SHUTTIME = null;
  if (!("OBJECT" in h) && h.IMGTYPE === "OBJECT") h.OBJECT = "NOTSET";
  if (h.RADESYS === "") h.RADESYS = "ICRS";
  if (h.TRACKSYS === "") h.TRACKSYS = null;
  else if (h.TRACKSYS === "SIDEREAL") h.TRACKSYS = "RADEC";
  if (typeof h["OBSGEO-Z"] === "number" && h["OBSGEO-Z"] > 0) h["OBSGEO-Z"] = -h["OBSGEO-Z"];
  return h;
}

/** latiss.py to_physical_filter: FILTER~GRATING, "empty" for empty slots, "unknown" when not given. */
function latissPhysicalFilter(h: HeaderReader): string {
  let filter = "unknown";
  if (h.ok("FILTER")) {
    filter = h.string("FILTER");
    if (isFilterEmpty(filter)) filter = "empty";
  }
  let grating = "unknown";
  if (h.ok("GRATING")) {
    grating = h.string("GRATING");
    if (!grating || grating.toLowerCase().startsWith("empty")) grating = "empty";
  }
  return `${filter}~${grating}`;
}

function exposureTime(h: HeaderReader): number {
  return h.ok("EXPTIME") ? h.number("EXPTIME") : -1;
}

export const LATISS_CAMERA: RubinCamera = {
  instrument: LATISS,
  telescope: "Rubin Auxiliary Telescope",
  detector: () => ({ num: 0, group: "RXX", name: "S00" }),
  physicalFilter: latissPhysicalFilter,
  band: latissBand,
  shipDate: null,
  onMountainAfter: BigInt(Date.parse("2020-01-01T00:00:00Z")) * 1000n,
  mountainByDateOnly: true,
  labSeesNoSky: false,
  canSeeSkyFromObstype: true,
  exposureTime,
  exposureTimeRequested: exposureTime,
  darkTime(h, exptime) {
    const dark = h.optNumber("DARKTIME");
    return dark !== null && dark >= exptime ? dark : exptime;
  },
  observationType(h, onMountain) {
    const key = h.first(["OBSTYPE", "IMGTYPE"]);
    if (key) {
      const t = h.string(key).toLowerCase();
      if (t === "object" && !onMountain()) return "labobject";
      return t === "skyexp" || t === "object" ? "science" : t;
    }
    return exposureTime(h) === 0 ? "bias" : "unknown";
  },
  rotationDefault: Number.NaN,
  scienceProgramKeys: ["PROGRAM"],
  fixHeader: fixLatissHeader,
};
