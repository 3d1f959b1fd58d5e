import { startTestCatalog, TestCatalog } from "../support/catalog";

let cat: TestCatalog;

const ADD_DIDS = `mutation($input: [AddDidInput!]!) { addDids(input: $input) { count } }`;
const ATTACH = `mutation($p: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $p, children: $c) { count } }`;
const ADD_REPLICAS = `mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`;

const file = (name: string, extra: Record<string, unknown> = {}) => ({ scope: "raw", name, type: "FILE", bytes: 1000, adler32: "0a1b2c3d", ...extra });

/**
 * The DIDs, attachments and replicas of the catalog. Scope raw holds four files registered once
 * (FILES) that the tests only read; a test that writes works in a scope or under names of its own.
 */
const FILES = [
  file("LSSTCam/20250601/MC_O_20250601_000010_R22_S11.fits", {
    md5: "0123456789ABCDEF0123456789abcdef",
    metadata: { instrument: "LSSTCam", day_obs: 20250601, band: "r", exposure: 10, ra: 150.1, dec: 2.2 },
  }),
  file("LSSTCam/20250601/MC_O_20250601_000011_R22_S11.fits", { metadata: { instrument: "LSSTCam", day_obs: 20250601, band: "g", exposure: 11 } }),
  file("LSSTCam/20250602/MC_O_20250602_000001_R22_S11.fits", { metadata: { instrument: "LSSTCam", day_obs: 20250602, band: "i", exposure: 1 } }),
  file("LATISS/20250601/AT_O_20250601_000001.fits", { metadata: { instrument: "LATISS", day_obs: 20250601, band: "r" } }),
];
const [F1, F2, F3] = FILES.map((f) => ({ scope: "raw", name: f.name }));

beforeAll(async () => {
  cat = await startTestCatalog("dids");
  for (const scope of ["raw", "tree", "meta", "bulk", "rep"]) await cat.ok(`mutation($s: String!) { addScope(name: $s) { name } }`, { s: scope });
  expect((await cat.ok(ADD_DIDS, { input: FILES }, cat.tokens.writer)).addDids.count).toBe(4);
  await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, {
    i: { name: "SUMMIT_DISK", facility: "SUMMIT", kind: "S3", protocol: { endpoint: "http://127.0.0.1:9000", bucket: "summit" } },
  });
  await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, {
    i: { name: "USDF_DISK", facility: "USDF", kind: "POSIX", protocol: { root: "/data" } },
  });
});
afterAll(() => cat.close());

describe("scopes", () => {
  it("records the token subject as the scope's account and refuses a duplicate", async () => {
    const s = await cat.ok(`mutation { addScope(name: "user.alice") { name account } }`);
    expect(s.addScope).toEqual({ name: "user.alice", account: "alice" });
    expect((await cat.errorOf(`mutation { addScope(name: "user.alice") { name } }`)).code).toBe("SCOPE_ALREADY_EXISTS");
  });
});

