import { DbbError } from "../../lib/errors";
import { readFitsHeader, writeFitsFile } from "../../lib/fits-header";
import { computeExposureId } from "../../subgraphs/facility/instrument/rubin-header";
import { planRaw, translateHeader } from "../../subgraphs/facility/instrument/translate";
import { makeDatasetId } from "../../subgraphs/facility/dataset-id";
import { formatUtc, taiMjdToUtcMicros } from "../../subgraphs/facility/time";
import { headerCards, obsLsstHeader } from "../support/obs-lsst-headers";

/**
 * Real raw headers (test/data/obs_lsst/headers, from obs_lsst's tests/headers) written as FITS files,
 * read back and translated; the expected values are those obs_lsst's tests/test_translator.py
 * expects for the same files (test_lsstCam_translator, test_comCam_translator, test_latiss_translator).
 */

/** Header dump → FITS file bytes → header values, as an arriving raw's are read. */
function viaFits(file: string) {
  const values = obsLsstHeader(file);
  return readFitsHeader(writeFitsFile(headerCards(values))).values;
}

const EXPECTED: Record<string, Record<string, unknown>> = {
  "lsstCam-MC_O_20250415_000060_R01_S01.yaml": {
    instrument: "LSSTCam", boresight_rotation_coord: "sky", boresight_rotation_angle: -43.62470328866432, can_see_sky: true, dark_time: 15.9548,
    detector_group: "R01", detector_name: "S01", detector_num: 1, detector_serial: "ITL-3800C-226", exposure_id: 2025041500060,
    exposure_group: "2025-04-16T00:53:10.143", exposure_time: 15.000998497009277, exposure_time_requested: 15.0, group_counter_end: 60,
    group_counter_start: 60, has_simulated_content: false, object: "Vela_SNR", observation_counter: 60, observation_id: "MC_O_20250415_000060",
    observation_type: "acq", observation_reason: "first_focus", observing_day: 20250415, observing_day_offset: 43200, physical_filter: "i_39",
    science_program: "BLOCK-T434",
  },
  "lsstCam-MC_C_20190319_000001_R10_S02.yaml": {
    instrument: "LSSTCam", boresight_rotation_coord: "unknown", can_see_sky: false, dark_time: 0.0, detector_group: "R10", detector_name: "S02",
    detector_num: 29, detector_serial: "ITL-3800C-041", exposure_id: 3019031900001, exposure_group: "3019031900001", exposure_time: 0.0,
    exposure_time_requested: 0.0, group_counter_end: 1, group_counter_start: 1, has_simulated_content: false, object: "UNKNOWN",
    observation_counter: 1, observation_id: "MC_C_20190319_000001", observation_type: "bias", observation_reason: "bias", observing_day: 20190319,
    observing_day_offset: 25200, physical_filter: "unknown", science_program: "unknown",
  },
  "lsstCam-MC_O_20260315_000051_R01_S01.yaml": {
    instrument: "LSSTCam", boresight_rotation_coord: "unknown", boresight_rotation_angle: 89.30082602885373, can_see_sky: false, dark_time: 5.01371,
    detector_group: "R01", detector_name: "S01", detector_num: 1, detector_serial: "ITL-3800C-226", exposure_id: 2026031500051,
    exposure_group: "2026-03-15T22:50:34.110", exposure_time: 5.0, exposure_time_requested: 5.0, group_counter_end: 51, group_counter_start: 51,
    has_simulated_content: false, object: "azel_target", observation_counter: 51, observation_id: "MC_O_20260315_000051", observation_type: "dark",
    observation_reason: "tmacheckout", observing_day: 20260315, observing_day_offset: 43200, physical_filter: "i_39", science_program: "BLOCK-T250",
  },
  "lsstCam-MC_O_20251121_000156_R44_SW0.json": {
    instrument: "LSSTCam", boresight_rotation_coord: "sky", boresight_rotation_angle: 290.31522740370315, can_see_sky: true, dark_time: 30.9318,
    detector_group: "R44", detector_name: "SW0", detector_num: 203, detector_serial: "ITL-4400B-025", exposure_id: 2025112100156,
    exposure_group: "2025-11-22T03:25:16.951", exposure_time: 30.00100302696228, exposure_time_requested: 30.0, group_counter_end: 156,
    group_counter_start: 156, has_simulated_content: false, object: "lowdust GW_case_large_1", observation_counter: 156,
    observation_id: "MC_O_20251121_000156", observation_type: "science", observation_reason: "too_gw_case_large_1_i3", observing_day: 20251121,
    observing_day_offset: 43200, physical_filter: "i_39", science_program: "BLOCK-407",
  },
  "comCam-CC_O_20241108_000266_R22_S00.yaml": {
    instrument: "LSSTComCam", boresight_rotation_coord: "sky", can_see_sky: true, boresight_rotation_angle: 102.79926387330579, dark_time: 30.4306,
    detector_group: "R22", detector_name: "S00", detector_num: 0, detector_serial: "ITL-3800C-229", exposure_id: 2024110800266,
    exposure_group: "2024-11-09T06:33:55.311", exposure_time: 30.0, exposure_time_requested: 30.0, group_counter_end: 266, group_counter_start: 266,
    has_simulated_content: false, object: "slew_icrs", observation_counter: 266, observation_id: "CC_O_20241108_000266", observation_type: "science",
    observation_reason: "science", observing_day: 20241108, observing_day_offset: 43200, physical_filter: "g_01", science_program: "PP-SURVEY",
  },
  "latiss-AT_O_20230321_000053.yaml": {
    instrument: "LATISS", boresight_rotation_coord: "unknown", can_see_sky: false, dark_time: 30.0126, detector_group: "RXX", detector_name: "S00",
    detector_num: 0, exposure_id: 2023032100053, exposure_group: "2023-03-21T16:11:07.633", exposure_time: 30.0, exposure_time_requested: 30.0,
    group_counter_end: 53, group_counter_start: 53, has_simulated_content: false, object: "slew_icrs", observation_counter: 53,
    observation_id: "AT_O_20230321_000053", observation_type: "dark", observation_reason: "dark", observing_day: 20230321, observing_day_offset: 43200,
    physical_filter: "empty~empty", science_program: "unknown",
  },
  "latiss-AT_O_20240624_000169_R00_S00.yaml": {
    instrument: "LATISS", boresight_rotation_coord: "unknown", can_see_sky: false, dark_time: 30.0096, detector_group: "RXX", detector_name: "S00",
    detector_num: 0, exposure_id: 2024062400169, exposure_group: "2024-06-25T07:10:40.297", exposure_time: 30.0, exposure_time_requested: 30.0,
    group_counter_end: 169, group_counter_start: 169, has_simulated_content: false, object: "FlatField position", observation_counter: 169,
    observation_id: "AT_O_20240624_000169", observation_type: "dark", observation_reason: "dark", observing_day: 20240624, observing_day_offset: 43200,
    physical_filter: "SDSSr_65mm~empty", science_program: "unknown",
  },
};

