import { loadConfig } from "../../lib/config";
import { ingestNeeds, lfaIngestEntry, lfaOrigin } from "../../agents/ingest-inputs";

/**
 * What the agent gathers for a file's ingest (agents/ingest-inputs.ts), from its name and DID
 * metadata: LFA files by agent.lfaIngest (its default: the LSSTCam flat-field projector's
 * electrometer), a FITS header, sidecars for files whose header it cannot read, Butler files.
 */
const lfaIngest = loadConfig(undefined, {}).agent.lfaIngest;
const lfa = (csc: string, generator: string, mimeType = "") => ({ csc, salIndex: 0, generator, mimeType, url: "https://s3.cp.lsst.org/rubinobs-lfa-cp/k", version: 0, byteSize: 0, checkSum: "", id: "" });

it("by default ingests the photodiode readings of Electrometer:103 as LSSTCam's, and replicates every other LFA file as a plain object", () => {
  expect(lfaIngest).toEqual([{ csc: "Electrometer", generator: "Electrometer:103", instrument: "LSSTCam" }]);
  expect(ingestNeeds({ name: "Electrometer:103/fits/2025/06/01/EM103_O_20250601_000002.fits", metadata: lfa("Electrometer", "Electrometer:103") }, lfaIngest)).toEqual({
    plain: false, instrument: "LSSTCam", header: true, sidecar: false, butlerFile: null,
  });
  for (const m of [lfa("Electrometer", "Electrometer:201"), lfa("MTHeaderService", "MTHeaderService", "YAML"), lfa("DREAM", "dream")]) {
    expect(ingestNeeds({ name: "x.fits", metadata: m }, lfaIngest)).toEqual({ plain: true, instrument: null, header: false, sidecar: false, butlerFile: null });
  }
});

it("matches an entry's CSC exactly, and its generator and MIME type (any case) when it gives them", () => {
  const entries = [{ csc: "GenericCamera", mimeType: "fits", instrument: "LSSTCam" }, { csc: "Electrometer", generator: "Electrometer:201" }];
  expect(lfaIngestEntry({ csc: "GenericCamera", generator: "GenericCamera:101", mimeType: "FITS" }, entries)).toBe(entries[0]);
  expect(lfaIngestEntry({ csc: "GenericCamera", generator: "GenericCamera:101", mimeType: "JPEG" }, entries)).toBeNull();
  expect(lfaIngestEntry({ csc: "genericcamera", generator: "GenericCamera:101", mimeType: "FITS" }, entries)).toBeNull();
  expect(lfaIngestEntry({ csc: "Electrometer", generator: "Electrometer:201", mimeType: "" }, entries)).toBe(entries[1]);
  expect(lfaOrigin({ csc: "Electrometer", generator: "Electrometer:201" })).toBeNull(); // not an announcement: no url
});

it("keeps a FITS header, looks for sidecars when no header can be read, and reads zip indexes and dim files from the copy", () => {
  const needs = (name: string, metadata: Record<string, unknown> = {}) => ingestNeeds({ name, metadata }, lfaIngest);
  expect(needs("LSSTCam/raw/x.fits")).toMatchObject({ header: true, sidecar: false });
  expect(needs("LSSTCam/raw/x.fits.gz")).toMatchObject({ header: false, sidecar: true });
  expect(needs("LSSTCam/raw/x.json")).toMatchObject({ header: false, sidecar: false });
  expect(needs("a.zip", { rubin_butler: "zip_file", rubin_sidecar: "" })).toMatchObject({ butlerFile: "zip_file", sidecar: false });
  expect(needs("dims.yaml", { rubin_butler: "dim_file" })).toMatchObject({ butlerFile: "dim_file" });
  expect(needs("calexp.fits", { rubin_butler: "data_product", rubin_sidecar: "{}" })).toMatchObject({ header: false, sidecar: false, butlerFile: null });
});