describe("DIDs", () => {
  it("keeps a registered file's size, checksums (lower-cased) and metadata, and the account that registered it", async () => {
    const d = await cat.ok(`{ did(scope: "raw", name: "LSSTCam/20250601/MC_O_20250601_000010_R22_S11.fits") { type bytes adler32 md5 metadata account isOpen } }`);
    expect(d.did).toEqual({
      type: "FILE",
      bytes: 1000,
      adler32: "0a1b2c3d",
      md5: "0123456789abcdef0123456789abcdef",
      metadata: { instrument: "LSSTCam", day_obs: 20250601, band: "r", exposure: 10, ra: 150.1, dec: 2.2 },
      account: "campaign-bot",
      isOpen: false,
    });
  });

  it("answers DID_NOT_FOUND for an unknown DID", async () => {
    expect((await cat.errorOf(`{ did(scope: "raw", name: "nope.fits") { name } }`)).code).toBe("DID_NOT_FOUND");
  });

  it("filters by name pattern, type and metadata (equality, IN, ranges, ne, exists)", async () => {
    const q = async (args: Record<string, unknown>) =>
      (
        await cat.ok(
          `query($p: String, $m: JSONObject, $t: DidType) { dids(scope: "raw", namePattern: $p, metadata: $m, type: $t) { totalCount nodes { name } } }`,
          args,
        )
      ).dids;
    expect((await q({ p: "LSSTCam/*" })).totalCount).toBe(3);
    expect((await q({ p: "*_00001?_R22_S11.fits" })).totalCount).toBe(2);
    expect((await q({ m: { instrument: "LSSTCam", band: "r" } })).nodes).toEqual([{ name: "LSSTCam/20250601/MC_O_20250601_000010_R22_S11.fits" }]);
    expect((await q({ m: { band: { in: ["g", "i"] } } })).totalCount).toBe(2);
    expect((await q({ m: { day_obs: { gte: 20250601, lt: 20250602 } } })).totalCount).toBe(3);
    expect((await q({ m: { day_obs: { gt: 20250601 } } })).totalCount).toBe(1);
    expect((await q({ m: { instrument: { ne: "LSSTCam" } } })).totalCount).toBe(1);
    expect((await q({ m: { exposure: { exists: false } } })).nodes).toEqual([{ name: "LATISS/20250601/AT_O_20250601_000001.fits" }]);
    expect((await q({ m: { ra: { gte: 150, lte: 151 } } })).totalCount).toBe(1);
    expect((await q({ m: { band: { lte: "i" } } })).totalCount).toBe(2);
    expect((await q({ t: "DATASET" })).totalCount).toBe(0);
    const bad = await cat.errorOf(`{ dids(scope: "raw", metadata: {band: {like: "r"}}) { totalCount } }`);
    expect(bad).toMatchObject({ code: "INVALID_INPUT", extensions: { key: "band" } });
  });

  it("pages with cursors, by name", async () => {
    const byName = FILES.map((f) => f.name).sort();
    const page1 = (await cat.ok(`{ dids(scope: "raw", first: 3) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }`)).dids;
    expect(page1.edges.map((e: any) => e.node.name)).toEqual(byName.slice(0, 3));
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await cat.ok(`query($a: String) { dids(scope: "raw", first: 3, after: $a) { nodes { name } pageInfo { hasNextPage } } }`, { a: page1.pageInfo.endCursor })).dids;
    expect(page2.nodes.map((n: any) => n.name)).toEqual(byName.slice(3));
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const fromFirst = (await cat.ok(`query($a: String) { dids(scope: "raw", first: 2, after: $a) { nodes { name } } }`, { a: page1.edges[0].cursor })).dids;
    expect(fromFirst.nodes.map((n: any) => n.name)).toEqual(byName.slice(1, 3));
    expect((await cat.errorOf(`{ dids(scope: "raw", after: "garbage") { totalCount } }`)).code).toBe("INVALID_INPUT");
  });

  it("merges, removes and replaces metadata", async () => {
    const name = "LATISS/20250601/AT_O_20250601_000001.fits";
    await cat.ok(ADD_DIDS, { input: [{ ...file(name, { metadata: { instrument: "LATISS", day_obs: 20250601, band: "r" } }), scope: "meta" }] });
    const merged = await cat.ok(`mutation($n: String!) { setDidMetadata(scope: "meta", name: $n, metadata: {seeing: 0.7, band: null}) { metadata } }`, { n: name });
    expect(merged.setDidMetadata.metadata).toEqual({ instrument: "LATISS", day_obs: 20250601, seeing: 0.7 });
    const replaced = await cat.ok(`mutation($n: String!) { setDidMetadata(scope: "meta", name: $n, metadata: {a: 1}, replace: true) { metadata } }`, { n: name });
    expect(replaced.setDidMetadata.metadata).toEqual({ a: 1 });
    expect((await cat.errorOf(`mutation { setDidMetadata(scope: "raw", name: "missing", metadata: {a: 1}) { name } }`)).code).toBe("DID_NOT_FOUND");
  });

  it("refuses a bad bulk call whole, naming the item and the reason", async () => {
    const before = (await cat.ok(`{ dids(scope: "raw") { totalCount } }`)).dids.totalCount;
    const batch = [file("batch/a.fits"), file("batch/b.fits"), file("batch/c.fits", { adler32: "xyz" })];
    const bad = await cat.errorOf(ADD_DIDS, { input: batch });
    expect(bad).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 2, name: "batch/c.fits" } });
    const dup = await cat.errorOf(ADD_DIDS, { input: [file("batch/a.fits"), file("LATISS/20250601/AT_O_20250601_000001.fits")] });
    expect(dup).toMatchObject({ code: "DID_ALREADY_EXISTS", extensions: { item: 1 } });
    const noScope = await cat.errorOf(ADD_DIDS, { input: [file("batch/a.fits"), { ...file("x.fits"), scope: "nosuchscope" }] });
    expect(noScope).toMatchObject({ code: "SCOPE_NOT_FOUND", extensions: { item: 1, scope: "nosuchscope" } });
    const noBytes = await cat.errorOf(ADD_DIDS, { input: [{ scope: "raw", name: "nobytes.fits", type: "FILE" }] });
    expect(noBytes).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 0 } });
    const twice = await cat.errorOf(ADD_DIDS, { input: [file("t.fits"), file("t.fits")] });
    expect(twice).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 1 } });
    expect((await cat.ok(`{ dids(scope: "raw") { totalCount } }`)).dids.totalCount).toBe(before);
  });

  it("takes 10,000 DIDs and 10,000 replicas in one call each", async () => {
    const input = Array.from({ length: 10000 }, (_, i) => ({
      ...file(`bulk/${String(i).padStart(5, "0")}.fits`, { bytes: 1000 + i, metadata: { instrument: "LSSTCam", seq: i } }),
      scope: "bulk",
    }));
    expect((await cat.ok(ADD_DIDS, { input })).addDids.count).toBe(10000);
    const r = input.map((d) => ({ scope: d.scope, name: d.name }));
    expect((await cat.ok(ADD_REPLICAS, { rse: "SUMMIT_DISK", r })).addReplicas.count).toBe(10000);
    const counts = await cat.ok(`{ dids(scope: "bulk", namePattern: "bulk/*", metadata: {seq: {gte: 9990}}) { totalCount } replicas(rse: "SUMMIT_DISK", scope: "bulk") { totalCount } }`);
    expect(counts.dids.totalCount).toBe(10);
    expect(counts.replicas.totalCount).toBe(10000);
  });
});

