import { encodeCursor } from "../../lib/pagination";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { DATASETS, INGEST, lsstCamRecords, RAW_TYPE, startTestFacility, TestFacility } from "../support/facility";
import { registerTree, seedBackbone } from "../support/replication";

/**
 * Input that used to end in INTERNAL_SERVER_ERROR, each found by probing the services as a
 * careless client would: every one now gets a coded error a person can act on.
 */
let cat: TestCatalog;
let fac: TestFacility;

beforeAll(async () => {
  [cat, fac] = await Promise.all([startTestCatalog("bad_input"), startTestFacility("bad_input_fac", "USDF")]);
  await seedBackbone(cat);
  await registerTree(cat, "bad", 1, 2);
  await fac.ok(INGEST, {
    input: {
      dimensionRecords: lsstCamRecords(2),
      datasetTypes: [RAW_TYPE],
      createRuns: true,
      datasets: [10, 11].map((detector) => ({ datasetType: "raw", run: "LSSTCam/raw/all", dataId: { instrument: "LSSTCam", exposure: 2025060100001, detector } })),
    },
  });
});
afterAll(() => Promise.all([cat.close(), fac.close()]));

const DIDS = `query($m: JSONObject, $p: String, $a: String) { dids(scope: "raw", metadata: $m, namePattern: $p, after: $a) { totalCount nodes { name } } }`;
const raws = (vars: Record<string, unknown>) => fac.errorOf(DATASETS, { t: "raw", c: ["LSSTCam/raw/all"], ...vars });

describe("the catalog", () => {
  it("accepts the metadata operator eq that its own error message offers", async () => {
    await cat.ok(`mutation { setDidMetadata(scope: "raw", name: "bad/ds0/f0.fits", metadata: {band: "r"}) { name } }`);
    const res = await cat.ok(DIDS, { m: { band: { eq: "r" } } });
    expect(res.dids.nodes.map((n: any) => n.name)).toEqual(["bad/ds0/f0.fits"]);
    const both = await cat.ok(DIDS, { m: { band: { eq: "r", ne: "g" } } });
    expect(both.dids.totalCount).toBe(1);
  });

  it("refuses forged cursors (valid base64 JSON of the wrong types) on every connection with INVALID_INPUT", async () => {
    const forged = [encodeCursor([{ a: 1 }]), encodeCursor([123, "x"]), encodeCursor([null, null, null]), encodeCursor([1.5])];
    const queries = [
      `query($a: String) { dids(scope: "raw", after: $a) { totalCount } }`,
      `query($a: String) { replicas(rse: "SUMMIT_DISK", after: $a) { totalCount } }`,
      `query($a: String) { transfers(after: $a) { totalCount } }`,
      `query($a: String) { rules(after: $a) { totalCount } }`,
      `query($a: String) { events(after: $a) { totalCount } }`,
      `query($a: String) { did(scope: "raw", name: "bad/ds0") { children(after: $a) { nodes { name } } } }`,
      `query($a: String) { did(scope: "raw", name: "bad/ds0") { files(after: $a) { nodes { name } } } }`,
      `query($a: String) { rse(name: "SUMMIT_DISK") { transfers(after: $a) { nodes { id } } } }`,
    ];
    for (const q of queries) {
      for (const a of forged) {
        const err = await cat.errorOf(q, { a });
        expect([q, err.code]).toEqual([q, "INVALID_INPUT"]);
      }
    }
    // Keys of (time, id): two strings are not enough.
    for (const q of [queries[2], queries[3], queries[7]]) {
      expect((await cat.errorOf(q, { a: encodeCursor(["not-a-time", "not-a-uuid"]) })).code).toBe("INVALID_INPUT");
      expect((await cat.errorOf(q, { a: encodeCursor(["2025-06-01 00:00:00+00", "not-a-uuid"]) })).code).toBe("INVALID_INPUT");
    }
  });

  it("refuses NUL bytes and lone surrogates in string and JSON arguments with INVALID_INPUT", async () => {
    for (const bad of ["a\u0000b", "x\ud800", "\udc00y"]) {
      expect((await cat.errorOf(DIDS, { p: bad })).code).toBe("INVALID_INPUT");
      expect((await cat.errorOf(DIDS, { m: { band: bad } })).code).toBe("INVALID_INPUT");
      expect((await cat.errorOf(DIDS, { m: { [bad]: 1 } })).code).toBe("INVALID_INPUT");
      expect((await cat.errorOf(`mutation($n: String!) { addScope(name: $n) { name } }`, { n: bad })).code).toBe("INVALID_INPUT");
    }
    // In the query text too (a lone surrogate there is already a GraphQL syntax error).
    expect((await cat.errorOf(`{ did(scope: "raw", name: "a\\u0000b") { name } }`)).code).toBe("INVALID_INPUT");
  });

  it("refuses a metadata filter that would need more than 65,535 SQL parameters", async () => {
    const m: Record<string, unknown> = {};
    for (let i = 0; i < 40000; i++) m[`k${i}`] = { gt: i };
    const err = await cat.errorOf(DIDS, { m });
    expect(err.code).toBe("INVALID_INPUT");
    expect(err.message).toMatch(/conditions/);
  });

  it("quotes no more than a short excerpt of a huge argument in its error", async () => {
    const huge = "x".repeat(2_000_000);
    for (const [q, v] of [
      [`mutation($n: String!) { addScope(name: $n) { name } }`, { n: `bad name ${huge}` }],
      [`query($e: String!) { rses(expression: $e) { name } }`, { e: `(${huge}` }],
      [`query($a: String) { dids(scope: "raw", after: $a) { totalCount } }`, { a: huge }],
    ] as const) {
      const res = await cat.raw(q, v, cat.tokens.admin);
      expect(res.errors?.[0]?.extensions?.code).toMatch(/INVALID/);
      expect(JSON.stringify(res).length).toBeLessThan(2500);
    }
  });

  it("answers a 70,000-character glob with a coded error or an empty page, never an internal error", async () => {
    const res = await cat.raw(DIDS, { p: `${"*a".repeat(35000)}` });
    expect(res.errors?.[0]?.extensions?.code ?? "none").not.toBe("INTERNAL_SERVER_ERROR");
    if (res.errors) expect(res.errors[0].extensions?.code).toBe("INVALID_INPUT");
  });
});

