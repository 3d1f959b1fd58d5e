import {
  calendarOfMjd, civilFromDays, dayObsBeginUtcMicros, daysFromCivil, formatIso, formatTaiIso, formatUtc, mjdOfCalendar, pacificOffsetSeconds,
  scaledToUtc, taiIsoToUtc, taiJdToUtcMicros, taiMjdToUtcMicros, toUtcText,
} from "../../subgraphs/facility/time";
import { compileWhere, datasetSource, recordSource } from "../../subgraphs/facility/where/compiler";
import { dimensionTable } from "../../subgraphs/facility/dimension-tables";

describe("one clock: calendar, MJD and the header translator's conversions", () => {
  it("counts civil days both ways across leap years and centuries (proleptic Gregorian)", () => {
    for (const [y, m, d] of [[1970, 1, 1], [2000, 2, 29], [1900, 3, 1], [2024, 12, 31], [1858, 11, 17]]) {
      const days = daysFromCivil(y, m, d);
      expect(days).toBe(Date.UTC(y, m - 1, d) / 86400000);
      expect(civilFromDays(days)).toEqual({ year: y, month: m, day: d });
    }
  });

  it("converts MJD to calendar times and back (MJD 0 = 1858-11-17, 51544.5 = 2000-01-01T12:00)", () => {
    expect(formatIso(calendarOfMjd(0))).toBe("1858-11-17T00:00:00");
    expect(formatIso(calendarOfMjd(51544.5))).toBe("2000-01-01T12:00:00");
    expect(mjdOfCalendar({ year: 2000, month: 1, day: 1, hour: 12, minute: 0, second: 0, fraction: "" })).toBe(51544.5);
  });

  it("reads FITS TAI MJDs and ObservationInfo's TAI Julian dates as UTC (37 s of leap seconds since 2017)", () => {
    expect(formatUtc(taiMjdToUtcMicros(60781.0))).toBe("2025-04-15T23:59:23.000000Z");
    expect(formatUtc(taiJdToUtcMicros(2460781.5, 0))).toBe("2025-04-15T23:59:23.000000Z");
    expect(formatUtc(taiJdToUtcMicros(2460817.0, -0.4418402777777778))).toBe(formatUtc(taiMjdToUtcMicros(60816.5 - 0.4418402777777778)));
  });

  it("begins an observing day at 00:00 TAI plus its offset (daf_butler's Timespan.from_day_obs)", () => {
    expect(formatUtc(dayObsBeginUtcMicros(20250415, 43200))).toBe("2025-04-15T11:59:23.000000Z");
    expect(formatUtc(dayObsBeginUtcMicros(20160101, 0))).toBe("2015-12-31T23:59:24.000000Z");
  });

  it("knows US Pacific daylight saving time (lab data's observing day): 7 h from the second Sunday of March to the first of November", () => {
    const at = (iso: string) => pacificOffsetSeconds(BigInt(Date.parse(iso)) * 1000n);
    expect(at("2019-03-19T15:50:28Z")).toBe(25200);
    expect(at("2019-03-10T09:59:59Z")).toBe(28800);
    expect(at("2019-03-10T10:00:00Z")).toBe(25200);
    expect(at("2019-11-03T08:59:59Z")).toBe(25200);
    expect(at("2019-11-03T09:00:00Z")).toBe(28800);
    expect(at("2024-01-15T00:00:00Z")).toBe(28800);
  });
});

describe("registry times", () => {
  it("converts TAI to UTC with the leap second table", () => {
    expect(taiIsoToUtc("2021-01-01 00:00:37.000000000")).toBe("2021-01-01T00:00:00.000000Z");
    expect(taiIsoToUtc("2016-12-31 23:59:59.000000000")).toBe("2016-12-31T23:59:23.000000Z");
    expect(taiIsoToUtc("1999-06-01 00:00:32.123456789")).toBe("1999-06-01T00:00:00.123456Z");
    expect(formatTaiIso(BigInt(Date.parse("2021-01-01T00:00:00Z")) * 1000n)).toBe("2021-01-01 00:00:37.000000000");
  });

  it("reads where-literal scales and client times", () => {
    expect(scaledToUtc("2025-06-01T00:00:37", "tai")).toBe("2025-06-01T00:00:00.000000Z");
    expect(scaledToUtc("2025-06-01T00:01:09.184", "tt")).toBe("2025-06-01T00:00:00.000000Z");
    expect(scaledToUtc("2025-06-01T00:00:00", "utc")).toBe("2025-06-01T00:00:00.000000Z");
    expect(toUtcText("2025-06-01T02:00:00+02:00")).toBe("2025-06-01T00:00:00.000000Z");
    expect(toUtcText({ tai: "2025-06-01 00:00:37" })).toBe("2025-06-01T00:00:00.000000Z");
    expect(toUtcText("yesterday")).toBeNull();
  });
});

describe("where compiler", () => {
  it("compiles dimension values to the datasets' indexed columns, with typed parameters", async () => {
    const params: unknown[] = [];
    const c = await compileWhere(null, "band = 'r' AND detector IN (1..3, 7) AND visit.exposure_time > 10.5", datasetSource([{ name: "calexp", dimensions: ["instrument", "band", "day_obs", "detector", "physical_filter", "visit"] }]), params, {});
    // A chain of ANDs is one flat condition.
    expect(c.sql).toBe(`((d."band" = $1::text) AND ((d."detector" = ANY($4::bigint[]) OR (d."detector" BETWEEN $2::bigint AND $3::bigint))) AND (w_visit."exposure_time" > $5::double precision))`);
    expect(params).toEqual(["r", 1, 3, [7], 10.5]);
    expect(c.joins).toEqual([`LEFT JOIN dim_visit w_visit ON w_visit."instrument" = d."instrument" AND w_visit."id" = d."visit"`]);
  });

  it("reaches a dimension a record lacks through the dimension that implies it", async () => {
    const params: unknown[] = [];
    const c = await compileWhere(null, "band = 'g'", recordSource(dimensionTable("exposure")!), params, {});
    expect(c.sql).toBe(`(w_physical_filter."band" = $1::text)`);
    expect(c.joins).toEqual([`LEFT JOIN dim_physical_filter w_physical_filter ON w_physical_filter."instrument" = r."instrument" AND w_physical_filter."name" = r."physical_filter"`]);
  });

  it("is true for an empty expression", async () => {
    expect(await compileWhere(null, "  ", datasetSource([]), [], null)).toEqual({ sql: "true", joins: [] });
  });
});
