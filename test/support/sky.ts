import { Region, RegionError } from "../../subgraphs/facility/sky/region";

/** The RegionError `f` throws (fails the test when it throws something else or nothing). */
export function errorOf(f: () => unknown): RegionError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RegionError);
    return e as RegionError;
  }
  throw new Error("expected a RegionError");
}

/** `r`, checked to be of `kind` and typed as such. */
export function as<K extends Region["kind"]>(r: Region, kind: K): Extract<Region, { kind: K }> {
  expect(r.kind).toBe(kind);
  return r as Extract<Region, { kind: K }>;
}