describe("attachments", () => {
  const ref = (name: string) => ({ scope: "tree", name });
  /** In scope tree: <p>/ds1 (F1, F2) and <p>/ds2 (F3) in container <p>/ct, itself in <p>/all. */
  async function buildTree(p: string) {
    await cat.ok(ADD_DIDS, {
      input: [
        { scope: "tree", name: `${p}/ds1`, type: "DATASET", metadata: { day_obs: 20250601 } },
        { scope: "tree", name: `${p}/ds2`, type: "DATASET" },
        { scope: "tree", name: `${p}/ct`, type: "CONTAINER" },
        { scope: "tree", name: `${p}/all`, type: "CONTAINER" },
      ],
    });
    expect((await cat.ok(ATTACH, { p: ref(`${p}/ds1`), c: [F1, F2] })).attachDids.count).toBe(2);
    await cat.ok(ATTACH, { p: ref(`${p}/ds2`), c: [F3] });
    await cat.ok(ATTACH, { p: ref(`${p}/ct`), c: [ref(`${p}/ds1`), ref(`${p}/ds2`)] });
    await cat.ok(ATTACH, { p: ref(`${p}/all`), c: [ref(`${p}/ct`)] });
  }

  it("builds a hierarchy and lists children, parents and the recursive file listing", async () => {
    await buildTree("h");
    // Attaching again is harmless and adds nothing.
    expect((await cat.ok(ATTACH, { p: ref("h/ds1"), c: [F1] })).attachDids.count).toBe(0);
    const d = await cat.ok(`{ did(scope: "tree", name: "h/all") {
      children { totalCount nodes { name type } }
      files(first: 2) { totalCount nodes { name } pageInfo { hasNextPage } } } }`);
    expect(d.did.children).toEqual({ totalCount: 1, nodes: [{ name: "h/ct", type: "CONTAINER" }] });
    expect(d.did.files.totalCount).toBe(3);
    expect(d.did.files.nodes.map((n: any) => n.name)).toEqual([F1.name, F2.name]);
    expect(d.did.files.pageInfo.hasNextPage).toBe(true);
    const p = await cat.ok(`query($n: String!) { did(scope: "raw", name: $n) { parents { name parents { name } } } }`, { n: F3.name });
    expect(p.did.parents).toContainEqual({ name: "h/ds2", parents: [{ name: "h/ct" }] });
  });

  it("refuses cycles, wrong child types, unknown children and closed parents", async () => {
    await buildTree("c");
    const cycle = await cat.errorOf(ATTACH, { p: ref("c/ct"), c: [ref("c/all")] });
    expect(cycle).toMatchObject({ code: "INVALID_INPUT", extensions: { reason: "CYCLE", item: 0 } });
    const self = await cat.errorOf(ATTACH, { p: ref("c/all"), c: [ref("c/all")] });
    expect(self.extensions.reason).toBe("CYCLE");
    const fileInContainer = await cat.errorOf(ATTACH, { p: ref("c/all"), c: [F1] });
    expect(fileInContainer).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 0 } });
    const unknown = await cat.errorOf(ATTACH, { p: ref("c/ds2"), c: [F1, { scope: "raw", name: "ghost.fits" }] });
    expect(unknown).toMatchObject({ code: "DID_NOT_FOUND", extensions: { item: 1 } });
    // The valid first item was not attached either.
    expect((await cat.ok(`{ did(scope: "tree", name: "c/ds2") { children { totalCount } } }`)).did.children.totalCount).toBe(1);
    await cat.ok(`mutation { setDidStatus(scope: "tree", name: "c/ds2", open: false) { isOpen } }`);
    const closed = await cat.errorOf(ATTACH, { p: ref("c/ds2"), c: [F1] });
    expect(closed.code).toBe("DID_CLOSED");
  });

  it("detaches, and refuses to detach what is not attached", async () => {
    await buildTree("d");
    const c = [ref("d/ds2")];
    const detach = `mutation($p: DidRefInput!, $c: [DidRefInput!]!) { detachDids(parent: $p, children: $c) { count } }`;
    expect((await cat.ok(detach, { p: ref("d/ct"), c })).detachDids.count).toBe(1);
    expect((await cat.ok(`{ did(scope: "tree", name: "d/ct") { children { nodes { name } } } }`)).did.children.nodes).toEqual([{ name: "d/ds1" }]);
    expect((await cat.errorOf(detach, { p: ref("d/ct"), c })).code).toBe("INVALID_INPUT");
  });
});

