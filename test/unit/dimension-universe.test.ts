import {
  COMMON_SKYPIX,
  DIMENSION_NAMES,
  ELEMENTS,
  ElementSpec,
  SKYPIX_SYSTEMS,
  TOPOLOGY,
  UNIVERSE_NAMESPACE,
  UNIVERSE_VERSION,
  element,
  elementIndex,
  groupImplied,
  groupRequired,
  impliedClosure,
  primaryKeyField,
  requiredClosure,
  sortByUniverse,
} from "../../subgraphs/facility/dimension-universe";
import {
  DATASET_ID_NAMESPACE,
  NAMESPACE_DNS,
  datasetIdName,
  makeDatasetId,
  uuid5,
} from "../../subgraphs/facility/dataset-id";

const NON_SKYPIX = [
  "instrument", "band", "physical_filter", "subfilter", "detector", "group", "day_obs", "visit", "exposure",
  "skymap", "tract", "patch", "visit_detector_region", "visit_system", "visit_definition", "visit_system_membership",
];

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const deps = (e: ElementSpec) => [...e.requires, ...e.implies];

describe("dimension universe daf_butler@8", () => {
  it("identifies itself as namespace daf_butler, version 8, common skypix htm7", () => {
    expect(UNIVERSE_NAMESPACE).toBe("daf_butler");
    expect(UNIVERSE_VERSION).toBe(8);
    expect(COMMON_SKYPIX).toBe("htm7");
    expect(element(COMMON_SKYPIX).kind).toBe("skypix");
  });

  it("holds exactly the configured elements plus htm1..24 and healpix1..17", () => {
    const names = ELEMENTS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    const expected = [...NON_SKYPIX, ...range(1, 24).map((l) => `htm${l}`), ...range(1, 17).map((l) => `healpix${l}`)];
    expect([...names].sort()).toEqual([...expected].sort());
    expect(names).not.toContain("htm0");
    expect(names).not.toContain("htm25");
    expect(names).not.toContain("healpix18");
    expect(SKYPIX_SYSTEMS.map((s) => [s.name, s.minLevel, s.maxLevel])).toEqual([["healpix", 1, 17], ["htm", 1, 24]]);
    expect(element("htm9").skypix).toEqual({ system: "htm", level: 9 });
    expect(element("healpix12").spatialFamily).toBe("healpix");
  });

  it("classifies dimensions, skypix and non-dimension elements", () => {
    for (const n of ["visit_detector_region", "visit_definition", "visit_system_membership"]) {
      expect(element(n).kind).toBe("element");
      expect(element(n).keys).toEqual([]);
    }
    for (const n of ["instrument", "band", "physical_filter", "exposure", "visit", "group", "day_obs", "tract", "patch"]) {
      expect(element(n).kind).toBe("dimension");
    }
    expect(ELEMENTS.filter((e) => e.governor).map((e) => e.name).sort()).toEqual(["instrument", "skymap"]);
    expect(ELEMENTS.filter((e) => e.isCached).map((e) => e.name).sort()).toEqual(
      ["band", "detector", "instrument", "physical_filter", "skymap", "subfilter", "visit_system"],
    );
    expect(element("band").impliedUnionTarget).toBe("physical_filter");
    expect(DIMENSION_NAMES).not.toContain("visit_definition");
    expect(DIMENSION_NAMES).toContain("htm7");
  });

  it("has every requires/implies/populatedBy/impliedUnionTarget naming a dimension of the universe", () => {
    for (const e of ELEMENTS) {
      for (const d of deps(e)) {
        expect(element(d).kind).not.toBe("element");
        expect(d).not.toBe(e.name);
      }
      if (e.populatedBy !== undefined) expect(requiredClosure([e.name])).toContain(e.populatedBy);
      if (e.impliedUnionTarget !== undefined) expect(element(e.impliedUnionTarget).implies).toContain(e.name);
      if (e.kind === "element") expect(e.requires.length).toBeGreaterThan(0);
      expect(e.alternateKeys).toEqual(e.keys.slice(1).map((k) => k.name));
      for (const k of e.keys) expect(k.nullable).toBe(false);
      if (e.keys.length > 0) expect(["int", "string"]).toContain(e.keys[0].type);
    }
  });

  it("has no dependency cycles, and lists elements in dependency (universe) order", () => {
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, path: string[]) => {
      if (state.get(name) === "done") return;
      if (state.get(name) === "visiting") throw new Error(`cycle: ${[...path, name].join(" -> ")}`);
      state.set(name, "visiting");
      for (const d of deps(element(name))) visit(d, [...path, name]);
      state.set(name, "done");
    };
    for (const e of ELEMENTS) expect(() => visit(e.name, [])).not.toThrow();
    for (const e of ELEMENTS) for (const d of deps(e)) expect(elementIndex(d)).toBeLessThan(elementIndex(e.name));
  });

  it("matches the order daf_butler's construction builder produces (rounds, ties broken lexicographically)", () => {
    // Visitors: one per skypix system and one per configured element (topology families add no elements).
    const visitors = new Map<string, string[]>();
    for (const s of SKYPIX_SYSTEMS) visitors.set(s.name, []);
    for (const n of NON_SKYPIX) visitors.set(n, deps(element(n)));
    const order: string[] = [];
    while (visitors.size > 0) {
      const unblocked = [...visitors.keys()].filter((n) => visitors.get(n)!.every((d) => !visitors.has(d))).sort();
      expect(unblocked.length).toBeGreaterThan(0);
      for (const n of unblocked) {
        visitors.delete(n);
        const system = SKYPIX_SYSTEMS.find((s) => s.name === n);
        if (system) order.push(...range(system.minLevel, system.maxLevel).map((l) => `${n}${l}`));
        else order.push(n);
      }
    }
    expect(ELEMENTS.map((e) => e.name)).toEqual(order);
  });

  it("encodes the relationships of the version 8 configuration", () => {
    const rel = (n: string) => ({ requires: [...element(n).requires].sort(), implies: [...element(n).implies].sort() });
    expect(rel("visit")).toEqual({ requires: ["instrument"], implies: ["day_obs", "physical_filter"] });
    expect(rel("exposure")).toEqual({ requires: ["instrument"], implies: ["day_obs", "group", "physical_filter"] });
    expect(rel("physical_filter")).toEqual({ requires: ["instrument"], implies: ["band"] });
    expect(rel("band")).toEqual({ requires: [], implies: [] });
    expect(rel("subfilter")).toEqual({ requires: ["band"], implies: [] });
    expect(rel("detector")).toEqual({ requires: ["instrument"], implies: [] });
    expect(rel("group")).toEqual({ requires: ["instrument"], implies: [] });
    expect(rel("day_obs")).toEqual({ requires: ["instrument"], implies: [] });
    expect(rel("visit_system")).toEqual({ requires: ["instrument"], implies: [] });
    expect(rel("tract")).toEqual({ requires: ["skymap"], implies: [] });
    expect(rel("patch")).toEqual({ requires: ["skymap", "tract"], implies: [] });
    expect(rel("visit_detector_region")).toEqual({ requires: ["detector", "visit"], implies: [] });
    expect(rel("visit_definition")).toEqual({ requires: ["exposure", "visit"], implies: [] });
    expect(rel("visit_system_membership")).toEqual({ requires: ["visit", "visit_system"], implies: [] });
    for (const n of ["visit_detector_region", "visit_definition", "visit_system_membership"]) expect(element(n).populatedBy).toBe("visit");
    expect(element("visit_definition").alwaysJoin).toBe(true);
    expect(element("visit_system_membership").alwaysJoin).toBe(true);
    expect(element("visit_detector_region").alwaysJoin).toBeUndefined();
  });

  it("derives regions and timespans from the topology families", () => {
    expect(TOPOLOGY.temporal).toEqual({ observation_timespans: ["exposure", "visit", "day_obs"] });
    const withTimespan = ELEMENTS.filter((e) => e.hasTimespan).map((e) => e.name).sort();
    expect(withTimespan).toEqual(["day_obs", "exposure", "visit"]);
    const withRegion = ELEMENTS.filter((e) => e.hasRegion && e.kind !== "skypix").map((e) => e.name).sort();
    expect(withRegion).toEqual(["patch", "tract", "visit", "visit_detector_region"]);
    expect(ELEMENTS.filter((e) => e.kind === "skypix").every((e) => e.hasRegion && !e.hasTimespan)).toBe(true);
    expect(element("visit").spatialFamily).toBe("observation_regions");
    expect(element("tract").spatialFamily).toBe("skymap_regions");
    expect(element("exposure").temporalFamily).toBe("observation_timespans");
  });

  it("names primary keys the way daf_butler does", () => {
    expect(primaryKeyField("instrument")).toEqual({ name: "name", type: "string", length: 32, nullable: false });
    expect(primaryKeyField("band")).toEqual({ name: "name", type: "string", length: 32, nullable: false });
    expect(primaryKeyField("physical_filter")).toEqual({ name: "name", type: "string", length: 32, nullable: false });
    expect(primaryKeyField("group")).toEqual({ name: "name", type: "string", length: 64, nullable: false });
    expect(primaryKeyField("skymap")).toEqual({ name: "name", type: "string", length: 64, nullable: false });
    for (const n of ["visit", "exposure", "detector", "day_obs", "subfilter", "tract", "patch", "visit_system", "htm7", "healpix11"]) {
      expect(primaryKeyField(n)).toEqual({ name: "id", type: "int", nullable: false });
    }
    expect(() => primaryKeyField("visit_definition")).toThrow(/not a dimension/);
    expect(() => primaryKeyField("nonesuch")).toThrow(/Unknown dimension element/);
  });

  it("represents alternate keys", () => {
    expect(element("exposure").alternateKeys).toEqual(["obs_id"]);
    expect(element("exposure").keys[1]).toEqual({ name: "obs_id", type: "string", length: 64, nullable: false });
    expect(element("visit").alternateKeys).toEqual(["name"]);
    expect(element("detector").alternateKeys).toEqual(["full_name"]);
    expect(element("visit_system").alternateKeys).toEqual(["name"]);
    expect(element("skymap").alternateKeys).toEqual(["hash"]);
    expect(element("skymap").keys[1]).toMatchObject({ name: "hash", type: "hash", nbytes: 40 });
    expect(element("instrument").alternateKeys).toEqual([]);
  });

  it("carries the metadata columns", () => {
    const meta = (n: string) => element(n).metadata.map((f) => f.name);
    expect(meta("instrument")).toEqual(["visit_max", "visit_system", "exposure_max", "detector_max", "class_name"]);
    expect(element("exposure").metadata.find((f) => f.name === "observation_type")).toMatchObject({ type: "string", length: 16, nullable: true });
    expect(element("exposure").metadata.find((f) => f.name === "can_see_sky")).toMatchObject({ type: "bool" });
    expect(element("exposure").metadata.find((f) => f.name === "observation_reason")).toMatchObject({ type: "string", length: 68 });
    expect(meta("exposure")).not.toContain("day_obs"); // day_obs and group became dimensions
    expect(meta("exposure")).not.toContain("group_name");
    expect(meta("visit")).not.toContain("day_obs");
    expect(meta("visit")).toEqual(["seq_num", "exposure_time", "target_name", "observation_reason", "science_program", "azimuth", "zenith_angle"]);
    expect(element("patch").metadata).toEqual([
      expect.objectContaining({ name: "cell_x", type: "int", nullable: false }),
      expect.objectContaining({ name: "cell_y", type: "int", nullable: false }),
    ]);
    expect(meta("skymap")).toEqual(["tract_max", "patch_nx_max", "patch_ny_max"]);
    expect(meta("detector")).toEqual(["name_in_raft", "raft", "purpose"]);
  });

  it("throws for unknown element names", () => {
    expect(() => element("filter")).toThrow(/Unknown dimension element 'filter'/);
    expect(() => requiredClosure(["visit", "abstract_filter"])).toThrow(/abstract_filter/);
    expect(() => impliedClosure(["calibration_label"])).toThrow(/calibration_label/);
  });

  it("is immutable", () => {
    expect(Object.isFrozen(ELEMENTS)).toBe(true);
    expect(() => { (element("visit").requires as string[]).push("skymap"); }).toThrow(TypeError);
    expect(() => { (element("visit") as { doc: string }).doc = "x"; }).toThrow(TypeError);
    expect(element("visit").requires).toEqual(["instrument"]);
  });

  it("computes required closures in universe order", () => {
    expect(requiredClosure(["visit"])).toEqual(["instrument", "visit"]);
    expect(requiredClosure(["patch"])).toEqual(["skymap", "tract", "patch"]);
    expect(requiredClosure(["subfilter"])).toEqual(["band", "subfilter"]);
    expect(requiredClosure(["visit", "detector"])).toEqual(["instrument", "detector", "visit"]);
    expect(requiredClosure(["visit_detector_region"])).toEqual(["instrument", "detector", "visit"]);
    expect(requiredClosure(["visit_definition"])).toEqual(["instrument", "exposure", "visit"]);
    expect(requiredClosure(["htm7", "tract"])).toEqual(["htm7", "skymap", "tract"]);
    expect(requiredClosure([])).toEqual([]);
  });

  it("computes implied closures (full dimension groups) in universe order", () => {
    // Same order daf_butler prints for these groups, e.g. {band, instrument, day_obs, detector, group, physical_filter, exposure}.
    expect(impliedClosure(["visit"])).toEqual(["band", "instrument", "day_obs", "physical_filter", "visit"]);
    expect(impliedClosure(["instrument", "exposure", "detector"])).toEqual(
      ["band", "instrument", "day_obs", "detector", "group", "physical_filter", "exposure"],
    );
    expect(impliedClosure(["physical_filter"])).toEqual(["band", "instrument", "physical_filter"]);
    expect(impliedClosure(["tract", "patch", "band"])).toEqual(["band", "skymap", "tract", "patch"]);
    expect(impliedClosure(["visit_detector_region"])).toEqual(["band", "instrument", "day_obs", "detector", "physical_filter", "visit"]);
  });

  it("splits a group into required and implied dimensions like DimensionGroup", () => {
    expect(groupRequired(["exposure", "detector", "physical_filter"])).toEqual(["instrument", "detector", "exposure"]);
    expect(groupImplied(["exposure", "detector"])).toEqual(["band", "day_obs", "group", "physical_filter"]);
    expect(groupRequired(["visit"])).toEqual(["instrument", "visit"]);
    expect(groupRequired(["instrument", "physical_filter"])).toEqual(["instrument", "physical_filter"]);
    expect(groupRequired(["band"])).toEqual(["band"]);
    expect(groupRequired(["patch", "band"])).toEqual(["band", "skymap", "tract", "patch"]);
    expect(sortByUniverse(["visit", "band", "visit", "instrument"])).toEqual(["band", "instrument", "visit"]);
  });
});

