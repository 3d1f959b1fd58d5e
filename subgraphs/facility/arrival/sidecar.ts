import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { FitsValue } from "../../../lib/fits-header";
import { facilityError, FacilityErrorCode } from "../errors";
import type { Observation } from "../instrument/observation";
import { LATISS, latissBand } from "../instrument/latiss";
import { LSSTCAM, LSSTCAM_BANDS } from "../instrument/lsstcam";
import { LSSTCOMCAM, LSSTCOMCAM_BANDS } from "../instrument/lsstcomcam";
import { taiJdToUtcMicros } from "../time";

/**
 * Sidecars as astro_metadata_translator writes them (astrometadata write-sidecar / write-index;
 * python/astro_metadata_translator/indexing.py): a JSON (or YAML) object beside the file,
 * `NAME.json`, whose `__CONTENT__` says what it holds —
 *   - "metadata": the header itself, keyword → value (translated here like a FITS header);
 *   - "translated": an ObservationInfo in its to_simple() form (times as TAI Julian dates
 *     [jd1, jd2], angles in degrees, durations in seconds, tracking_radec [ra, dec], altaz [az, alt]);
 * or one per batch, `_index.json`: `__CONTENT__`, `__COMMON__` (what all files share) and one
 * entry per file name holding what differs; a file's content is its entry over `__COMMON__`.
 * Without `__CONTENT__` a sidecar holding observation_id and instrument is taken as translated,
 * as astro_metadata_translator guesses. Errors are BAD_SIDECAR naming the key.
 */

export const CONTENT_KEY = "__CONTENT__";
export const COMMON_KEY = "__COMMON__";

export type SidecarContent = { kind: "metadata"; header: Record<string, FitsValue> } | { kind: "translated"; observation: Observation };

function bad(message: string, key: string | null) {
  return facilityError(FacilityErrorCode.BAD_SIDECAR, message, key === null ? {} : { key });
}

/** A sidecar's text (JSON, or YAML when the name ends in .yaml/.yml or the text is not JSON) → its object. */
export function readSidecarText(text: string, fileName = ""): Record<string, unknown> {
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(fileName) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw bad(`the sidecar ${fileName || ""} is not valid ${/\.ya?ml$/i.test(fileName) ? "YAML" : "JSON"}: ${(err as Error).message}`.replace("  ", " "), null);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw bad("a sidecar must be an object (keyword → value, or an ObservationInfo)", null);
  return value as Record<string, unknown>;
}

/** The file's own content of a sidecar: the sidecar itself, or its entry (over __COMMON__) when it is an index. */
export function sidecarEntry(sidecar: Record<string, unknown>, fileName: string): Record<string, unknown> {
  if (!(COMMON_KEY in sidecar)) return sidecar;
  const common = sidecar[COMMON_KEY];
  if (!common || typeof common !== "object" || Array.isArray(common)) throw bad(`${COMMON_KEY} of an index must be an object`, COMMON_KEY);
  const base = fileName.split("/").pop() ?? fileName;
  const entry = sidecar[fileName] ?? sidecar[base];
  if (entry === undefined) throw bad(`the index has no entry for '${base}' (it lists ${Object.keys(sidecar).filter((k) => !k.startsWith("__")).length} files)`, base);
  if (!entry || typeof entry !== "object" || Array.isArray(entry)) throw bad(`the index entry for '${base}' must be an object`, base);
  return { [CONTENT_KEY]: sidecar[CONTENT_KEY], ...(entry as object), ...(common as object) };
}

const num = z.number().finite();
const jd = z.tuple([num, num]);
const pair = z.tuple([num, num]);

/** ObservationInfo.to_simple(): the properties raw ingest needs are required, the rest optional. */
const TRANSLATED = z.object({
  instrument: z.string().min(1),
  telescope: z.string().nullish(),
  exposure_id: z.number().int(),
  observation_id: z.string().min(1),
  observing_day: z.number().int().min(10000101).max(99991231),
  observing_day_offset: num.nullish(),
  observation_counter: z.number().int(),
  exposure_group: z.string().nullish(),
  physical_filter: z.string().min(1),
  detector_num: z.number().int().min(0),
  detector_group: z.string().nullish(),
  detector_name: z.string().nullish(),
  detector_serial: z.string().nullish(),
  observation_type: z.string(),
  observation_reason: z.string().nullish(),
  science_program: z.string().nullish(),
  object: z.string().nullish(),
  exposure_time: num,
  exposure_time_requested: num.nullish(),
  dark_time: num.nullish(),
  datetime_begin: jd,
  datetime_end: jd,
  tracking_radec: pair.nullish(),
  altaz_begin: pair.nullish(),
  boresight_rotation_angle: num.nullish(),
  boresight_rotation_coord: z.string().nullish(),
  can_see_sky: z.boolean().nullish(),
  has_simulated_content: z.boolean().nullish(),
  group_counter_start: z.number().int().nullish(),
  group_counter_end: z.number().int().nullish(),
});

