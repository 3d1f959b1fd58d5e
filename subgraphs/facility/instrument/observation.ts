import { DbbError } from "../../../lib/errors";
import type { FitsValue } from "../../../lib/fits-header";
import { BAD_HEADER_CARD } from "../../../lib/fits-header";
import type { DimensionRecordInput } from "../dimension-record";
import { dayObsBeginUtcMicros, formatUtc } from "../time";

/**
 * What a raw's header says about its observation: the properties of astro_metadata_translator's
 * ObservationInfo that the Butler's raw ingest uses, named as ObservationInfo names them, times as
 * UTC microseconds since 1970 (TAI in the headers, converted by facility/time.ts). A translator
 * (lsstcam.ts, lsstcomcam.ts, latiss.ts, through translate.ts) makes one from a header; a
 * "translated" sidecar is one already; `observationRecords` turns one into the dimension records
 * and the data ID of its raw, as obs_base's RawIngestTask does (makeExposureRecordFromObsInfo and
 * the group / day_obs records of `_calculate_records`).
 */
export interface Observation {
  instrument: string;
  telescope: string | null;
  exposure_id: number;
  observation_id: string;
  observing_day: number;
  /** Seconds after 00:00 TAI of observing_day at which the observing day begins. */
  observing_day_offset: number | null;
  observation_counter: number;
  exposure_group: string;
  physical_filter: string;
  /** The band of physical_filter, from the instrument's filter definitions; null when the filter is not one of them. */
  band: string | null;
  detector_num: number;
  detector_group: string | null;
  detector_name: string | null;
  detector_serial: string | null;
  observation_type: string;
  observation_reason: string;
  science_program: string;
  object: string;
  exposure_time: number;
  exposure_time_requested: number;
  dark_time: number | null;
  datetime_begin: bigint;
  datetime_end: bigint;
  /** ICRS degrees, or null off sky. */
  tracking_radec: [number, number] | null;
  /** [azimuth, altitude] in degrees at the start, or null. */
  altaz_begin: [number, number] | null;
  boresight_rotation_angle: number | null;
  boresight_rotation_coord: string;
  can_see_sky: boolean | null;
  has_simulated_content: boolean;
  group_counter_start: number;
  group_counter_end: number;
}

/** BAD_HEADER_CARD naming the card. */
export function headerError(keyword: string, message: string): DbbError {
  return new DbbError(BAD_HEADER_CARD, `${keyword}: ${message}`, { keyword });
}

/** Typed reads of header values, each naming the card when it is missing or of the wrong type. */
export class HeaderReader {
  constructor(readonly values: Record<string, FitsValue>) {}

  /** Present and defined (astro_metadata_translator's is_key_ok). */
  ok(key: string): boolean {
    const v = this.values[key];
    return v !== undefined && v !== null;
  }

  raw(key: string): FitsValue | undefined {
    return this.values[key];
  }

  string(key: string): string {
    const v = this.values[key];
    if (v === undefined || v === null) throw headerError(key, "the card is missing or has no value");
    if (typeof v === "boolean") throw headerError(key, `expected a string, got ${v ? "T" : "F"}`);
    return String(v);
  }

  optString(key: string): string | null {
    return this.ok(key) ? this.string(key) : null;
  }

  number(key: string): number {
    const v = this.values[key];
    if (v === undefined || v === null) throw headerError(key, "the card is missing or has no value");
    const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isFinite(n)) throw headerError(key, `expected a number, got ${JSON.stringify(v)}`);
    return n;
  }

  optNumber(key: string): number | null {
    return this.ok(key) ? this.number(key) : null;
  }

  int(key: string): number {
    const n = this.number(key);
    if (!Number.isSafeInteger(n)) throw headerError(key, `expected an integer, got ${n}`);
    return n;
  }

  /** The first of the keys that is defined, or null. */
  first(keys: string[]): string | null {
    return keys.find((k) => this.ok(k)) ?? null;
  }
}

const dayBegin = (o: Observation) => (o.observing_day_offset === null ? null : dayObsBeginUtcMicros(o.observing_day, Math.round(o.observing_day_offset)));

/** The raw's data ID: instrument, exposure, detector (its required dimensions). */
export function rawDataId(o: Observation): { instrument: string; exposure: number; detector: number } {
  return { instrument: o.instrument, exposure: o.exposure_id, detector: o.detector_num };
}

/** The exposure record obs_base's makeExposureRecordFromObsInfo makes (universe v8 fields). */
export function exposureRecord(o: Observation): Record<string, unknown> {
  const [ra, dec] = o.tracking_radec ?? [null, null];
  const skyAngle = o.tracking_radec && o.boresight_rotation_coord === "sky" ? o.boresight_rotation_angle : null;
  const end = o.datetime_end < o.datetime_begin ? o.datetime_begin : o.datetime_end;
  return {
    instrument: o.instrument,
    id: o.exposure_id,
    obs_id: o.observation_id,
    physical_filter: o.physical_filter,
    group: o.exposure_group,
    day_obs: o.observing_day,
    exposure_time: o.exposure_time_requested,
    dark_time: o.dark_time,
    observation_type: o.observation_type,
    observation_reason: o.observation_reason,
    seq_num: o.observation_counter,
    seq_start: o.group_counter_start,
    seq_end: o.group_counter_end,
    target_name: o.object,
    science_program: o.science_program,
    tracking_ra: ra,
    tracking_dec: dec,
    sky_angle: skyAngle !== null && Number.isFinite(skyAngle) ? skyAngle : null,
    azimuth: o.altaz_begin ? o.altaz_begin[0] : null,
    zenith_angle: o.altaz_begin ? 90 - o.altaz_begin[1] : null,
    has_simulated: o.has_simulated_content,
    can_see_sky: o.can_see_sky,
    timespan: { begin: formatUtc(o.datetime_begin), end: formatUtc(end) },
  };
}

/**
 * The records a raw implies, in insertion order: physical_filter (when its band is known), day_obs
 * (with its timespan, Timespan.from_day_obs), group, exposure. The instrument and detector records
 * come from the instrument module (translate.ts adds them).
 */
export function observationRecords(o: Observation): DimensionRecordInput[] {
  const out: DimensionRecordInput[] = [];
  if (o.band !== null) out.push({ element: "physical_filter", record: { instrument: o.instrument, name: o.physical_filter, band: o.band } });
  const begin = dayBegin(o);
  out.push({
    element: "day_obs",
    record: {
      instrument: o.instrument,
      id: o.observing_day,
      ...(begin === null ? {} : { timespan: { begin: formatUtc(begin), end: formatUtc(begin + 86_400_000_000n) } }),
    },
  });
  out.push({ element: "group", record: { instrument: o.instrument, name: o.exposure_group } });
  out.push({ element: "exposure", record: exposureRecord(o) });
  return out;
}
