import { DimensionRecordInput } from "../dimension-record";
import { element, sortByUniverse } from "../dimension-universe";
import { facilityError, FacilityErrorCode } from "../errors";
import { formatUtc, taiToUtcMicros } from "../time";

/**
 * The dimension records of a newer Butler zip index (`refs.dimension_records`, daf_butler's
 * SerializableDimensionData): per element, rows as lists in the element's column order
 * (DimensionRecord.serialize_key_value): the required dimension values (the element's own key
 * last), the implied dimension values, the alternate keys, the metadata fields, then the region
 * (sphgeom hex) and the timespan (`[begin_ns, end_ns]`, TAI nanoseconds since 1970-01-01 TAI, 0 and
 * 2100-01-01 TAI standing for unbounded) when the element has them. Source: daf_butler
 * python/lsst/daf/butler/dimensions/_records.py (serialize_key_value), _schema.py
 * (DimensionRecordSchema: implied in universe order, then alternate keys, metadata, region,
 * timespan) and time_utils.py (TimeConverter).
 *
 * The layout depends on the universe version: versions 6 to 8 are read (6 lacks
 * exposure.can_see_sky). `band` rows are skipped (band values come from physical_filter here).
 */

/** Fields absent from an element's rows in older universes. */
const ABSENT: Record<number, Record<string, string[]>> = {
  6: { exposure: ["can_see_sky"] },
  7: {},
  8: {},
};

/** The first and last universe versions whose row layout is read. */
export const ZIP_RECORD_UNIVERSES = { min: 6, max: 8 } as const;

/** TimeConverter.max_nsec: 2100-01-01 00:00:00 TAI in nanoseconds since the TAI epoch. */
const MAX_NSEC = BigInt(Date.UTC(2100, 0, 1)) * 1_000_000n;

function formatError(message: string, details: Record<string, unknown> = {}) {
  return facilityError(FacilityErrorCode.IMPORT_FORMAT_ERROR, message, details);
}

/** The names of a row's fields, in order, for an element of the given universe version. */
export function zipRowFields(elementName: string, universeVersion: number): string[] {
  const e = element(elementName);
  const absent = new Set(ABSENT[universeVersion]?.[elementName] ?? []);
  const own = e.kind === "dimension" ? [e.keys[0].name] : [];
  const required = sortByUniverse(closureOfRequires(e.requires)).filter((d) => d !== e.name);
  return [
    ...required,
    ...own,
    ...sortByUniverse(e.implies),
    ...e.alternateKeys,
    ...e.metadata.map((m) => m.name).filter((m) => !absent.has(m)),
    ...(e.hasRegion ? ["region"] : []),
    ...(e.hasTimespan ? ["timespan"] : []),
  ];
}

function closureOfRequires(names: readonly string[]): string[] {
  const out = new Set<string>();
  const todo = [...names];
  while (todo.length) {
    const n = todo.pop()!;
    if (out.has(n)) continue;
    out.add(n);
    todo.push(...element(n).requires);
  }
  return [...out];
}

function timeOfNsec(value: unknown, unbounded: bigint, where: string): string | null {
  if (typeof value !== "number" && typeof value !== "string") throw formatError(`${where}: a timespan bound must be an integer of nanoseconds, got ${JSON.stringify(value)}`);
  let ns: bigint;
  try {
    ns = BigInt(value);
  } catch {
    throw formatError(`${where}: a timespan bound must be an integer of nanoseconds, got ${JSON.stringify(value)}`);
  }
  if (ns === unbounded) return null;
  return formatUtc(taiToUtcMicros(ns / 1000n));
}

/**
 * The records of `refs.dimension_records` as keyed records (timespans as {begin, end} UTC text).
 * The JSON must have been read with parseIndexJson, which keeps the nanoseconds exact.
 */
export function zipDimensionRecords(raw: unknown, universeVersion: unknown): DimensionRecordInput[] {
  if (raw === null || raw === undefined) return [];
  if (typeof raw !== "object" || Array.isArray(raw)) throw formatError("refs.dimension_records must map element names to lists of rows");
  const version = Number(universeVersion);
  if (!Number.isInteger(version) || version < ZIP_RECORD_UNIVERSES.min || version > ZIP_RECORD_UNIVERSES.max) {
    throw formatError(
      `the zip index carries dimension records of universe version ${String(universeVersion)}; their layout is read for versions ${ZIP_RECORD_UNIVERSES.min} to ${ZIP_RECORD_UNIVERSES.max}`,
    );
  }
  const out: DimensionRecordInput[] = [];
  for (const [name, rows] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "band") continue;
    let fields: string[];
    try {
      fields = zipRowFields(name, version);
    } catch {
      throw formatError(`refs.dimension_records: unknown dimension element '${name}' (this registry has the daf_butler universe v8 without it)`, { element: name });
    }
    if (!Array.isArray(rows)) throw formatError(`refs.dimension_records.${name} must be a list of rows`, { element: name });
    rows.forEach((row, i) => {
      const where = `refs.dimension_records.${name}[${i}]`;
      if (!Array.isArray(row) || row.length !== fields.length) {
        throw formatError(`${where}: expected a list of ${fields.length} values (${fields.join(", ")})`, { element: name, row: i });
      }
      const record: Record<string, unknown> = {};
      fields.forEach((f, k) => {
        const v = row[k];
        if (f === "timespan") {
          if (v === null) record.timespan = null;
          else if (!Array.isArray(v) || v.length !== 2) throw formatError(`${where}: the timespan must be [begin_ns, end_ns]`, { element: name, row: i });
          else record.timespan = { begin: timeOfNsec(v[0], 0n, where), end: timeOfNsec(v[1], MAX_NSEC, where) };
        } else record[f] = v;
      });
      out.push({ element: name, record });
    });
  }
  return out;
}

/**
 * JSON.parse keeping integers beyond 2^53 exact: the timespans of a zip index are TAI nanoseconds
 * (about 1.4e18, where a double is off by up to 128 ns). Such integer literals outside strings
 * become decimal strings before parsing (Node 20's JSON.parse gives a reviver no source text);
 * zipDimensionRecords reads them with BigInt.
 */
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

export function parseIndexJson(text: string): unknown {
  let out = "";
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, with its escapes.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      // A whole number token: -?digits(.digits)?([eE][+-]?digits)?
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) continue;
      if (!m[1] && !m[2] && m[0].replace("-", "").length > 15) {
        out += `${text.slice(last, i)}"${m[0]}"`;
        last = i + m[0].length;
      }
      i += m[0].length - 1;
    }
  }
  return JSON.parse(out + text.slice(last));
}
