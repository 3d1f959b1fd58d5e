import pg from "pg";
import { parseTimestamptz } from "../../lib/pg-timestamp";

/** pg's own timestamptz parser (postgres-date): this test does not load lib/database.ts, which replaces it. */
const postgresDate = pg.types.getTypeParser(1184, "text") as (value: string) => unknown;

/**
 * The catalog's timestamptz reader against pg's own (postgres-date) on what Postgres writes: every
 * offset form, 0 to 6 fraction digits, leap days and the ends of years, and what it hands back to
 * pg's parser (infinity, BC, years before 1000, other layouts).
 */
const same = (value: string) => {
  const fast = parseTimestamptz(value, postgresDate);
  const reference = postgresDate(value);
  return [value, fast instanceof Date ? fast.getTime() : fast, reference instanceof Date ? (reference as Date).getTime() : reference];
};

it("reads what Postgres writes as postgres-date reads it", () => {
  const values = [
    "2026-12-07 23:42:25+00",
    "2026-12-07 23:42:25.1+00",
    "2026-12-07 23:42:25.12+00",
    "2026-12-07 23:42:25.123+00",
    "2026-12-07 23:42:25.123456+00",
    "2026-12-07 23:42:25.999999+00",
    "2024-02-29 00:00:00.000001-05",
    "1999-12-31 23:59:59.5+05:30",
    "2000-01-01 00:00:00-03:30",
    "1970-01-01 00:00:00+00",
    "1901-06-15 12:00:00+00:09:21",
    "2026-03-08 10:05:00.25-09:30:15",
    "9999-12-31 23:59:59.999999+14",
  ];
  // And a thousand random instants in random offsets, as a session in any TimeZone writes them.
  for (let k = 0; k < 1000; k++) {
    const t = Date.UTC(1000, 0, 1) + Math.floor(Math.random() * (Date.UTC(9999, 0, 1) - Date.UTC(1000, 0, 1)));
    const offsetMin = [0, 60, -300, 330, 345, -570, 780][k % 7];
    const local = new Date(t + offsetMin * 60000);
    const p = (v: number, w = 2) => String(v).padStart(w, "0");
    const micro = k % 3 === 0 ? "" : `.${p(local.getUTCMilliseconds(), 3)}${p(Math.floor(Math.random() * 1000), 3)}`;
    const off = `${offsetMin < 0 ? "-" : "+"}${p(Math.floor(Math.abs(offsetMin) / 60))}${Math.abs(offsetMin) % 60 ? `:${p(Math.abs(offsetMin) % 60)}` : ""}`;
    values.push(`${local.getUTCFullYear()}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())} ${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}${micro}${off}`);
  }
  for (const v of values) {
    const [value, fast, reference] = same(v);
    expect([value, fast]).toEqual([value, reference]);
  }
});

it("hands infinity, BC dates, years before 1000 and other layouts to pg's parser", () => {
  const seen: string[] = [];
  const fallback = (value: string) => {
    seen.push(value);
    return postgresDate(value);
  };
  const others = ["infinity", "-infinity", "0044-03-15 12:00:00+00 BC", "0099-01-01 00:00:00+00", "0999-12-31 23:59:59+00", "2026-12-07T23:42:25Z", "2026-12-07 23:42:25", "2026-12-07 23:42:25+0"];
  for (const v of others) {
    const got = parseTimestamptz(v, fallback);
    const want = postgresDate(v);
    expect(got instanceof Date ? got.getTime() : got).toEqual(want instanceof Date ? (want as Date).getTime() : want);
  }
  expect(seen).toEqual(others);
});
