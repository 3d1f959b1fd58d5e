import { formatTaiIso, scaledToUtc, taiIsoToUtc, toUtcText } from "../../subgraphs/facility/time";
import { compileWhere, datasetSource, recordSource } from "../../subgraphs/facility/where/compiler";
import { dimensionTable } from "../../subgraphs/facility/dimension-tables";

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