describe("the facility", () => {
  it("matches collection and dataset type globs without backtracking, refusing a 70,000-character one with INVALID_INPUT", async () => {
    const long = "*a".repeat(35000);
    for (const q of [
      `query($p: [String!]) { localFacility { collections(pattern: $p) { name } } }`,
      `query($p: [String!]) { localFacility { datasetTypes(pattern: $p) { name } } }`,
    ]) {
      expect((await fac.errorOf(q, { p: [long] })).code).toBe("INVALID_INPUT");
      // Not valid as a regular expression, fine as a glob.
      expect((await fac.raw(q, { p: ["[z-a]*", "L*/[r]aw/*", "ra?"] })).errors).toBeUndefined();
    }
    expect((await fac.ok(`{ localFacility { collections(pattern: ["LSSTCam/[!x]aw/*"]) { name } } }`)).localFacility.collections).toEqual([{ name: "LSSTCam/raw/all" }]);
  });

  it("accepts validAt when the path holds no CALIBRATION collection", async () => {
    const res = await fac.ok(DATASETS, { t: "raw", c: ["LSSTCam/raw/all"], v: "2025-06-02T03:00:00Z" });
    expect(res.localFacility.datasets.totalCount).toBe(2);
    const ff = await fac.ok(DATASETS, { t: "raw", c: ["LSSTCam/raw/all"], v: "2025-06-02T03:00:00Z", ff: true });
    expect(ff.localFacility.datasets.totalCount).toBe(2);
  });

  it("refuses forged dataset and record cursors with INVALID_INPUT", async () => {
    for (const a of [encodeCursor(["not-a-uuid"]), encodeCursor([42]), encodeCursor([{}])]) {
      expect((await raws({ after: a })).code).toBe("INVALID_INPUT");
      const rec = await fac.errorOf(`query($a: String) { localFacility { dimensionRecords(element: "exposure", after: $a) { totalCount } } }`, { a: encodeCursor(["LSSTCam", "x"]) });
      expect(rec.code).toBe("INVALID_INPUT");
    }
  });

  it.each([
    ["detector / 0 = 1"],
    ["detector % 0 = 1"],
    ["detector * 9007199254740991 * 9007199254740991 > 0"],
    ["exposure.timespan OVERLAPS (T'2025-06-03', T'2025-06-01')"],
  ])("reports %j, which fails inside the database, as WHERE_EVALUATION_ERROR", async (where) => {
    const err = await raws({ w: where });
    expect(err.code).toBe("WHERE_EVALUATION_ERROR");
    expect(err.message).toMatch(/evaluating it on the stored rows failed/);
  });

  it("echoes no more than a short excerpt of a huge where expression", async () => {
    const res = await fac.raw(DATASETS, { t: "raw", c: ["LSSTCam/raw/all"], w: `detector = '${"x".repeat(1_000_000)}` });
    expect(res.errors?.[0].extensions?.code).toBe("WHERE_TOO_COMPLEX");
    expect(JSON.stringify(res).length).toBeLessThan(2000);
  });

  it("refuses NUL bytes in a where expression and in bind values with INVALID_INPUT", async () => {
    expect((await raws({ w: "detector = 'a\u0000'" })).code).toBe("INVALID_INPUT");
    expect((await raws({ w: "detector = :d", b: { d: "\u0000" } })).code).toBe("INVALID_INPUT");
  });
});
