/**
 * Where astro_metadata_translator puts the sidecars of a file (its `astrometadata write-sidecar`
 * and `write-index`): `NAME.json` beside the file, NAME being the file's name without its
 * extension (lsst.resources' updatedExtension: a compressed file loses both, `x.fits.gz` →
 * `x.json`), and one `_index.json` per folder. A YAML sidecar (`NAME.yaml`) is read the same way.
 * The facility's read door signs these paths, and only these, beside a file an agent holds a
 * transfer of; the agent tries them in this order.
 */
export interface SidecarPath {
  path: string;
  /** file: the file's own sidecar; index: its folder's _index.json (an entry per file name over __COMMON__). */
  kind: "file" | "index";
}

const COMPRESSED = /\.(gz|bz2|xz|fz|zst)$/i;

/** A file's name without its extension (and the compression extension before which it stands). */
export function sidecarStem(fileName: string): string {
  const base = fileName.split("/").pop() ?? fileName;
  const withoutCompression = COMPRESSED.test(base) && /\.[^.]+\.[^.]+$/.test(base) ? base.replace(COMPRESSED, "") : base;
  const dot = withoutCompression.lastIndexOf(".");
  return dot > 0 ? withoutCompression.slice(0, dot) : withoutCompression;
}

/** Whether a file is itself a sidecar or index (it has none of its own). */
export function isSidecarName(fileName: string): boolean {
  return /\.(json|ya?ml)$/i.test(fileName);
}

/** The sidecar paths of the file at `filePath` (relative to its RSE), in the order they are tried. */
export function sidecarPaths(filePath: string): SidecarPath[] {
  const slash = filePath.lastIndexOf("/");
  const dir = slash >= 0 ? filePath.slice(0, slash + 1) : "";
  const stem = sidecarStem(filePath);
  return [
    { path: `${dir}${stem}.json`, kind: "file" },
    { path: `${dir}${stem}.yaml`, kind: "file" },
    { path: `${dir}_index.json`, kind: "index" },
  ];
}