describe("uuid5", () => {
  it("matches the RFC 4122 / Python documentation vector", () => {
    expect(uuid5(NAMESPACE_DNS, "www.example.com")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
  });

  it("reproduces daf_butler's namespace, documented as uuid5(NAMESPACE_DNS, 'lsst.org')", () => {
    expect(uuid5(NAMESPACE_DNS, "lsst.org")).toBe(DATASET_ID_NAMESPACE);
  });

  it("accepts the namespace without hyphens or in upper case, and rejects non-UUIDs", () => {
    expect(uuid5(NAMESPACE_DNS.replace(/-/g, "").toUpperCase(), "www.example.com")).toBe("2ed6657d-e927-568b-95e1-2665a8aea6a2");
    expect(() => uuid5("not-a-uuid", "x")).toThrow(/Not a UUID/);
    expect(() => uuid5(NAMESPACE_DNS, "bad\uD800")).toThrow(/lone surrogate/);
  });

  it("sets version 5 and the RFC 4122 variant", () => {
    for (const name of ["", "a", "dataset_type=raw", "ünïcödé"]) {
      const id = uuid5(DATASET_ID_NAMESPACE, name);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});

describe("makeDatasetId", () => {
  const raw = { instrument: "HSC", exposure: 903334, detector: 50 };

  it("builds the name string exactly as DatasetIdFactory does", () => {
    expect(datasetIdName("raw", "HSC/raw/all", raw, "DATAID_TYPE_RUN")).toBe(
      "dataset_type=raw,run=HSC/raw/all,detector=50,exposure=903334,instrument=HSC",
    );
    expect(datasetIdName("raw", "HSC/raw/all", raw, "DATAID_TYPE")).toBe("dataset_type=raw,detector=50,exposure=903334,instrument=HSC");
    expect(datasetIdName("skyCorr_config", "u/x/y", {}, "DATAID_TYPE_RUN")).toBe("dataset_type=skyCorr_config,run=u/x/y");
  });

  // Expected values computed with CPython's uuid.uuid5 (the function DatasetIdFactory calls) in namespace
  // 840b31d9-05cd-5161-b2c8-00d32b280d0f over the strings the daf_butler algorithm builds.
  it.each([
    ["raw", "HSC/raw/all", raw, "DATAID_TYPE_RUN", "f351d49a-e376-5394-a3d5-7e66fcf5abbb"],
    ["raw", "HSC/raw/all", raw, "DATAID_TYPE", "79d2bd55-ae40-5b69-b6af-722e9506de87"],
    ["calexp", "u/someone/run-é", { instrument: "HSC", visit: 1228, detector: 10 }, "DATAID_TYPE_RUN", "059cdc84-72fd-5d53-b5c3-8a57e20bc1c9"],
    ["deepCoadd", "HSC/runs/RC2/w_2024_10", { skymap: "hsc_rings_v1", tract: 9813, patch: 42, band: "i" }, "DATAID_TYPE_RUN", "e3713b9e-80af-5de9-a7c0-8f23540ae3a0"],
    ["bias", "LATISS/calib/run1", { instrument: "LATISS", detector: 0 }, "DATAID_TYPE_RUN", "c2ae2cf5-5a80-5a2d-bbf9-151db2c47187"],
    ["skyCorr_config", "u/x/y", {}, "DATAID_TYPE_RUN", "caf101d3-55ea-5550-8e19-633bf2821d84"],
  ] as const)("%s in %s, data ID %o, mode %s -> known UUID5", (datasetType, run, dataId, mode, expected) => {
    expect(makeDatasetId(datasetType, run, dataId as Record<string, string | number>, mode)).toBe(expected);
  });

  it("is deterministic and independent of key order, value spelling and implied values", () => {
    const a = makeDatasetId("raw", "HSC/raw/all", raw, "DATAID_TYPE_RUN");
    expect(makeDatasetId("raw", "HSC/raw/all", { detector: 50, exposure: 903334, instrument: "HSC" }, "DATAID_TYPE_RUN")).toBe(a);
    expect(makeDatasetId("raw", "HSC/raw/all", { instrument: "HSC", exposure: "903334", detector: 50n }, "DATAID_TYPE_RUN")).toBe(a);
    const expanded = { ...raw, physical_filter: "HSC-I", band: "i", day_obs: 20130617, group: "903334" };
    expect(makeDatasetId("raw", "HSC/raw/all", expanded, "DATAID_TYPE_RUN")).toBe(a);
  });

  it("depends on run only in DATAID_TYPE_RUN mode", () => {
    const r1 = makeDatasetId("raw", "HSC/raw/all", raw, "DATAID_TYPE_RUN");
    expect(makeDatasetId("raw", "HSC/raw/other", raw, "DATAID_TYPE_RUN")).not.toBe(r1);
    expect(makeDatasetId("raw", "HSC/raw/all", raw, "DATAID_TYPE")).toBe(makeDatasetId("raw", "anything", raw, "DATAID_TYPE"));
    expect(makeDatasetId("raw", "HSC/raw/all", raw, "DATAID_TYPE")).not.toBe(r1);
  });

  it("depends on dataset type and every required value", () => {
    const base = makeDatasetId("raw", "run", raw, "DATAID_TYPE_RUN");
    expect(makeDatasetId("flat", "run", raw, "DATAID_TYPE_RUN")).not.toBe(base);
    expect(makeDatasetId("raw", "run", { ...raw, detector: 51 }, "DATAID_TYPE_RUN")).not.toBe(base);
    expect(makeDatasetId("raw", "run", { ...raw, exposure: 903336 }, "DATAID_TYPE_RUN")).not.toBe(base);
    expect(makeDatasetId("raw", "run", { ...raw, instrument: "LSSTCam" }, "DATAID_TYPE_RUN")).not.toBe(base);
  });

  it("makes random UUID4s in UNIQUE mode", () => {
    const a = makeDatasetId("raw", "run", raw, "UNIQUE");
    const b = makeDatasetId("raw", "run", raw, "UNIQUE");
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
  });

  it("rejects bad data IDs and modes", () => {
    expect(() => makeDatasetId("raw", "run", { exposure: 1, detector: 2 }, "DATAID_TYPE_RUN")).toThrow(/required dimension 'instrument'/);
    expect(() => makeDatasetId("raw", "run", { ...raw, filter: "i" }, "DATAID_TYPE_RUN")).toThrow(/Unknown dimension element 'filter'/);
    expect(() => makeDatasetId("raw", "run", { ...raw, visit_definition: 1 }, "DATAID_TYPE_RUN")).toThrow(/not a dimension/);
    expect(() => makeDatasetId("raw", "run", { ...raw, detector: 1.5 }, "DATAID_TYPE_RUN")).toThrow(/safe integer/);
    expect(() => makeDatasetId("raw", "run", raw, "BOGUS" as never)).toThrow(/Unexpected ID generation mode/);
  });
});
