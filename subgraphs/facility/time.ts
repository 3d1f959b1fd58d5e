/**
 * Times of the Butler registry. daf_butler keeps times as TAI nanoseconds and writes them to YAML
 * exports as `!butler_time/tai/iso 'YYYY-MM-DD HH:MM:SS.fffffffff'`; this service stores them as
 * Postgres `timestamptz` (UTC, microseconds). Conversion uses the leap-second table below (TAI−UTC
 * since 1972; earlier instants use the 1972 offset of 10 s, an approximation). Sub-microsecond
 * digits are dropped. Scales other than UTC, TAI and TT are approximated: UT1 and local as UTC,
 * TDB, TCG and TCB as TT (within a few ms for dates near now).
 */

/** [UTC instant the offset starts at (ms since the epoch), TAI−UTC in seconds]. */
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