describe("replicas", () => {
  const name = F1.name;
  const repFile = (n: string) => ({ ...file(n), scope: "rep" });

  it("registers replicas with deterministic paths and shows them on the DID", async () => {
    await cat.ok(ADD_REPLICAS, { rse: "SUMMIT_DISK", r: [{ scope: "raw", name }] });
    await cat.ok(ADD_REPLICAS, { rse: "USDF_DISK", r: [{ scope: "raw", name, bytes: 1000, state: "COPYING", path: "custom/place.fits" }] });
    const d = await cat.ok(`query($n: String!) { did(scope: "raw", name: $n) { replicas { rse { name facility { code } } state bytes path } } }`, { n: name });
    // md5("raw:LSSTCam/20250601/MC_O_20250601_000010_R22_S11.fits") = d7a3327ed57ca02bbd86c84d3f290d33 (md5sum).
    expect(d.did.replicas).toEqual([
      { rse: { name: "SUMMIT_DISK", facility: { code: "SUMMIT" } }, state: "AVAILABLE", bytes: 1000, path: `raw/d7/a3/${name}` },
      { rse: { name: "USDF_DISK", facility: { code: "USDF" } }, state: "COPYING", bytes: 1000, path: "custom/place.fits" },
    ]);
  });

  it("sets a replica's state and filters replicas by RSE and state", async () => {
    await cat.ok(ADD_DIDS, { input: [repFile("state/a.fits"), repFile("state/b.fits"), repFile("state/none.fits")] });
    await cat.ok(ADD_REPLICAS, { rse: "USDF_DISK", r: ["state/a.fits", "state/b.fits"].map((n) => ({ scope: "rep", name: n, state: "COPYING" })) });
    const s = await cat.ok(`mutation { setReplicaState(scope: "rep", name: "state/b.fits", rse: "USDF_DISK", state: AVAILABLE) { state rse { name } did { name } } }`);
    expect(s.setReplicaState).toEqual({ state: "AVAILABLE", rse: { name: "USDF_DISK" }, did: { name: "state/b.fits" } });
    const r = await cat.ok(`{ available: replicas(rse: "USDF_DISK", state: AVAILABLE, scope: "rep", namePattern: "state/*") { totalCount nodes { name } }
      copying: replicas(rse: "USDF_DISK", state: COPYING, scope: "rep", namePattern: "state/*") { totalCount nodes { name } } }`);
    expect(r).toEqual({ available: { totalCount: 1, nodes: [{ name: "state/b.fits" }] }, copying: { totalCount: 1, nodes: [{ name: "state/a.fits" }] } });
    expect((await cat.errorOf(`mutation { setReplicaState(scope: "rep", name: "state/none.fits", rse: "USDF_DISK", state: BAD) { state } }`)).code).toBe("REPLICA_NOT_FOUND");
  });

  it("refuses replicas of unknown DIDs, of datasets, with a wrong size, twice, or on an unknown RSE", async () => {
    await cat.ok(ADD_DIDS, { input: [repFile("refuse/held.fits"), repFile("refuse/new.fits"), { scope: "rep", name: "refuse/ds", type: "DATASET" }] });
    await cat.ok(ADD_REPLICAS, { rse: "USDF_DISK", r: [{ scope: "rep", name: "refuse/held.fits" }] });
    const count = async () => (await cat.ok(`{ replicas(rse: "USDF_DISK") { totalCount } }`)).replicas.totalCount;
    const before = await count();
    const e = (rse: string, r: unknown[]) => cat.errorOf(ADD_REPLICAS, { rse, r });
    const fresh = { scope: "rep", name: "refuse/new.fits" };
    expect(await e("USDF_DISK", [fresh, { scope: "rep", name: "ghost.fits" }])).toMatchObject({ code: "DID_NOT_FOUND", extensions: { item: 1 } });
    expect(await e("USDF_DISK", [{ scope: "rep", name: "refuse/ds" }])).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 0 } });
    expect(await e("USDF_DISK", [{ ...fresh, bytes: 5 }])).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 0 } });
    expect(await e("USDF_DISK", [fresh, { scope: "rep", name: "refuse/held.fits" }])).toMatchObject({ code: "REPLICA_ALREADY_EXISTS", extensions: { item: 1 } });
    expect((await e("NOWHERE", [fresh])).code).toBe("RSE_NOT_FOUND");
    // Nothing was written by the refused calls.
    expect(await count()).toBe(before);
  });
});
