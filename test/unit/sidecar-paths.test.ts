import { isSidecarName, sidecarPaths, sidecarStem } from "../../lib/storage/sidecar-paths";

/** Where astro_metadata_translator's sidecars of a file are (write-sidecar: updatedExtension(".json"); write-index: _index.json). */
it("names a file's sidecars as astrometadata writes them: NAME.json (a compressed file loses both extensions), NAME.yaml, the folder's _index.json", () => {
  expect(sidecarPaths("LSSTCam/20250603/MC_O_20250603_000007/MC_O_20250603_000007_R22_S11.fits")).toEqual([
    { path: "LSSTCam/20250603/MC_O_20250603_000007/MC_O_20250603_000007_R22_S11.json", kind: "file" },
    { path: "LSSTCam/20250603/MC_O_20250603_000007/MC_O_20250603_000007_R22_S11.yaml", kind: "file" },
    { path: "LSSTCam/20250603/MC_O_20250603_000007/_index.json", kind: "index" },
  ]);
  expect(sidecarStem("a/b/MC_O_20250603_000007_R22_S11.fits.gz")).toBe("MC_O_20250603_000007_R22_S11");
  expect(sidecarStem("raw.fits.fz")).toBe("raw");
  expect(sidecarStem("notes.gz")).toBe("notes");
  expect(sidecarStem("README")).toBe("README");
  expect(sidecarPaths("top.fits").map((p) => p.path)).toEqual(["top.json", "top.yaml", "_index.json"]);
});

it("knows sidecars and indexes themselves, which have none", () => {
  expect(["x.json", "_index.json", "x.yaml", "x.YML"].map(isSidecarName)).toEqual([true, true, true, true]);
  expect(["x.fits", "x.fits.gz", "x.parquet"].map(isSidecarName)).toEqual([false, false, false]);
});