describe("raw header translation (obs_lsst's expected values)", () => {
  for (const [file, expected] of Object.entries(EXPECTED)) {
    it(`${file}: every property obs_lsst's test expects`, () => {
      const o = translateHeader(viaFits(file));
      const got = Object.fromEntries(Object.keys(expected).map((k) => [k, (o as any)[k]]));
      const want = { ...expected };
      if (typeof want.boresight_rotation_angle === "number") {
        expect(o.boresight_rotation_angle).toBeCloseTo(want.boresight_rotation_angle as number, 9);
        delete want.boresight_rotation_angle;
        delete got.boresight_rotation_angle;
      }
      expect(got).toEqual(want);
    });
  }

  it("takes the begin time from MJD-BEG (TAI) and turns it into UTC: 37 s earlier in 2025", () => {
    const values = obsLsstHeader("lsstCam-MC_O_20250415_000060_R01_S01.yaml");
    const o = translateHeader(values);
    expect(o.datetime_begin).toBe(taiMjdToUtcMicros(values["MJD-BEG"] as number));
    expect(formatUtc(o.datetime_begin).slice(0, 22)).toBe("2025-04-16T00:52:36.57");
    expect(formatUtc(o.datetime_end).slice(0, 22)).toBe("2025-04-16T00:52:52.52");
  });

  it("computes exposure IDs with the controller offsets as obs_lsst's test_compute_exposure_id lists them", () => {
    const cases: Array<[string | number, string | number, string | null, number]> = [
      [20240318, 43, null, 2024031800043],
      ["2024-03-18", "42", "O", 2024031800042],
      [20240318, "1", "H", 4024031800001],
      [20231004, "1", "C", 3023100400001],
      ["2025-04-17", 101, "P", 5025041700101],
      [20250417, 42, "Q", 6025041700042],
      [20250417, 42, "S", 7025041700042],
      [20250418, 43, null, 2025041800043],
      ["2023-10-05", 1, "C", 2023100500001],
      ["2025-04-18", 101, "P", 2025041800101],
      [20250418, 42, "Q", 2025041800042],
      [20250418, 42, "S", 2025041800042],
    ];
    for (const [day, seq, controller, id] of cases) expect([day, seq, controller, computeExposureId(day, seq, controller)]).toEqual([day, seq, controller, id]);
  });

  it("plans the raw: records obs_base would make (day_obs from 12:00 TAI, exposure with the requested exposure time) and the id of DATAID_TYPE_RUN in LSSTCam/raw/all", () => {
    const plan = planRaw(translateHeader(viaFits("lsstCam-MC_O_20251121_000156_R44_SW0.json")));
    expect(plan.run).toBe("LSSTCam/raw/all");
    expect(plan.dataId).toEqual({ instrument: "LSSTCam", exposure: 2025112100156, detector: 203 });
    expect(makeDatasetId("raw", plan.run, plan.dataId, "DATAID_TYPE_RUN")).toMatch(/^[0-9a-f-]{36}$/);
    const byElement = Object.fromEntries(plan.records.map((r) => [r.element, r.record]));
    expect(Object.keys(byElement)).toEqual(["instrument", "detector", "physical_filter", "day_obs", "group", "exposure"]);
    expect(byElement.detector).toEqual({ instrument: "LSSTCam", id: 203, full_name: "R44_SW0", name_in_raft: "SW0", raft: "R44", purpose: "WAVEFRONT" });
    expect(byElement.physical_filter).toEqual({ instrument: "LSSTCam", name: "i_39", band: "i" });
    // 2025-11-21T00:00 TAI + 12 h = 11:59:23 UTC (TAI−UTC = 37 s).
    expect(byElement.day_obs).toEqual({ instrument: "LSSTCam", id: 20251121, timespan: { begin: "2025-11-21T11:59:23.000000Z", end: "2025-11-22T11:59:23.000000Z" } });
    expect(byElement.exposure).toMatchObject({
      id: 2025112100156, obs_id: "MC_O_20251121_000156", physical_filter: "i_39", group: "2025-11-22T03:25:16.951", day_obs: 20251121,
      exposure_time: 30.0, dark_time: 30.9318, observation_type: "science", observation_reason: "too_gw_case_large_1_i3", seq_num: 156,
      target_name: "lowdust GW_case_large_1", science_program: "BLOCK-407", has_simulated: false, can_see_sky: true,
    });
    const e = byElement.exposure as any;
    expect(e.tracking_ra).toBeCloseTo(10.7222, 3);
    expect(e.tracking_dec).toBeCloseTo(-47.6645, 3);
    expect(e.sky_angle).toBeCloseTo(290.31522740370315, 9);
    expect(e.azimuth).toBeCloseTo(360 - 134.829439506459, 9);
    expect(e.zenith_angle).toBeCloseTo(90 - 60.6996854239269, 9);
  });

  it("a bad header is a coded error naming the card, not a crash", () => {
    const errorOf = (values: Record<string, unknown>) => {
      try {
        translateHeader(values as any);
      } catch (err) {
        if (err instanceof DbbError) return { code: err.code, keyword: err.details.keyword };
        throw err;
      }
      throw new Error("expected an error");
    };
    const good = obsLsstHeader("lsstCam-MC_O_20250415_000060_R01_S01.yaml");
    expect(errorOf({ ...good, SEQNUM: "sixty" })).toEqual({ code: "BAD_HEADER_CARD", keyword: "SEQNUM" });
    expect(errorOf({ ...good, DAYOBS: undefined })).toEqual({ code: "BAD_HEADER_CARD", keyword: "DAYOBS" });
    expect(errorOf({ ...good, CCDSLOT: "S99" })).toEqual({ code: "BAD_HEADER_CARD", keyword: "CCDSLOT" });
    expect(errorOf({ ...good, "MJD-BEG": "yesterday" })).toEqual({ code: "BAD_HEADER_CARD", keyword: "MJD-BEG" });
    expect(errorOf({ ...good, INSTRUME: "HSC" })).toEqual({ code: "UNSUPPORTED_INSTRUMENT", keyword: "INSTRUME" });
  });
});
