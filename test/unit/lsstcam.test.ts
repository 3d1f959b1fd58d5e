import { readFileSync } from "node:fs";
import path from "node:path";
import {
  LSSTCAM_DETECTORS,
  LSSTCAM_FILTERS,
  LSSTCAM_INSTRUMENT_RECORD,
  lsstCamDetector,
  lsstCamDetectorByName,
  lsstCamDetectorRecord,
  lsstCamPhysicalFilter,
} from "../../subgraphs/facility/instrument/lsstcam";

/** obs_lsst's LSSTCam detector table (see test/data/obs_lsst/README.md). */
function obsLsstDetectors(): Array<{ id: number; full_name: string; name_in_raft: string; raft: string; purpose: string }> {
  const text = readFileSync(path.resolve(__dirname, "../../../test/data/obs_lsst/lsstcam-detectors.csv"), "utf8");
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const keys = header.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    const row: Record<string, string | number> = Object.fromEntries(keys.map((k, i) => [k, cells[i]]));
    row.id = Number(row.id);
    return row as any;
  });
}

describe("LSSTCam detectors", () => {
  it("are obs_lsst's 205 detectors, row for row (id, full_name, name_in_raft, raft, purpose)", () => {
    const expected = obsLsstDetectors();
    expect(expected).toHaveLength(205);
    expect(LSSTCAM_DETECTORS.map(lsstCamDetectorRecord)).toEqual(expected.map((r) => ({ instrument: "LSSTCam", ...r })));
  });

  it("number the science detectors 0–188 over R01…R43 and the corner guider and wavefront sensors 189–204", () => {
    expect(lsstCamDetector(0)).toMatchObject({ fullName: "R01_S00", purpose: "SCIENCE" });
    expect(lsstCamDetector(94)).toEqual({ id: 94, fullName: "R22_S11", raft: "R22", nameInRaft: "S11", purpose: "SCIENCE" });
    expect(lsstCamDetector(188)).toMatchObject({ fullName: "R43_S22", purpose: "SCIENCE" });
    expect(LSSTCAM_DETECTORS.slice(189).map((d) => `${d.id} ${d.fullName} ${d.purpose}`)).toEqual([
      "189 R00_SG0 GUIDER", "190 R00_SG1 GUIDER", "191 R00_SW0 WAVEFRONT", "192 R00_SW1 WAVEFRONT",
      "193 R04_SG0 GUIDER", "194 R04_SG1 GUIDER", "195 R04_SW0 WAVEFRONT", "196 R04_SW1 WAVEFRONT",
      "197 R40_SG0 GUIDER", "198 R40_SG1 GUIDER", "199 R40_SW0 WAVEFRONT", "200 R40_SW1 WAVEFRONT",
      "201 R44_SG0 GUIDER", "202 R44_SG1 GUIDER", "203 R44_SW0 WAVEFRONT", "204 R44_SW1 WAVEFRONT",
    ]);
    expect(lsstCamDetector(205)).toBeUndefined();
    expect(lsstCamDetector(-1)).toBeUndefined();
    expect(lsstCamDetector(1.5)).toBeUndefined();
  });

  it("are found by full name, or by a raw header's RAFTBAY and CCDSLOT", () => {
    expect(lsstCamDetectorByName("R22_S11")?.id).toBe(94);
    // obs_lsst's test headers: lsstCam-MC_O_20250415_000228_R10_S20 has RAFTBAY R10, CCDSLOT S20.
    expect(lsstCamDetectorByName("R10", "S20")?.id).toBe(33);
    expect(lsstCamDetectorByName("R44", "SW0")?.id).toBe(203);
    expect(lsstCamDetectorByName("r22_s11")?.id).toBe(94);
    expect(lsstCamDetectorByName("R00_S11")).toBeUndefined();
    expect(lsstCamDetectorByName("R22", "SG0")).toBeUndefined();
  });
});

describe("LSSTCam filters and instrument", () => {
  it("name the science filters as obs_lsst does (u_24, g_6, r_57, i_39, z_20, y_10)", () => {
    expect(LSSTCAM_FILTERS).toEqual({ u_24: "u", g_6: "g", r_57: "r", i_39: "i", z_20: "z", y_10: "y" });
    expect(["u", "g", "r", "i", "z", "y"].map(lsstCamPhysicalFilter)).toEqual(["u_24", "g_6", "r_57", "i_39", "z_20", "y_10"]);
    expect(lsstCamPhysicalFilter("white")).toBeUndefined();
  });

  it("has obs_lsst's instrument record", () => {
    expect(LSSTCAM_INSTRUMENT_RECORD).toEqual({
      name: "LSSTCam",
      visit_max: 6050123199999,
      exposure_max: 6050123199999,
      detector_max: 1000,
      class_name: "lsst.obs.lsst.LsstCam",
    });
  });
});
