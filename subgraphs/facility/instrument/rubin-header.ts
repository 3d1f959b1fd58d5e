import type { FitsValue } from "../../../lib/fits-header";
import { calendarMicros, pacificOffsetSeconds, taiMjdToUtcMicros, taiToUtcMicros } from "../time";
import { headerError, HeaderReader, Observation } from "./observation";

/**
 * The translation rules obs_lsst's LsstBaseTranslator (python/lsst/obs/lsst/translators/lsst.py)
 * applies to every Rubin camera's raw header, with the per-camera parts (detectors, filters, dates,
 * header fixes) in a RubinCamera profile: lsstcam.ts, lsstcomcam.ts, latiss.ts. The facts are
 * obs_lsst's; the code is ours. Not translated: header corrections from obs_lsst's per-observation
 * YAML correction files (resources/corrections/), location and weather.
 */

export interface RubinCamera {
  instrument: string;
  telescope: string;
  /** The detector number of RAFTBAY/CCDSLOT (LATISS: always 0), or undefined for an unknown sensor. */
  detector(header: HeaderReader): { num: number; group: string | null; name: string | null } | undefined;
  /** The physical filter the header names (obs_lsst's to_physical_filter of this camera). */
  physicalFilter(header: HeaderReader): string;
  /** The band of a physical filter (obs_lsst's filter definitions of this camera), or null. */
  band(physicalFilter: string): string | null;
  /** YYYYMM from which the observing day rolls over at 12:00 TAI; before it, at Pacific midnight (lab data). */
  shipDate: number | null;
  /** Instant (UTC µs) after which the camera is on the mountain. */
  onMountainAfter: bigint;
  /** Whether on-mountain (date) alone decides _is_on_mountain (LSSTCam, ComCam) or TSTAND counts too. */
  mountainByDateOnly: boolean;
  /** Whether lab data (not on the mountain) cannot see the sky (LsstCamTranslator.to_can_see_sky; LATISS no). */
  labSeesNoSky: boolean;
  /** Whether can_see_sky may fall back to the observation type (LATISS yes; LSSTCam, ComCam no). */
  canSeeSkyFromObstype: boolean;
  exposureTime(header: HeaderReader): number;
  exposureTimeRequested(header: HeaderReader): number;
  darkTime(header: HeaderReader, exposureTime: number): number;
  observationType(header: HeaderReader, onMountain: () => boolean): string;
  rotationDefault: number;
  scienceProgramKeys: string[];
  /** obs_lsst's fix_header for this camera: returns the corrected values (never changes its argument). */
  fixHeader(values: Record<string, FitsValue>): Record<string, FitsValue>;
}

/** Controller codes in exposure-ID order (lsst.py CONTROLLERS). */
const CONTROLLERS = "OCHPQS";
const SIMULATED_CONTROLLERS = "HPQS";
const CONTROLLER_INCREMENT = 1000_00_00;
const SEQNUM_MAXDIGITS = 5;
const ROLLOVER_SECONDS = 12 * 3600;
const NON_SKY_TYPES = ["bias", "dark", "flat"];
const SKY_TYPES = ["science", "object"];

/**
 * obs_lsst's compute_exposure_id: YYYYMMDD then the sequence number in five digits; the controller
 * adds a thousand years per its place in "OCHPQS" — except C after 2023-10-04 and P, Q, S after
 * 2025-04-17, whose counters were unified with the OCS's.
 */
export function computeExposureId(dayobs: string | number, seqnum: string | number, controller: string | null = null): number {
  let text = String(dayobs);
  if (text.includes("T")) text = text.slice(0, text.indexOf("T"));
  text = text.replace(/-/g, "");
  if (!/^\d{8}$/.test(text)) throw headerError("DAYOBS", `malformed day of observation '${dayobs}' (expected YYYYMMDD)`);
  const seq = typeof seqnum === "number" ? seqnum : Number(seqnum);
  if (!Number.isSafeInteger(seq) || seq < 0) throw headerError("SEQNUM", `expected a whole number, got ${JSON.stringify(seqnum)}`);
  if (seq >= 10 ** SEQNUM_MAXDIGITS) throw headerError("SEQNUM", `sequence number ${seq} exceeds 99999`);
  let day = Number(text);
  let c = controller;
  if (day > 20231004 && c === "C") c = null;
  else if (day > 20250417 && c !== null && "PSQ".includes(c)) c = null;
  if (c !== null) {
    const index = CONTROLLERS.indexOf(c);
    if (index < 0 || c.length !== 1) throw headerError("CONTRLLR", `controller '${c}' is not one of ${CONTROLLERS.split("").join(", ")}`);
    day += CONTROLLER_INCREMENT * index;
  }
  return Number(`${day}${String(seq).padStart(SEQNUM_MAXDIGITS, "0")}`);
}

