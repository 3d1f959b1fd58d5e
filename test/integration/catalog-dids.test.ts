import { startTestCatalog, TestCatalog } from "../support/catalog";

let cat: TestCatalog;

const ADD_DIDS = `mutation($input: [AddDidInput!]!) { addDids(input: $input) { count } }`;
const ATTACH = `mutation($p: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $p, children: $c) { count } }`;
const ADD_REPLICAS = `mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`;

const file = (name: string, extra: Record<string, unknown> = {}) => ({ scope: "raw", name, type: "FILE", bytes: 1000, adler32: "0a1b2c3d", ...extra });

beforeAll(async () => {
  cat = await startTestCatalog("dids");
  await cat.ok(`mutation { addScope(name: "raw") { name account } }`);
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
  it("registers files with metadata and checksums, recording the account", async () => {
    const input = [
      file("LSSTCam/20250601/MC_O_20250601_000010_R22_S11.fits", {
        md5: "0123456789ABCDEF0123456789abcdef",
        metadata: { instrument: "LSSTCam", day_obs: 20250601, band: "r", exposure: 10, ra: 150.1, dec: 2.2 },
      }),
      file("LSSTCam/20250601/MC_O_20250601_000011_R22_S11.fits", { metadata: { instrument: "LSSTCam", day_obs: 20250601, band: "g", exposure: 11 } }),
      file("LSSTCam/20250602/MC_O_20250602_000001_R22_S11.fits", { metadata: { instrument: "LSSTCam", day_obs: 20250602, band: "i", exposure: 1 } }),
      file("LATISS/20250601/AT_O_20250601_000001.fits", { metadata: { instrument: "LATISS", day_obs: 20250601, band: "r" } }),
    ];
    expect((await cat.ok(ADD_DIDS, { input }, cat.tokens.writer)).addDids.count).toBe(4);
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

  it("pages with cursors", async () => {
    const page1 = (await cat.ok(`{ dids(scope: "raw", first: 3) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }`)).dids;
    expect(page1.edges).toHaveLength(3);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await cat.ok(`query($a: String) { dids(scope: "raw", first: 3, after: $a) { nodes { name } pageInfo { hasNextPage } } }`, { a: page1.pageInfo.endCursor })).dids;
    expect(page2.nodes).toHaveLength(1);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    const all = [...page1.edges.map((e: any) => e.node.name), ...page2.nodes.map((n: any) => n.name)];
    expect(all).toEqual([...all].sort());
    expect((await cat.errorOf(`{ dids(scope: "raw", after: "garbage") { totalCount } }`)).code).toBe("INVALID_INPUT");
  });

  it("merges, removes and replaces metadata", async () => {
    const name = "LATISS/20250601/AT_O_20250601_000001.fits";
    const merged = await cat.ok(`mutation($n: String!) { setDidMetadata(scope: "raw", name: $n, metadata: {seeing: 0.7, band: null}) { metadata } }`, { n: name });
    expect(merged.setDidMetadata.metadata).toEqual({ instrument: "LATISS", day_obs: 20250601, seeing: 0.7 });
    const replaced = await cat.ok(`mutation($n: String!) { setDidMetadata(scope: "raw", name: $n, metadata: {a: 1}, replace: true) { metadata } }`, { n: name });
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
    const input = Array.from({ length: 10000 }, (_, i) =>
      file(`bulk/${String(i).padStart(5, "0")}.fits`, { bytes: 1000 + i, metadata: { instrument: "LSSTCam", seq: i } }),
    );
    expect((await cat.ok(ADD_DIDS, { input })).addDids.count).toBe(10000);
    const r = input.map((d) => ({ scope: d.scope, name: d.name }));
    expect((await cat.ok(ADD_REPLICAS, { rse: "SUMMIT_DISK", r })).addReplicas.count).toBe(10000);
    const counts = await cat.ok(`{ dids(scope: "raw", namePattern: "bulk/*", metadata: {seq: {gte: 9990}}) { totalCount } replicas(rse: "SUMMIT_DISK") { totalCount } }`);
    expect(counts.dids.totalCount).toBe(10);
    expect(counts.replicas.totalCount).toBe(10000);
  });
});

describe("attachments", () => {
  beforeAll(async () => {
    await cat.ok(ADD_DIDS, {
      input: [
        { scope: "raw", name: "ds/20250601", type: "DATASET", metadata: { day_obs: 20250601 } },
        { scope: "raw", name: "ds/20250602", type: "DATASET" },
        { scope: "raw", name: "ct/LSSTCam", type: "CONTAINER" },
        { scope: "raw", name: "ct/all", type: "CONTAINER" },
      ],
    });
  });

  it("builds a hierarchy and lists children, parents and the recursive file listing", async () => {
    const f1 = { scope: "raw", name: "LSSTCam/20250601/MC_O_20250601_000010_R22_S11.fits" };
    const f2 = { scope: "raw", name: "LSSTCam/20250601/MC_O_20250601_000011_R22_S11.fits" };
    const f3 = { scope: "raw", name: "LSSTCam/20250602/MC_O_20250602_000001_R22_S11.fits" };
    expect((await cat.ok(ATTACH, { p: { scope: "raw", name: "ds/20250601" }, c: [f1, f2] })).attachDids.count).toBe(2);
    // Attaching again is harmless and adds nothing.
    expect((await cat.ok(ATTACH, { p: { scope: "raw", name: "ds/20250601" }, c: [f1] })).attachDids.count).toBe(0);
    await cat.ok(ATTACH, { p: { scope: "raw", name: "ds/20250602" }, c: [f3] });
    await cat.ok(ATTACH, { p: { scope: "raw", name: "ct/LSSTCam" }, c: [{ scope: "raw", name: "ds/20250601" }, { scope: "raw", name: "ds/20250602" }] });
    await cat.ok(ATTACH, { p: { scope: "raw", name: "ct/all" }, c: [{ scope: "raw", name: "ct/LSSTCam" }] });
    const d = await cat.ok(`{ did(scope: "raw", name: "ct/all") {
      children { totalCount nodes { name type } }
      files(first: 2) { totalCount nodes { name } pageInfo { hasNextPage } } } }`);
    expect(d.did.children).toEqual({ totalCount: 1, nodes: [{ name: "ct/LSSTCam", type: "CONTAINER" }] });
    expect(d.did.files.totalCount).toBe(3);
    expect(d.did.files.nodes.map((n: any) => n.name)).toEqual([f1.name, f2.name]);
    expect(d.did.files.pageInfo.hasNextPage).toBe(true);
    const p = await cat.ok(`query($n: String!) { did(scope: "raw", name: $n) { parents { name parents { name } } } }`, { n: f3.name });
    expect(p.did.parents).toEqual([{ name: "ds/20250602", parents: [{ name: "ct/LSSTCam" }] }]);
  });

  it("refuses cycles, wrong child types, unknown children and closed parents", async () => {
    const cycle = await cat.errorOf(ATTACH, { p: { scope: "raw", name: "ct/LSSTCam" }, c: [{ scope: "raw", name: "ct/all" }] });
    expect(cycle).toMatchObject({ code: "INVALID_INPUT", extensions: { reason: "CYCLE", item: 0 } });
    const self = await cat.errorOf(ATTACH, { p: { scope: "raw", name: "ct/all" }, c: [{ scope: "raw", name: "ct/all" }] });
    expect(self.extensions.reason).toBe("CYCLE");
    const fileInContainer = await cat.errorOf(ATTACH, { p: { scope: "raw", name: "ct/all" }, c: [{ scope: "raw", name: "bulk/00001.fits" }] });
    expect(fileInContainer).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 0 } });
    const unknown = await cat.errorOf(ATTACH, { p: { scope: "raw", name: "ds/20250602" }, c: [{ scope: "raw", name: "bulk/00001.fits" }, { scope: "raw", name: "ghost.fits" }] });
    expect(unknown).toMatchObject({ code: "DID_NOT_FOUND", extensions: { item: 1 } });
    // The valid first item was not attached either.
    expect((await cat.ok(`{ did(scope: "raw", name: "ds/20250602") { children { totalCount } } }`)).did.children.totalCount).toBe(1);
    await cat.ok(`mutation { setDidStatus(scope: "raw", name: "ds/20250602", open: false) { isOpen } }`);
    const closed = await cat.errorOf(ATTACH, { p: { scope: "raw", name: "ds/20250602" }, c: [{ scope: "raw", name: "bulk/00001.fits" }] });
    expect(closed.code).toBe("DID_CLOSED");
  });

  it("detaches, and refuses to detach what is not attached", async () => {
    const c = [{ scope: "raw", name: "ds/20250602" }];
    const detach = `mutation($p: DidRefInput!, $c: [DidRefInput!]!) { detachDids(parent: $p, children: $c) { count } }`;
    expect((await cat.ok(detach, { p: { scope: "raw", name: "ct/LSSTCam" }, c })).detachDids.count).toBe(1);
    expect((await cat.errorOf(detach, { p: { scope: "raw", name: "ct/LSSTCam" }, c })).code).toBe("INVALID_INPUT");
  });
});

