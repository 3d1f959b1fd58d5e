import { DbbError } from "../../lib/errors";
import { fitsHeaderText, writeFitsFile } from "../../lib/fits-header";
import { planArrival } from "../../subgraphs/facility/arrival/arrival-plan";
import { rubinSidecarRef } from "../../subgraphs/facility/arrival/butler-metadata";
import { readSidecar, readSidecarText } from "../../subgraphs/facility/arrival/sidecar";
import { makeDatasetId } from "../../subgraphs/facility/dataset-id";
import { headerCards, obsLsstHeader } from "../support/obs-lsst-headers";

/** planArrival and what it reads (sidecar.ts, butler-metadata.ts): pure, no database. */
const base = { scope: "raw", name: "MC_O_20250415_000060_R01_S01.fits", rse: "USDF_DISK", path: "raw/x.fits", bytes: 100 };
const header = obsLsstHeader("lsstCam-MC_O_20250415_000060_R01_S01.yaml");
const RAW_ID = makeDatasetId("raw", "LSSTCam/raw/all", { instrument: "LSSTCam", exposure: 2025041500060, detector: 1 }, "DATAID_TYPE_RUN");

function codeOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof DbbError) return { code: err.code, key: err.details.key ?? err.details.keyword };
    throw err;
  }
  throw new Error("expected a DbbError");
}

describe("planArrival", () => {
  it("takes the DID's rubin_sidecar before the header, and the header before the sidecar", () => {
    const ref = { id: "8F3C3A581C1D4A0E9A513B3F1C2A7D10", datasetType: { name: "calexp", storageClass: "ExposureF", dimensions: { names: ["instrument", "visit", "detector"] } }, dataId: { dataId: { instrument: "LSSTCam", visit: 7, detector: 1 } }, run: "r" };
    const text = fitsHeaderText(writeFitsFile(headerCards(header)));
    const all = { ...base, metadata: { rubin_butler: "data_product", rubin_sidecar: ref }, header: text, sidecar: { __CONTENT__: "metadata", ...header } };
    expect(planArrival(all)).toMatchObject({ kind: "datasets", source: "rubin_sidecar", datasetId: "8f3c3a58-1c1d-4a0e-9a51-3b3f1c2a7d10" });
    expect(planArrival({ ...all, metadata: {} })).toMatchObject({ source: "header", datasetId: RAW_ID });
    expect(planArrival({ ...all, metadata: {}, header: null })).toMatchObject({ source: "sidecar", datasetId: RAW_ID });
    expect(planArrival(base)).toEqual({ kind: "none", source: "none" });
  });

  it("reads a YAML sidecar's text as astro_metadata_translator writes it, and an index entry over __COMMON__", () => {
    const yaml = "__CONTENT__: metadata\n" + Object.entries(header).filter(([k]) => !k.includes(".") && k !== "COMMENT").map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n");
    expect(readSidecar(readSidecarText(yaml, "x.yaml"), "x.fits")).toMatchObject({ kind: "metadata", header: { SEQNUM: 60, DAYOBS: "20250415" } });
    const index = { __COMMON__: { A: 1, B: 2 }, "x.fits": { B: 3 }, "y.fits": {} };
    // The common values win over the entry, as indexing.py's file_content.update(common) does.
    expect(readSidecar(index, "dir/x.fits")).toEqual({ kind: "metadata", header: { A: 1, B: 2 } });
    expect(codeOf(() => readSidecar(index, "z.fits"))).toEqual({ code: "BAD_SIDECAR", key: "z.fits" });
    expect(codeOf(() => readSidecarText("{oops", "x.json"))).toMatchObject({ code: "BAD_SIDECAR" });
    expect(codeOf(() => readSidecar({ __CONTENT__: "metadata", SEQNUM: [1, 2] }, "x.fits"))).toEqual({ code: "BAD_SIDECAR", key: "SEQNUM" });
  });

  it("guesses a sidecar without __CONTENT__ holding observation_id and instrument to be translated, and names a missing property", () => {
    expect(codeOf(() => readSidecar({ instrument: "LSSTCam", observation_id: "x" }, "x.fits"))).toEqual({ code: "BAD_SIDECAR", key: "exposure_id" });
  });

  it("names what is wrong in rubin_butler / rubin_sidecar (BAD_BUTLER_METADATA)", () => {
    expect(codeOf(() => planArrival({ ...base, metadata: { rubin_butler: "tarball" } }))).toEqual({ code: "BAD_BUTLER_METADATA", key: "rubin_butler" });
    expect(codeOf(() => planArrival({ ...base, metadata: { rubin_butler: "data_product" } }))).toEqual({ code: "BAD_BUTLER_METADATA", key: "rubin_sidecar" });
    expect(codeOf(() => rubinSidecarRef({ rubin_sidecar: { id: "x" } }))).toEqual({ code: "BAD_BUTLER_METADATA", key: "rubin_sidecar.id" });
    expect(codeOf(() => planArrival({ ...base, metadata: { rubin_butler: "raw_file" } }))).toEqual({ code: "BAD_FITS_HEADER", key: "header" });
  });
});