/** A FITS date (ISO, or the MJD cards) in TAI → UTC µs. */
function taiDate(h: HeaderReader, key: string): bigint {
  if (key.startsWith("MJD")) return taiMjdToUtcMicros(h.number(key));
  const micros = calendarMicros(h.string(key));
  if (micros === null) throw headerError(key, `'${h.string(key)}' is not a FITS date (YYYY-MM-DDThh:mm:ss[.sss])`);
  return taiToUtcMicros(micros);
}

const DATE_ON_MOUNTAIN = 0n;

/** Translates one (already fixed) header for a camera. */
export function translateRubinHeader(camera: RubinCamera, values: Record<string, FitsValue>): Observation {
  const h = new HeaderReader(camera.fixHeader(values));

  // Times: prefer -BEG over -OBS, MJD over ISO; TAI (lsst.py to_datetime_begin).
  const beginKey = h.first(["MJD-BEG", "DATE-BEG", "MJD-OBS", "DATE-OBS"]);
  if (!beginKey) throw headerError("DATE-BEG", "none of MJD-BEG, DATE-BEG, MJD-OBS, DATE-OBS is given: the observation has no time");
  const begin = taiDate(h, beginKey);

  const controller = h.optString("CONTRLLR");
  const onMountain = () => {
    if (controller === "H") return true;
    if (!camera.mountainByDateOnly && "TSTAND" in h.values) return false;
    return begin > camera.onMountainAfter + DATE_ON_MOUNTAIN;
  };

  const observationType = camera.observationType(h, onMountain);
  const isOnSky = () => {
    if (h.ok("TRACKSYS") && h.string("TRACKSYS").toLowerCase() === "local") return false;
    if (NON_SKY_TYPES.includes(observationType)) return false;
    return onMountain();
  };

  // Exposure ID from DAYOBS and SEQNUM with the controller offsets; CALIB_ID headers have none.
  if ("CALIB_ID" in h.values) throw headerError("CALIB_ID", "a calibration product's header (CALIB_ID), not a raw's: it has no exposure");
  const dayobsRaw = h.raw("DAYOBS");
  if (dayobsRaw === undefined || dayobsRaw === null) throw headerError("DAYOBS", "the card is missing or has no value");
  const seqRaw = h.raw("SEQNUM");
  if (seqRaw === undefined || seqRaw === null) throw headerError("SEQNUM", "the card is missing or has no value");
  const exposureId = computeExposureId(typeof dayobsRaw === "boolean" ? String(dayobsRaw) : dayobsRaw, typeof seqRaw === "boolean" ? String(seqRaw) : seqRaw, controller);
  const observingDay = h.int("DAYOBS");
  const counter = h.int("SEQNUM");

  const detector = camera.detector(h);
  if (!detector) {
    const raft = h.optString("RAFTBAY");
    const slot = h.optString("CCDSLOT");
    throw headerError(raft === null ? "RAFTBAY" : "CCDSLOT", `${raft ?? "?"}_${slot ?? "?"} is not a detector of ${camera.instrument}`);
  }

  const exposureTime = camera.exposureTime(h);
  const exposureTimeRequested = camera.exposureTimeRequested(h);
  let end: bigint;
  if (h.ok("DATE-END")) end = taiDate(h, h.ok("MJD-END") ? "MJD-END" : "DATE-END");
  else end = exposureTime < 0 ? begin : begin + BigInt(Math.round(exposureTime * 1e6));

  const group = h.ok("GROUPID") ? h.string("GROUPID") : String(exposureId);

  // Observing-day offset: 12 h (summit), Pacific time before the camera shipped.
  const yyyymm = Math.floor(Number(new Date(Number(begin / 1000n)).toISOString().slice(0, 7).replace("-", "")));
  const dayOffset = camera.shipDate !== null && yyyymm < camera.shipDate ? pacificOffsetSeconds(begin) : ROLLOVER_SECONDS;

  // Tracking RA/Dec (lsst.py to_tracking_radec).
  let tracking: [number, number] | null = null;
  const trackingApplies =
    !NON_SKY_TYPES.filter((t) => t !== "dark").includes(observationType) && !(h.ok("TRACKSYS") && h.string("TRACKSYS") !== "RADEC") && h.raw("DATE-OBS") !== h.raw("DATE");
  if (trackingApplies) {
    for (const [ra, dec] of [["RASTART", "DECSTART"], ["RA", "DEC"]]) {
      if (h.ok(ra) && h.ok(dec)) {
        tracking = [h.number(ra), h.number(dec)];
        break;
      }
    }
    if (!tracking && isOnSky()) throw headerError("RASTART", "an on-sky observation without RASTART/DECSTART or RA/DEC");
  }

  // Alt/az at the start (lsst.py _to_altaz; astropy wraps azimuth to [0, 360)).
  let altaz: [number, number] | null = null;
  if (onMountain() && h.ok("ELSTART") && h.ok("AZSTART")) {
    let alt = h.number("ELSTART");
    if (alt > 90 && alt < 95.55) alt = 90;
    if (alt < 0 && alt > -5.55) alt = 0;
    altaz = [((h.number("AZSTART") % 360) + 360) % 360, alt];
  }

  // Rotation (ROTPA or ROTANGLE; required for a science observation on the mountain).
  const rotKey = h.first(["ROTPA", "ROTANGLE"]);
  if (!rotKey && observationType === "science" && onMountain()) throw headerError("ROTPA", "a science observation on the mountain without ROTPA");
  const rotation = rotKey ? h.number(rotKey) : camera.rotationDefault;
  const rotationCoord = isOnSky() ? (h.optString("ROTCOORD") ?? "unknown") : "unknown";

  // can_see_sky (lsst.py and lsstCam.py to_can_see_sky).
  let canSeeSky: boolean | null;
  if (camera.labSeesNoSky && !onMountain()) canSeeSky = false;
  else if (h.ok("SHUTTIME") && h.raw("SHUTTIME") === 0) canSeeSky = false;
  else if (h.ok("VIGN_MIN")) {
    const v = h.string("VIGN_MIN");
    canSeeSky = v === "FULLY" ? false : v === "UNKNOWN" ? null : true;
  } else if (camera.canSeeSkyFromObstype || controller === "H") {
    canSeeSky = SKY_TYPES.includes(observationType) ? true : ["bias", "dark"].includes(observationType) ? false : null;
  } else canSeeSky = null;

  // has_simulated_content: any truthy SIMULATE card, or a simulating controller.
  const simulated = Object.entries(h.values).some(([k, v]) => k.includes("SIMULATE") && !!v) || (controller !== null && SIMULATED_CONTROLLERS.includes(controller));

  // Group counters (CURINDEX is 1-based).
  const curIndex = h.optNumber("CURINDEX");
  const maxIndex = h.optNumber("MAXINDEX");
  const start = curIndex !== null ? counter - curIndex + 1 : counter !== 0 ? counter : exposureId;
  const endCounter = curIndex !== null && maxIndex !== null ? counter + (maxIndex - curIndex) : counter !== 0 ? counter : exposureId;

  const reasonKey = h.first(["REASON", "TESTTYPE"]);
  const reason = reasonKey ? h.string(reasonKey).toLowerCase() : observationType === "science" ? "science" : "unknown";
  const programKey = h.first(camera.scienceProgramKeys);
  const physicalFilter = camera.physicalFilter(h);

  const observationId = h.optString("OBSID");
  if (observationId === null) throw headerError("OBSID", "the card is missing or has no value");

  return {
    instrument: camera.instrument,
    telescope: camera.telescope,
    exposure_id: exposureId,
    observation_id: observationId,
    observing_day: observingDay,
    observing_day_offset: dayOffset,
    observation_counter: counter,
    exposure_group: group,
    physical_filter: physicalFilter,
    band: camera.band(physicalFilter),
    detector_num: detector.num,
    detector_group: detector.group,
    detector_name: detector.name,
    detector_serial: h.optString("LSST_NUM") ?? h.optString("DETSER"),
    observation_type: observationType,
    observation_reason: reason,
    science_program: programKey ? h.string(programKey) : "unknown",
    object: h.optString("OBJECT") ?? "UNKNOWN",
    exposure_time: exposureTime,
    exposure_time_requested: exposureTimeRequested,
    dark_time: camera.darkTime(h, exposureTime),
    datetime_begin: begin,
    datetime_end: end,
    tracking_radec: tracking,
    altaz_begin: altaz,
    boresight_rotation_angle: rotation,
    boresight_rotation_coord: rotationCoord,
    can_see_sky: canSeeSky,
    has_simulated_content: simulated,
    group_counter_start: start,
    group_counter_end: endCounter,
  };
}

/** FILTER, FILTER1, FILTER2 joined by '~' (lsst.py to_physical_filter; astro_metadata_translator's _join_keyword_values). */
export function joinedFilters(h: HeaderReader): string {
  const parts = ["FILTER", "FILTER1", "FILTER2"].filter((k) => h.ok(k)).map((k) => h.string(k));
  const joined = parts.join("~") || "unknown";
  return joined.split("NONE").join("none");
}

/** lsst.py _is_filter_empty. */
export function isFilterEmpty(name: string): boolean {
  return /^empty_?\d*$/.test(name.toLowerCase());
}

/** lsst.py to_observation_type: IMGTYPE lowercased; skyexp and object are science. */
export function imgtypeObservationType(h: HeaderReader): string {
  const t = h.string("IMGTYPE").toLowerCase();
  return t === "skyexp" || t === "object" ? "science" : t;
}