function zodKey(issue: z.core.$ZodIssue): string {
  return issue.path.map(String).join(".") || "(sidecar)";
}

const BAND_OF: Record<string, (f: string) => string | null> = {
  [LSSTCAM]: (f) => LSSTCAM_BANDS[f] ?? null,
  [LSSTCOMCAM]: (f) => LSSTCOMCAM_BANDS[f] ?? null,
  [LATISS]: latissBand,
};

/** An ObservationInfo in to_simple() form → Observation. */
export function observationFromSimple(content: Record<string, unknown>): Observation {
  const parsed = TRANSLATED.safeParse(content);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw bad(`translated sidecar: ${zodKey(issue)}: ${issue.message}`, zodKey(issue));
  }
  const o = parsed.data;
  return {
    instrument: o.instrument,
    telescope: o.telescope ?? null,
    exposure_id: o.exposure_id,
    observation_id: o.observation_id,
    observing_day: o.observing_day,
    observing_day_offset: o.observing_day_offset ?? null,
    observation_counter: o.observation_counter,
    exposure_group: o.exposure_group ?? String(o.exposure_id),
    physical_filter: o.physical_filter,
    band: BAND_OF[o.instrument]?.(o.physical_filter) ?? null,
    detector_num: o.detector_num,
    detector_group: o.detector_group ?? null,
    detector_name: o.detector_name ?? null,
    detector_serial: o.detector_serial ?? null,
    observation_type: o.observation_type,
    observation_reason: o.observation_reason ?? (o.observation_type === "science" ? "science" : "unknown"),
    science_program: o.science_program ?? "unknown",
    object: o.object ?? "UNKNOWN",
    exposure_time: o.exposure_time,
    exposure_time_requested: o.exposure_time_requested ?? o.exposure_time,
    dark_time: o.dark_time ?? null,
    datetime_begin: taiJdToUtcMicros(o.datetime_begin[0], o.datetime_begin[1]),
    datetime_end: taiJdToUtcMicros(o.datetime_end[0], o.datetime_end[1]),
    tracking_radec: o.tracking_radec ?? null,
    altaz_begin: o.altaz_begin ?? null,
    boresight_rotation_angle: o.boresight_rotation_angle ?? null,
    boresight_rotation_coord: o.boresight_rotation_coord ?? "unknown",
    can_see_sky: o.can_see_sky ?? null,
    has_simulated_content: o.has_simulated_content ?? false,
    group_counter_start: o.group_counter_start ?? o.observation_counter,
    group_counter_end: o.group_counter_end ?? o.observation_counter,
  };
}

/** A file's sidecar (per file, or the batch's index) → what it holds. */
export function readSidecar(sidecar: Record<string, unknown>, fileName: string): SidecarContent {
  const entry = sidecarEntry(sidecar, fileName);
  let mode = entry[CONTENT_KEY];
  if (mode === undefined || mode === null) mode = "observation_id" in entry && "instrument" in entry ? "translated" : "metadata";
  const { [CONTENT_KEY]: _, ...content } = entry;
  if (mode === "translated") return { kind: "translated", observation: observationFromSimple(content) };
  if (mode !== "metadata") throw bad(`${CONTENT_KEY} must be 'metadata' or 'translated', not ${JSON.stringify(mode)}`, CONTENT_KEY);
  const header: Record<string, FitsValue> = {};
  for (const [key, value] of Object.entries(content)) {
    if (value === null || ["string", "number", "boolean"].includes(typeof value)) header[key] = value as FitsValue;
    else if (key === "COMMENT" || key === "HISTORY") continue;
    else throw bad(`metadata sidecar: '${key}' must be a string, number, boolean or null (a header card's value), got ${Array.isArray(value) ? "a list" : typeof value}`, key);
  }
  return { kind: "metadata", header };
}
