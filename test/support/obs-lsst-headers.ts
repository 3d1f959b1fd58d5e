import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import type { FitsCard, FitsValue } from "../../lib/fits-header";

/** obs_lsst's raw header dumps in test/data/obs_lsst/headers (see its README). */
export const HEADERS_DIR = path.resolve(__dirname, "../../../test/data/obs_lsst/headers");

/** A header dump as keyword → value (JSON dumps carry __CONTENT__, dropped here). */
export function obsLsstHeader(file: string): Record<string, FitsValue> {
  const text = readFileSync(path.join(HEADERS_DIR, file), "utf8");
  const data = file.endsWith(".json") ? JSON.parse(text) : parse(text);
  delete data.__CONTENT__;
  // obs_lsst's per-observation correction (corrections/<INSTRUMENT>-<OBSID>.yaml), when there is one.
  const correction = path.join(HEADERS_DIR, "../corrections", `${String(data.INSTRUME).replace(/^lsstCam$/, "LSSTCam")}-${data.OBSID}.yaml`);
  if (existsSync(correction)) Object.assign(data, parse(readFileSync(correction, "utf8")));
  return data;
}

/** The dump as FITS cards: COMMENT and HISTORY as commentary, null as an undefined value. */
export function headerCards(values: Record<string, FitsValue>): FitsCard[] {
  return Object.entries(values).map(([key, value]) => [key.replace(/^HIERARCH\./, "").replace(/\./g, " "), value] as const).map(([keyword, value]) =>
    keyword === "COMMENT" || keyword === "HISTORY" ? { keyword, comment: String(value ?? "") } : { keyword, value: value as FitsValue },
  );
}