describe("replicas", () => {
  const name = "LSSTCam/20250601/MC_O_20250601_000010_R22_S11.fits";

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
    const s = await cat.ok(`mutation($n: String!) { setReplicaState(scope: "raw", name: $n, rse: "USDF_DISK", state: AVAILABLE) { state rse { name } did { name } } }`, { n: name });
    expect(s.setReplicaState).toEqual({ state: "AVAILABLE", rse: { name: "USDF_DISK" }, did: { name } });
    const r = await cat.ok(`{ replicas(rse: "USDF_DISK", state: AVAILABLE) { totalCount nodes { name } } }`);
    expect(r.replicas).toEqual({ totalCount: 1, nodes: [{ name }] });
    expect((await cat.errorOf(`mutation { setReplicaState(scope: "raw", name: "bulk/00001.fits", rse: "USDF_DISK", state: BAD) { state } }`)).code).toBe("REPLICA_NOT_FOUND");
  });

  it("refuses replicas of unknown DIDs, of datasets, with a wrong size, twice, or on an unknown RSE", async () => {
    const e = (rse: string, r: unknown[]) => cat.errorOf(ADD_REPLICAS, { rse, r });
    expect(await e("USDF_DISK", [{ scope: "raw", name: "bulk/00002.fits" }, { scope: "raw", name: "ghost.fits" }])).toMatchObject({ code: "DID_NOT_FOUND", extensions: { item: 1 } });
    expect(await e("USDF_DISK", [{ scope: "raw", name: "ds/20250601" }])).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 0 } });
    expect(await e("USDF_DISK", [{ scope: "raw", name: "bulk/00002.fits", bytes: 5 }])).toMatchObject({ code: "INVALID_INPUT", extensions: { item: 0 } });
    expect(await e("USDF_DISK", [{ scope: "raw", name }])).toMatchObject({ code: "REPLICA_ALREADY_EXISTS", extensions: { item: 0 } });
    expect((await e("NOWHERE", [{ scope: "raw", name }])).code).toBe("RSE_NOT_FOUND");
    expect((await cat.ok(`{ replicas(rse: "USDF_DISK") { totalCount } }`)).replicas.totalCount).toBe(1);
  });
});
