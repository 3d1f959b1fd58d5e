import type { EntityManager } from "typeorm";
import { deterministicPath } from "../../subgraphs/replicas/replica";
import { drainSubscriptions } from "../../subgraphs/replicas/subscription";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { CLAIM, REPORT } from "../support/replication";

/**
 * announceLargeFile (subgraphs/replicas/lfa.ts) over real HTTP: largeFileObjectAvailable events
 * as the Summit's CSCs publish them (the HeaderService's with size and md5, ts_electrometer's with
 * url, generator and id only, an older s3:// url) register the file on the LFA RSE its url points
 * into, keeping its object key as its path at every destination; re-sent events change nothing;
 * conflicting, unmapped and malformed ones are coded; only lfa:<FACILITY> (or an admin) may
 * announce; a file announced without its size takes it from its first copy.
 */
let cat: TestCatalog;
let db: EntityManager;
let bridge: string;

const ANNOUNCE = `mutation($e: LargeFileObjectAvailableInput!) { announceLargeFile(event: $e) {
  created did { scope name bytes md5 adler32 path metadata } replica { rse { name } state path bytes } } }`;

// What the ATHeaderService sends for a header (HeaderService hslib_salobj.py): every field set.
const HEADER_KEY = "ATHeaderService/header/2025/06/01/ATHeaderService_header_AT_O_20250601_000123.yaml";
const HEADER_EVENT = {
  csc: "ATHeaderService",
  url: `https://s3.cp.lsst.org/rubinobs-lfa-cp/${HEADER_KEY}`,
  generator: "ATHeaderService",
  version: 1,
  byteSize: 25_316,
  checkSum: "9E107D9D372BB6826BD81D3542A419D6",
  mimeType: "YAML",
  id: "AT_O_20250601_000123",
};
// What ts_electrometer sends (controller.write_fits_file): url, id, generator; byteSize 0 and checkSum "" by default.
const EM_KEY = "Electrometer:103/fits/2025/06/01/EM103_O_20250601_000012.fits";
const EM_EVENT = { csc: "Electrometer", salIndex: 103, url: `https://s3.cp.lsst.org/rubinobs-lfa-cp/${EM_KEY}`, generator: "Electrometer:103", id: "2025-06-02T03:02:00.000#1" };

beforeAll(async () => {
  cat = await startTestCatalog("lfa");
  db = cat.service.database.dataSource.manager;
  const rse = (name: string, facility: string, bucket: string, attributes: Record<string, unknown>) =>
    cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, {
      i: { name, facility, kind: "S3", protocol: { endpoint: "http://127.0.0.1:9", bucket }, attributes },
    });
  // The Summit's LFA as the facilities reach it (an internal endpoint), and as its CSCs write its URLs.
  await rse("SUMMIT_LFA", "SUMMIT", "rubinobs-lfa-cp", { lfa: true, lfa_url: "https://s3.cp.lsst.org/rubinobs-lfa-cp" });
  await rse("BASE_LFA", "BASE", "rubinobs-lfa-ls", { lfa: true, lfa_url: "https://s3.ls.lsst.org/rubinobs-lfa-ls" });
  await rse("SUMMIT_RAW", "SUMMIT", "rubinobs-raw-lsstcam", {});
  await rse("USDF_LFA", "USDF", "usdf-lfa", {});
  await rse("FRDF_LFA", "FrDF", "frdf-lfa", {});
  await cat.ok(`mutation { addScope(name: "lfa") { name } }`);
  bridge = await cat.token("summit-lfa-bridge", ["lfa:SUMMIT"]);
}, 60_000);
afterAll(() => cat.close());

const announce = (event: Record<string, unknown>, token = bridge) => cat.ok(ANNOUNCE, { e: event }, token).then((r) => r.announceLargeFile);
const events = async (name: string) =>
  Number((await db.query(`SELECT count(*) AS n FROM events WHERE type = 'did-registered' AND payload ->> 'name' = $1`, [name]))[0].n);

