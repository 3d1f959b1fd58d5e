import "reflect-metadata";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync } from "node:fs";
import path from "node:path";
import { checksumsOf } from "../../lib/checksum";
import { writeFitsFile } from "../../lib/fits-header";
import { lsstCamRawHeader } from "../../subgraphs/facility/instrument/lsstcam-raw-header";
import type { StorageDriver } from "../../lib/storage/driver";
import { loadConfig } from "../../lib/config";
import { deterministicPath } from "../../subgraphs/replicas/replica";
import { graphql, ok } from "../support/graphql-client";
import { BUCKETS, Code, DataFederation, startDataFederation } from "../support/data-federation";
import type { ServiceProcess } from "../support/processes";
import { waitFor } from "../support/wait-for";

/**
 * Transfer agents moving real bytes between real stores: two S3-protocol servers and a
 * filesystem root, with the catalog, four facilities, the gateway and one agent per facility as
 * separate processes. What arrives is verified against the catalog; a corrupted source never
 * becomes a replica; a killed agent leaves nothing under the final name and another finishes
 * its work; read URLs go only to the agent the catalog handed the request to; deleting the rule
 * removes the objects.
 */
jest.setTimeout(240_000);

let fed: DataFederation;
const agents = new Map<Code, ServiceProcess>();
const SMALL = Array.from({ length: 6 }, (_, i) => `LSSTCam/raw/20250601/MC_O_20250601_00000${i + 1}/MC_O_20250601_00000${i + 1}_R22_S11.fits`);
const BAD = "LSSTCam/raw/20250601/MC_O_20250601_000009/MC_O_20250601_000009_R22_S11.fits";
const BIG = "LSSTCam/raw/20250601/MC_O_20250601_000010/MC_O_20250601_000010_R22_S11.fits";
const content = new Map<string, Buffer>();
/** The rules that keep copies at UKDF, deleted by the last test. */
const ukdfRules: string[] = [];

const storeOf = (code: Code): StorageDriver => fed.storeOf(code);

