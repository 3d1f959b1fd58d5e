/**
 * The one clock of the facility: the where parser's time literals, the dimension records' timespans
 * and the raw-header translator all use these conversions.
 *
 * Times of the Butler registry. daf_butler keeps times as TAI nanoseconds and writes them to YAML
 * exports as `!butler_time/tai/iso 'YYYY-MM-DD HH:MM:SS.fffffffff'`; this service stores them as
 * Postgres `timestamptz` (UTC, microseconds). Conversion uses the leap-second table below (TAI−UTC
 * since 1972; earlier instants use the 1972 offset of 10 s, an approximation). Sub-microsecond
 * digits are dropped. Scales other than UTC, TAI and TT are approximated: UT1 and local as UTC,
 * TDB, TCG and TCB as TT (within a few ms for dates near now).
 */

/**
 * [UTC instant the offset starts at (ms since the epoch), TAI−UTC in seconds]: the leap seconds of
 * IERS Bulletin C, as ERFA's `eraDat` (erfa/src/dat.c, the table astropy uses) lists them since 1972.
 * The last entry (2017-01-01, 37 s) holds until IERS announces another leap second.
 */
const LEAP_SECONDS: ReadonlyArray<[number, number]> = (
  [
    ["1972-01-01", 10], ["1972-07-01", 11], ["1973-01-01", 12], ["1974-01-01", 13], ["1975-01-01", 14],
    ["1976-01-01", 15], ["1977-01-01", 16], ["1978-01-01", 17], ["1979-01-01", 18], ["1980-01-01", 19],
    ["1981-07-01", 20], ["1982-07-01", 21], ["1983-07-01", 22], ["1985-07-01", 23], ["1988-01-01", 24],
    ["1990-01-01", 25], ["1991-01-01", 26], ["1992-07-01", 27], ["1993-07-01", 28], ["1994-07-01", 29],
    ["1996-01-01", 30], ["1997-07-01", 31], ["1999-01-01", 32], ["2006-01-01", 33], ["2009-01-01", 34],
    ["2012-07-01", 35], ["2015-07-01", 36], ["2017-01-01", 37],
  ] as Array<[string, number]>
).map(([day, offset]) => [Date.parse(`${day}T00:00:00Z`), offset]);

/** TT − TAI, exactly. */
const TT_MINUS_TAI_MICROS = 32_184_000n;

/** TAI−UTC (seconds) at a UTC instant. */
function offsetAtUtc(utcMicros: bigint): number {
  let offset = LEAP_SECONDS[0][1];
  for (const [start, seconds] of LEAP_SECONDS) if (utcMicros >= BigInt(start) * 1000n) offset = seconds;
  return offset;
}

/** TAI−UTC (seconds) at a TAI instant. */
function offsetAtTai(taiMicros: bigint): number {
  let offset = LEAP_SECONDS[0][1];
  for (const [start, seconds] of LEAP_SECONDS) if (taiMicros >= (BigInt(start) + BigInt(seconds) * 1000n) * 1000n) offset = seconds;
  return offset;
}

export function taiToUtcMicros(tai: bigint): bigint {
  return tai - BigInt(offsetAtTai(tai)) * 1_000_000n;
}

export function utcToTaiMicros(utc: bigint): bigint {
  return utc + BigInt(offsetAtUtc(utc)) * 1_000_000n;
}

const CALENDAR = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)?)?(Z|[+-]00:?00)?$/;

/** Microseconds since 1970-01-01 of a calendar time written without zone (or with Z / +00:00), in its own scale. */
export function calendarMicros(text: string): bigint | null {
  const m = CALENDAR.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = ""] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return null;
  const micros = BigInt((frac + "000000").slice(0, 6) || "0");
  return BigInt(ms) * 1000n + micros;
}