describe("announceLargeFile", () => {
  it("registers a HeaderService header as lfa:<object key>: the event as metadata, byteSize as bytes, checkSum as md5, the key as path, an AVAILABLE replica on the Summit's LFA", async () => {
    const a = await announce(HEADER_EVENT);
    expect(a.created).toBe(true);
    expect(a.did).toEqual({
      scope: "lfa",
      name: HEADER_KEY,
      bytes: 25_316,
      md5: "9e107d9d372bb6826bd81d3542a419d6",
      adler32: null,
      path: HEADER_KEY,
      metadata: { ...HEADER_EVENT, salIndex: 0, checkSum: "9e107d9d372bb6826bd81d3542a419d6" },
    });
    expect(a.replica).toEqual({ rse: { name: "SUMMIT_LFA" }, state: "AVAILABLE", path: HEADER_KEY, bytes: 25_316 });
    expect(await events(HEADER_KEY)).toBe(1);
  });

  it("changes nothing when the same event comes again (a bridge that restarts re-sends its last events)", async () => {
    const again = await announce(HEADER_EVENT);
    expect(again.created).toBe(false);
    expect(again.did.name).toBe(HEADER_KEY);
    expect(again.replica.rse.name).toBe("SUMMIT_LFA");
    expect(await events(HEADER_KEY)).toBe(1);
    // The same object announced by its s3:// url is the same announcement.
    expect((await announce({ ...HEADER_EVENT, url: `s3://rubinobs-lfa-cp/${HEADER_KEY}` })).created).toBe(false);
  });

  it("refuses an event for the same object with another size or checksum with LFA_CONFLICT naming the fields", async () => {
    const e = await cat.errorOf(ANNOUNCE, { e: { ...HEADER_EVENT, byteSize: 25_317, checkSum: "0".repeat(32) } }, bridge);
    expect(e.extensions.code).toBe("LFA_CONFLICT");
    expect(e.extensions.fields).toEqual(["byteSize", "checkSum"]);
    const [stored] = await db.query(`SELECT bytes, md5 FROM dids WHERE scope = 'lfa' AND name = $1`, [HEADER_KEY]);
    expect(stored).toEqual({ bytes: 25316, md5: "9e107d9d372bb6826bd81d3542a419d6" });
  });

  it("maps the older s3://<bucket>/<key> urls and the RSE's own endpoint/bucket to the same LFA RSE", async () => {
    const key = "FiberSpectrograph:Broad/fiberSpecBroad/2021/03/30/FiberSpectrograph:Broad_fiberSpecBroad_2021-03-31T02:11:07.123.fits";
    const viaS3 = await announce({ csc: "FiberSpectrograph", salIndex: 3, url: `s3://rubinobs-lfa-cp/${key}`, generator: "fiberSpecBroad" });
    expect([viaS3.did.name, viaS3.replica.rse.name]).toEqual([key, "SUMMIT_LFA"]);
    const viaEndpoint = await announce({ csc: "DREAM", url: "http://127.0.0.1:9/rubinobs-lfa-cp/DREAM/dream/2025/06/01/DREAM_dream_2025-06-02T01:00:00.000.json", generator: "dream" });
    expect(viaEndpoint.replica.rse.name).toBe("SUMMIT_LFA");
  });

  it("refuses a url that points into no LFA RSE (another bucket, a non-LFA RSE's bucket, a CSC's local fallback file://) with LFA_URL_UNKNOWN", async () => {
    for (const url of [
      "https://s3.cp.lsst.org/rubinobs-lfa-tuc/ATHeaderService/header/2025/06/01/x.yaml",
      "https://s3.cp.lsst.org/rubinobs-raw-lsstcam/LSSTCam/20250601/MC_O_20250601_000001/x.fits",
      "http://127.0.0.1:9/rubinobs-raw-lsstcam/x.fits",
      "file:///tmp/rubinobs-lfa-cp/Electrometer:103/fits/2025/06/01/EM103_O_20250601_000013.fits",
      "https://s3.cp.lsst.org/rubinobs-lfa-cp/",
      "not a url",
    ]) {
      const e = await cat.errorOf(ANNOUNCE, { e: { ...HEADER_EVENT, url } }, bridge);
      expect([url, e.extensions.code]).toEqual([url, "LFA_URL_UNKNOWN"]);
    }
  });

  it("refuses malformed events with INVALID_INPUT naming the field, writing nothing", async () => {
    const before = Number((await db.query(`SELECT count(*) AS n FROM dids WHERE scope = 'lfa'`))[0].n);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...HEADER_EVENT, checkSum: "sha256:abc" }, "checkSum"],
      [{ ...HEADER_EVENT, byteSize: -1 }, "byteSize"],
      [{ ...HEADER_EVENT, byteSize: 1.5 }, "byteSize"],
      [{ ...HEADER_EVENT, csc: "AT HeaderService" }, "csc"],
      [{ ...HEADER_EVENT, salIndex: -2 }, "salIndex"],
      [{ ...HEADER_EVENT, url: "" }, "url"],
      [{ ...HEADER_EVENT, generator: "g".repeat(300) }, "generator"],
      [{ ...HEADER_EVENT, url: "https://s3.cp.lsst.org/rubinobs-lfa-cp/a//b.yaml" }, "url"],
    ];
    for (const [event, field] of cases) {
      const e = await cat.errorOf(ANNOUNCE, { e: event }, bridge);
      expect([field, e.extensions.code, e.extensions.field]).toEqual([field, "INVALID_INPUT", field]);
    }
    expect(Number((await db.query(`SELECT count(*) AS n FROM dids WHERE scope = 'lfa'`))[0].n)).toBe(before);
  });

  it("lets lfa:SUMMIT announce the Summit's LFA only; catalog:admin anywhere; catalog:write nowhere; nothing without a token", async () => {
    const base = { csc: "GenericCamera", salIndex: 1, url: "https://s3.ls.lsst.org/rubinobs-lfa-ls/GenericCamera:1/image/2025/06/01/GC1_O_20250601_000001.fits", generator: "GenericCamera:1" };
    expect((await cat.errorOf(ANNOUNCE, { e: base }, bridge)).extensions).toMatchObject({ code: "FORBIDDEN", requiredScopes: ["lfa:BASE", "catalog:admin"] });
    expect((await cat.errorOf(ANNOUNCE, { e: { ...base, url: base.url.replace("000001", "000002") } }, cat.tokens.writer)).extensions.code).toBe("FORBIDDEN");
    expect((await cat.errorOf(ANNOUNCE, { e: base }, "")).extensions.code).toBe("UNAUTHENTICATED");
    expect((await announce(base, cat.tokens.admin)).replica.rse.name).toBe("BASE_LFA");
    expect((await announce(base, await cat.token("base-bridge", ["lfa:base"]))).created).toBe(false);
  });
});