async function readAll(driver: StorageDriver, p: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await driver.read(p)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const gw = (query: string, variables?: Record<string, unknown>, token = fed.admin) => ok(fed.gatewayUrl, query, variables, token);

async function ruleState(id: string): Promise<{ state: string; error: string | null }> {
  return (await gw(`query($id: String!) { rule(id: $id) { state error } }`, { id })).rule;
}

async function addRule(name: string, rse: string, source?: string): Promise<string> {
  const r = await gw(`mutation($i: AddRuleInput!) { addRule(input: $i) { id } }`, {
    i: { did: { scope: "raw", name }, rseExpression: rse, ...(source ? { sourceReplicaExpression: source } : {}) },
  });
  return r.addRule.id;
}

beforeAll(async () => {
  fed = await startDataFederation("agent", { leaseSeconds: 5, backoffSeconds: 1, maxAttempts: 3 });
  for (const name of SMALL) content.set(name, randomBytes(64 * 1024 + Math.floor(Math.random() * 1000)));
  // The first is a real LSSTCam raw (a FITS file with the camera's primary header): ingested on
  // arrival. The others are not FITS files under FITS names: their ingest fails, coded.
  content.set(SMALL[0], writeFitsFile(lsstCamRawHeader({ begin: new Date("2025-06-02T03:02:00Z"), seqNum: 1, detector: 94, ra: 42.25, dec: -53.9 }), { width: 64, height: 64 }));
  content.set(BAD, randomBytes(100_000));
  content.set(BIG, randomBytes(160 * 1024 * 1024));
  await gw(`mutation { addScope(name: "raw") { name } }`);
  const dids = [...content].map(([name, bytes]) => {
    const c = checksumsOf(bytes);
    return { scope: "raw", name, type: "FILE", bytes: bytes.length, adler32: c.adler32, md5: c.md5 };
  });
  await gw(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, {
    i: [...dids, { scope: "raw", name: "LSSTCam/raw/20250601", type: "DATASET" }],
  });
  await gw(`mutation($d: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $d, children: $c) { count } }`, {
    d: { scope: "raw", name: "LSSTCam/raw/20250601" },
    c: SMALL.map((name) => ({ scope: "raw", name })),
  });
  // The Summit's objects: as registered, except BAD, whose stored bytes have rotted (one byte flipped).
  const summit = storeOf("SUMMIT");
  for (const [name, bytes] of content) {
    const stored = name === BAD ? Buffer.from(bytes) : bytes;
    if (name === BAD) stored[500] ^= 0xff;
    await summit.write(deterministicPath("raw", name), (await import("node:stream")).Readable.from([stored]), { bytes: stored.length });
  }
  await gw(`mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "SUMMIT_S3", replicas: $r) { count } }`, { r: [...content.keys()].map((name) => ({ scope: "raw", name })) });
  for (const code of ["SUMMIT", "USDF", "FrDF", "UKDF"] as Code[]) agents.set(code, await fed.startAgent(code));
}, 300_000);

afterAll(async () => {
  await fed?.close();
});

it("copies Summit → USDF → FrDF and FrDF → UKDF (sourced only from FrDF), byte for byte, and reports them in Rucio's message fields", async () => {
  const usdf = await addRule("LSSTCam/raw/20250601", "USDF_S3", "SUMMIT_S3");
  const frdf = await addRule("LSSTCam/raw/20250601", "FRDF_S3", "USDF_S3");
  const ukdf = await addRule("LSSTCam/raw/20250601", "UKDF_POSIX", "FRDF_S3");
  ukdfRules.push(ukdf);
  await waitFor("the three rules OK", async () => (await Promise.all([usdf, frdf, ukdf].map(ruleState))).every((r) => r.state === "OK"), { timeoutMs: 120_000 });
  for (const code of ["USDF", "FrDF", "UKDF"] as Code[]) {
    const store = storeOf(code);
    for (const name of SMALL) expect((await readAll(store, deterministicPath("raw", name))).equals(content.get(name)!)).toBe(true);
  }
  const replicas = await gw(`query($n: String!) { did(scope: "raw", name: $n) { replicas { rse { name } state } } }`, { n: SMALL[0] });
  expect(replicas.did.replicas.map((r: any) => `${r.rse.name}:${r.state}`).sort()).toEqual(["FRDF_S3:AVAILABLE", "SUMMIT_S3:AVAILABLE", "UKDF_POSIX:AVAILABLE", "USDF_S3:AVAILABLE"]);
  const events = (await gw(`{ events(types: ["transfer-done"], first: 100) { nodes { payload } } }`)).events.nodes.map((n: any) => n.payload);
  const about = (dst: string) => events.find((p: any) => p.name === SMALL[0] && p["dst-rse"] === dst);
  // Each copy came from the source its rule names: FrDF's from USDF, UKDF's from FrDF.
  expect(about("FRDF_S3")["src-rse"]).toBe("USDF_S3");
  expect(about("UKDF_POSIX")["src-rse"]).toBe("FRDF_S3");
  const ev = about("UKDF_POSIX");
  const c = checksumsOf(content.get(SMALL[0])!);
  expect(ev).toMatchObject({
    scope: "raw",
    name: SMALL[0],
    bytes: content.get(SMALL[0])!.length,
    "checksum-adler": c.adler32,
    "checksum-md5": c.md5,
    "dst-url": `file://${fed.ukdfRoot}/${deterministicPath("raw", SMALL[0])}`,
    "src-url": `${fed.s3[1].endpoint}/${BUCKETS.FrDF}/dbb/${deterministicPath("raw", SMALL[0])}`,
    activity: "default",
    "rule-ids": [ukdf],
  });
  expect(ev["request-id"]).toMatch(/^[0-9a-f-]{36}$/);
});

it("ingests what arrives into each destination's Butler: the raw from its FITS header with one dataset id everywhere, the others failed with a coded reason", async () => {
  const ingest = async (name: string) =>
    (await gw(`query($n: String!) { did(scope: "raw", name: $n) { replicas { facilityCode ingest { state datasetId source error { code message } } butlerDataset { dataId run } } } }`, { n: name })).did.replicas;
  let last: unknown;
  const raw = await waitFor("the raw ingested at USDF, FrDF and UKDF", async () => {
    const r = await ingest(SMALL[0]);
    last = r;
    return r.filter((x: any) => x.ingest?.state === "INGESTED").length === 3 ? r : null;
  }, { timeoutMs: 20_000, intervalMs: 200 }).catch((err) => {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}; UKDF agent: ${agents.get("UKDF")!.output().slice(-2000)}`);
  });
  const at = Object.fromEntries(raw.map((r: any) => [r.facilityCode, r]));
  expect(at.SUMMIT.ingest).toBeNull();
  expect(new Set(["USDF", "FrDF", "UKDF"].map((f) => at[f].ingest.datasetId)).size).toBe(1);
  expect(at.UKDF.ingest.source).toBe("header");
  expect(at.UKDF.butlerDataset).toEqual({
    run: "LSSTCam/raw/all",
    dataId: { instrument: "LSSTCam", detector: 94, exposure: 2025060100001, day_obs: 20250601, group: expect.any(String), physical_filter: "r_57", band: "r" },
  });
  const other = await ingest(SMALL[1]);
  const ukdf = other.find((r: any) => r.facilityCode === "UKDF");
  expect(ukdf.ingest).toMatchObject({ state: "FAILED", error: { code: "BAD_FITS_HEADER" } });
  expect(ukdf.butlerDataset).toBeNull();
});

it("shows each facility's agents with what they did (Facility.agents) and serves Prometheus metrics", async () => {
  await waitFor("the UKDF agent reporting its copies", async () => {
    const f = await gw(`{ facility(code: "UKDF") { agents { id state streams transfersDone bytesTotal lastSeen } } }`);
    return f.facility.agents.some((a: any) => a.state === "ALIVE" && a.transfersDone >= SMALL.length && a.bytesTotal > 0);
  }, { timeoutMs: 20_000 });
  const metrics = await (await fetch(agents.get("UKDF")!.url.replace(/graphql$/, "metrics"))).text();
  expect(metrics).toMatch(/dbb_agent_transfers_total\{outcome="done",reason=""\} [1-9]/);
  expect(metrics).toMatch(/dbb_agent_bytes_total [1-9]/);
});

it("never makes a corrupted source a replica: retries, then STUCK with CHECKSUM_MISMATCH, nothing under the final name", async () => {
  const id = await addRule(BAD, "USDF_S3", "SUMMIT_S3");
  await waitFor("the rule STUCK", async () => (await ruleState(id)).state === "STUCK", { timeoutMs: 60_000 });
  const t = (await gw(`query($n: String!) { transfers(filter: { name: $n }) { nodes { state attempts errorCode lastError } } }`, { n: BAD })).transfers.nodes[0];
  expect(t).toMatchObject({ state: "FAILED", attempts: 3, errorCode: "CHECKSUM_MISMATCH" });
  expect(t.lastError).toMatch(/md5|adler32/);
  const replica = await gw(`query($n: String!) { did(scope: "raw", name: $n) { replicas { rse { name } state } } }`, { n: BAD });
  expect(replica.did.replicas.find((r: any) => r.rse.name === "USDF_S3")?.state).not.toBe("AVAILABLE");
  expect(await storeOf("USDF").stat(deterministicPath("raw", BAD))).toBeNull();
});

it("refuses read URLs to anyone but the agent the catalog handed the request to", async () => {
  const done = (await gw(`{ transfers(filter: { destinationRse: "UKDF_POSIX", state: DONE }, first: 1) { nodes { id } } }`)).transfers.nodes[0].id;
  const mallory = await fed.token("mallory", ["agent:UKDF"]);
  const asked = await ok(fed.gatewayUrl, `query($r: [String!]!) { readUrls(facility: "FrDF", requests: $r) { request url error { code } } }`, { r: [done, "00000000-0000-4000-8000-000000000000"] }, mallory);
  expect(asked.readUrls).toEqual([
    { request: done, url: null, error: { code: "FORBIDDEN" } },
    { request: "00000000-0000-4000-8000-000000000000", url: null, error: { code: "FORBIDDEN" } },
  ]);
  const scientist = await fed.token("bob", ["catalog:write"]);
  const res = await graphql(fed.gatewayUrl, `query($r: [String!]!) { readUrls(facility: "FrDF", requests: $r) { url } }`, { r: [done] }, scientist);
  expect(res.errors?.[0].extensions?.code).toBe("FORBIDDEN");
});

it("leaves nothing under the final name when an agent is killed mid-copy, and another agent finishes after the lease", async () => {
  const id = await addRule(BIG, "UKDF_POSIX", "SUMMIT_S3");
  ukdfRules.push(id);
  const target = path.join(fed.ukdfRoot, deterministicPath("raw", BIG));
  const ukdf = agents.get("UKDF")!;
  await waitFor("the big copy running", async () => {
    const m = (await (await fetch(ukdf.url.replace(/graphql$/, "metrics"))).text()).match(/dbb_agent_active_transfers (\d+)/);
    return Number(m?.[1]) > 0;
  }, { timeoutMs: 30_000, intervalMs: 20 });
  await new Promise((r) => setTimeout(r, 300));
  await ukdf.kill();
  expect(existsSync(target)).toBe(false);
  expect((await ruleState(id)).state).toBe("REPLICATING");
  agents.set("UKDF", await fed.startAgent("UKDF", "agent-ukdf-2"));
  await waitFor("the big copy finished by the second agent", async () => (await ruleState(id)).state === "OK", { timeoutMs: 120_000 });
  expect(statSync(target).size).toBe(content.get(BIG)!.length);
  expect(createHash("md5").update(readFileSync(target)).digest("hex")).toBe(checksumsOf(content.get(BIG)!).md5);
  const t = (await gw(`query($n: String!) { transfers(filter: { name: $n }) { nodes { state claimedBy } } }`, { n: BIG })).transfers.nodes[0];
  expect(t.state).toBe("DONE");
});

it("refuses a signed object URL whose path leaves the POSIX root, and serves ranges of one inside it", async () => {
  const { signObjectUrl, resolveSigningKey } = await import("../../lib/storage/signed-url");
  const config = loadConfig(fed.configOf("UKDF"));
  const key = resolveSigningKey(config);
  const base = fed.facilities.get("UKDF")!.url.replace(/\/graphql$/, "");
  const inside = signObjectUrl({ baseUrl: base, rse: "UKDF_POSIX", path: deterministicPath("raw", SMALL[1]), expiresAt: Date.now() + 60_000, key });
  const part = await fetch(inside, { headers: { range: "bytes=10-19" } });
  expect(part.status).toBe(206);
  expect(Buffer.from(await part.arrayBuffer()).equals(content.get(SMALL[1])!.subarray(10, 20))).toBe(true);
  // A symlink inside the root pointing out of it (planted by anyone who can write there): a
  // correctly signed URL through it still reads nothing outside the root.
  symlinkSync("/etc", path.join(fed.ukdfRoot, "raw", "escape"));
  const escaping = signObjectUrl({ baseUrl: base, rse: "UKDF_POSIX", path: "raw/escape/passwd", expiresAt: Date.now() + 60_000, key });
  const res = await fetch(escaping);
  const body = await res.text();
  expect(res.status).toBe(403);
  expect(JSON.parse(body).code).toBe("PATH_OUTSIDE_ROOT");
  expect(body).not.toMatch(/root:/);
  unlinkSync(path.join(fed.ukdfRoot, "raw", "escape"));
});

it("removes the objects when the rule that kept them is deleted", async () => {
  for (const id of ukdfRules) await gw(`mutation($id: String!) { deleteRule(id: $id) }`, { id });
  const files = [...SMALL, BIG].map((name) => path.join(fed.ukdfRoot, deterministicPath("raw", name)));
  const ukdfReplicas = async () =>
    (await gw(`query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { replicas { rse { name } } } }`, { r: [...SMALL, BIG].map((name) => ({ scope: "raw", name })) })).didsByRefs.filter(
      (d: any) => d.replicas.some((r: any) => r.rse.name === "UKDF_POSIX"),
    ).length;
  await waitFor("the UKDF replicas gone from the catalog", async () => (await ukdfReplicas()) === 0, { timeoutMs: 60_000 });
  expect(files.filter((f) => existsSync(f))).toEqual([]);
  // The other facilities keep theirs.
  expect(await storeOf("FrDF").stat(deterministicPath("raw", SMALL[0]))).not.toBeNull();
  // UKDF's Butler forgot the raw whose file its agent deleted; USDF's keeps it.
  await waitFor("UKDF's raw removed from its Butler", async () => {
    const d = await gw(`query($n: String!) { did(scope: "raw", name: $n) { replicas { facilityCode } } ukdf: facility(code: "UKDF") { datasets(datasetType: "raw") { totalCount } }
      usdf: facility(code: "USDF") { datasets(datasetType: "raw") { totalCount } } }`, { n: SMALL[0] });
    return d.ukdf.datasets.totalCount === 0 && d.usdf.datasets.totalCount === 1;
  }, { timeoutMs: 20_000 });
  // Nothing else is left in the root but empty folders and no temporary files of finished copies.
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  expect(walk(fed.ukdfRoot).filter((f) => !f.endsWith(".part"))).toEqual([]);
});
