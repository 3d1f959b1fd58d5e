import { parseIndexJson, zipDimensionRecords, zipRowFields } from "../../subgraphs/facility/transfers/zip-records";

describe("the zip index's JSON", () => {
  it("keeps integers beyond 2^53 exact and leaves strings, fractions and exponents alone", () => {
    const text = `{"a": [1383369626658000999, -1383369626658000999, 20.474563720000006, 0.12345678901234567, 1e300, 12, "x\\"1383369626658000999"]}`;
    expect(parseIndexJson(text)).toEqual({ a: ["1383369626658000999", "-1383369626658000999", 20.474563720000006, 0.12345678901234567, 1e300, 12, 'x"1383369626658000999'] });
  });
});

describe("dimension records of a zip index", () => {
  it("lays out rows as daf_butler's serialize_key_value: required, own key, implied in universe order, alternate keys, metadata, region, timespan", () => {
    expect(zipRowFields("visit", 7)).toEqual([
      "instrument", "id", "day_obs", "physical_filter", "name", "seq_num", "exposure_time", "target_name", "observation_reason",
      "science_program", "azimuth", "zenith_angle", "region", "timespan",
    ]);
    expect(zipRowFields("visit_detector_region", 7)).toEqual(["instrument", "detector", "visit", "region"]);
    expect(zipRowFields("patch", 8)).toEqual(["skymap", "tract", "id", "cell_x", "cell_y", "region"]);
    expect(zipRowFields("exposure", 6)).not.toContain("can_see_sky");
    expect(zipRowFields("exposure", 7)).toContain("can_see_sky");
  });

  it("reads TAI nanoseconds to UTC microseconds (truncating), 0 and 2100-01-01 TAI as unbounded", () => {
    const records = zipDimensionRecords({ day_obs: [["HSC", 20131102, ["1383350400000000999", "4102444800000000000"]], ["HSC", 20131103, [0, "1383436800000000000"]]], band: [["i"]] }, 7);
    expect(records).toEqual([
      { element: "day_obs", record: { instrument: "HSC", id: 20131102, timespan: { begin: "2013-11-01T23:59:25.000000Z", end: null } } },
      { element: "day_obs", record: { instrument: "HSC", id: 20131103, timespan: { begin: null, end: "2013-11-02T23:59:25.000000Z" } } },
    ]);
  });

  it("refuses unknown elements and universes whose layout it does not know", () => {
    expect(() => zipDimensionRecords({ ssp_hypothesis_table: [["x"]] }, 8)).toThrow(/unknown dimension element 'ssp_hypothesis_table'/);
    expect(() => zipDimensionRecords({ instrument: [] }, 5)).toThrow(/versions 6 to 8/);
  });
});