/** ISO 8601 UTC text with microseconds: what Postgres takes as `timestamptz`. */
export function formatUtc(micros: bigint): string {
  const frac = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const seconds = (micros - frac) / 1_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${base}.${frac.toString().padStart(6, "0")}Z`;
}

/** daf_butler's YAML form: TAI, ISO with a space and nine fractional digits. */
export function formatTaiIso(utcMicros: bigint): string {
  const tai = utcToTaiMicros(utcMicros);
  return formatUtc(tai).replace("T", " ").replace("Z", "") + "000";
}

export function dateToMicros(date: Date): bigint {
  return BigInt(date.getTime()) * 1000n;
}

/** `!butler_time/tai/iso` value → UTC text for Postgres. */
export function taiIsoToUtc(text: string): string {
  const tai = calendarMicros(text);
  if (tai === null) throw new Error(`not a TAI ISO time: '${text}'`);
  return formatUtc(taiToUtcMicros(tai));
}

/**
 * A time given in a scale (where-expression literals carry one) → UTC text. `iso` is the
 * calendar text in that scale.
 */
export function scaledToUtc(iso: string, scale: string): string {
  const micros = calendarMicros(iso);
  if (micros === null) throw new Error(`not a calendar time: '${iso}'`);
  switch (scale) {
    case "tai":
      return formatUtc(taiToUtcMicros(micros));
    case "tt":
    case "tdb":
    case "tcg":
    case "tcb":
      return formatUtc(taiToUtcMicros(micros - TT_MINUS_TAI_MICROS));
    default:
      return formatUtc(micros);
  }
}

/**
 * A time a client sends (JSON input, bind values, record fields): ISO 8601 text, read as UTC unless it
 * carries an offset, or `{tai: "…"}` for a TAI calendar time. Returns UTC text, or null when unreadable.
 */
export function toUtcText(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : formatUtc(dateToMicros(value));
  if (value && typeof value === "object" && typeof (value as { tai?: unknown }).tai === "string") {
    try {
      return taiIsoToUtc((value as { tai: string }).tai);
    } catch {
      return null;
    }
  }
  if (typeof value !== "string") return null;
  const micros = calendarMicros(value);
  if (micros !== null) return formatUtc(micros);
  const ms = Date.parse(value);
  return Number.isNaN(ms) || !/^\d{4}-\d{2}-\d{2}/.test(value) ? null : formatUtc(BigInt(ms) * 1000n);
}

// --- Calendar arithmetic (proleptic Gregorian), MJD and JD ---------------------------------------

/** MJD of 1970-01-01T00:00. */
export const MJD_OF_UNIX_EPOCH = 40587;

/** A calendar time in some scale, as written (the where parser's literals). */
export interface CalendarTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Digits after the decimal point of the seconds, as written (may be ""). */
  fraction: string;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function mjdOfCalendar(t: CalendarTime): number {
  const seconds = t.hour * 3600 + t.minute * 60 + t.second + (t.fraction ? Number("0." + t.fraction) : 0);
  return daysFromCivil(t.year, t.month, t.day) + MJD_OF_UNIX_EPOCH + seconds / 86400;
}

/** The calendar time of an MJD, rounded to the microsecond. */
export function calendarOfMjd(mjd: number): CalendarTime {
  let days = Math.floor(mjd);
  let micros = Math.round((mjd - days) * 86400e6);
  if (micros >= 86400e6) {
    days += 1;
    micros -= 86400e6;
  }
  const { year, month, day } = civilFromDays(days - MJD_OF_UNIX_EPOCH);
  const totalSeconds = Math.floor(micros / 1e6);
  const fraction = String(micros - totalSeconds * 1e6).padStart(6, "0").replace(/0+$/, "");
  return {
    year,
    month,
    day,
    hour: Math.floor(totalSeconds / 3600),
    minute: Math.floor((totalSeconds % 3600) / 60),
    second: totalSeconds % 60,
    fraction,
  };
}

export function formatIso(t: CalendarTime): string {
  const p = (v: number, width = 2): string => String(v).padStart(width, "0");
  const base = `${p(t.year, 4)}-${p(t.month)}-${p(t.day)}T${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
  return t.fraction ? `${base}.${t.fraction}` : base;
}

/** Microseconds since 1970-01-01 (in the MJD's own scale) of an MJD, rounded to the microsecond. */
export function mjdToMicros(mjd: number): bigint {
  const days = Math.floor(mjd);
  return BigInt(days - MJD_OF_UNIX_EPOCH) * 86_400_000_000n + BigInt(Math.round((mjd - days) * 86400e6));
}

/** The MJD of microseconds since 1970-01-01 (same scale). */
export function microsToMjd(micros: bigint): number {
  return Number(micros) / 86400e6 + MJD_OF_UNIX_EPOCH;
}

/** A TAI MJD (FITS MJD-BEG with TIMESYS = TAI) → UTC microseconds. */
export function taiMjdToUtcMicros(mjd: number): bigint {
  return taiToUtcMicros(mjdToMicros(mjd));
}

/** A TAI Julian date given in two parts (astropy's jd1 + jd2, as ObservationInfo.to_simple writes it) → UTC microseconds. */
export function taiJdToUtcMicros(jd1: number, jd2: number): bigint {
  const whole = Math.floor(jd1) - 2400001; // MJD = JD − 2400000.5
  const frac = jd1 - Math.floor(jd1) + jd2 + 0.5;
  return taiToUtcMicros(mjdToMicros(whole + frac));
}

/** The UTC instant of a TAI calendar time written like FITS DATE-BEG ('2025-04-16T00:53:13.573'), or null. */
export function taiCalendarToUtcMicros(text: string): bigint | null {
  const micros = calendarMicros(text);
  return micros === null ? null : taiToUtcMicros(micros);
}

/** The UTC microseconds of a day_obs (YYYYMMDD) at 00:00 TAI plus an offset in seconds (daf_butler's Timespan.from_day_obs). */
export function dayObsBeginUtcMicros(dayObs: number, offsetSeconds: number): bigint {
  const y = Math.floor(dayObs / 10000);
  const m = Math.floor(dayObs / 100) % 100;
  const d = dayObs % 100;
  const tai = BigInt(daysFromCivil(y, m, d)) * 86_400_000_000n + BigInt(Math.round(offsetSeconds * 1e6));
  return taiToUtcMicros(tai);
}

/** YYYYMMDD of a date given as microseconds since 1970 in some scale. */
export function dayObsOfMicros(micros: bigint): number {
  const days = Number((micros - (((micros % 86_400_000_000n) + 86_400_000_000n) % 86_400_000_000n)) / 86_400_000_000n);
  const { year, month, day } = civilFromDays(days);
  return year * 10000 + month * 100 + day;
}

/**
 * Seconds US Pacific time is behind UTC at a UTC instant (25,200 in daylight saving time, 28,800
 * otherwise), by the rules in force since 2007: DST from the second Sunday of March at 02:00 PST to
 * the first Sunday of November at 02:00 PDT. obs_lsst takes the observing day of lab data (LSSTCam
 * before 2024-05, LSSTComCam before 2020-03) to roll over at Pacific midnight.
 */
export function pacificOffsetSeconds(utcMicros: bigint): number {
  const ms = Number(utcMicros / 1000n);
  const year = new Date(ms).getUTCFullYear();
  const nthSunday = (month: number, n: number) => {
    const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
    return 1 + ((7 - first) % 7) + 7 * (n - 1);
  };
  const start = Date.UTC(year, 2, nthSunday(3, 2), 10); // 02:00 PST = 10:00 UTC
  const end = Date.UTC(year, 10, nthSunday(11, 1), 9); // 02:00 PDT = 09:00 UTC
  return ms >= start && ms < end ? 25_200 : 28_800;
}