describe("an LFA file's copies", () => {
  it("keep its object key as their path at every destination, for rules made by hand and by subscriptions", async () => {
    await announce(EM_EVENT);
    await cat.ok(`mutation($i: AddRuleInput!) { addRule(input: $i) { id } }`, { i: { did: { scope: "lfa", name: HEADER_KEY }, rseExpression: "USDF_LFA" } });
    await cat.ok(`mutation($i: AddSubscriptionInput!) { addSubscription(input: $i) { name } }`, {
      i: { name: "lfa-to-frdf", filter: { scopes: ["lfa"], metadata: { csc: "Electrometer" } }, rules: [{ rseExpression: "FRDF_LFA" }] },
    });
    await cat.ok(`mutation { reevaluateSubscription(name: "lfa-to-frdf") { id } }`);
    await drainSubscriptions(db, { batchSize: 100 });
    const paths = await db.query(
      `SELECT s.name AS rse, r.name, r.path, r.state FROM replicas r JOIN rses s ON s.id = r.rse_id WHERE r.scope = 'lfa' AND s.name IN ('USDF_LFA', 'FRDF_LFA') ORDER BY s.name`,
    );
    expect(paths).toEqual([
      { rse: "FRDF_LFA", name: EM_KEY, path: EM_KEY, state: "COPYING" },
      { rse: "USDF_LFA", name: HEADER_KEY, path: HEADER_KEY, state: "COPYING" },
    ]);
    // Other files keep Rucio's deterministic path.
    await cat.ok(`mutation { addScope(name: "raw") { name } addDids(input: [{scope: "raw", name: "LSSTCam/raw/x.fits", type: FILE, bytes: 3}]) { count } }`);
    await cat.ok(`mutation { addReplicas(rse: "SUMMIT_RAW", replicas: [{scope: "raw", name: "LSSTCam/raw/x.fits"}]) { count } }`);
    const [raw] = await db.query(`SELECT path FROM replicas WHERE scope = 'raw' AND name = 'LSSTCam/raw/x.fits'`);
    expect(raw.path).toBe(deterministicPath("raw", "LSSTCam/raw/x.fits"));
  });

  it("of a file announced without its size (ts_electrometer's events) record size and checksums from the first verified copy, and check later copies against them", async () => {
    const [did] = await db.query(`SELECT bytes, md5 FROM dids WHERE scope = 'lfa' AND name = $1`, [EM_KEY]);
    expect(did).toEqual({ bytes: null, md5: null });
    // FrDF's copy (made by the subscription above) is the first; a copy to USDF comes next.
    await cat.ok(`mutation($i: AddRuleInput!) { addRule(input: $i) { id } }`, { i: { did: { scope: "lfa", name: EM_KEY }, rseExpression: "USDF_LFA" } });
    const frdf = await cat.token("agent-frdf", ["agent:FrDF"]);
    const usdf = await cat.token("agent-usdf", ["agent:USDF"]);
    const [first] = (await cat.ok(CLAIM, { f: "FrDF", n: 10 }, frdf)).claimTransfers.filter((t: any) => t.file.name === EM_KEY);
    expect(first.file).toEqual({ scope: "lfa", name: EM_KEY, bytes: null, adler32: null, md5: null });
    const sums = { bytes: 120_960, adler32: "3a1f02c4", md5: "4f7d2a9c8e1b3d5f6a7c9e0b1d2f3a4b" };
    expect((await cat.ok(REPORT, { id: first.id, lease: first.lease, o: { outcome: "DONE", ...sums } }, frdf)).reportTransfer.state).toBe("DONE");
    const after = await cat.ok(`query($n: String!) { did(scope: "lfa", name: $n) { bytes adler32 md5 replicas { rse { name } bytes } } }`, { n: EM_KEY });
    expect(after.did).toMatchObject({ bytes: 120_960, adler32: "3a1f02c4", md5: "4f7d2a9c8e1b3d5f6a7c9e0b1d2f3a4b" });
    expect(after.did.replicas.map((r: any) => [r.rse.name, r.bytes])).toEqual([["FRDF_LFA", 120_960], ["SUMMIT_LFA", 120_960], ["USDF_LFA", 120_960]]);
    const [second] = (await cat.ok(CLAIM, { f: "USDF", n: 10 }, usdf)).claimTransfers.filter((t: any) => t.file.name === EM_KEY);
    expect(second.file).toMatchObject({ bytes: 120_960, md5: sums.md5 });
    const bad = await cat.ok(REPORT, { id: second.id, lease: second.lease, o: { outcome: "DONE", ...sums, md5: "0".repeat(32) } }, usdf);
    expect(bad.reportTransfer).toMatchObject({ state: "QUEUED", errorCode: "CHECKSUM_MISMATCH" });
  });
});
