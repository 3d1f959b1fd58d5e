import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { checksumsOf } from "../../lib/checksum";
import { writeFitsFile } from "../../lib/fits-header";
import type { StorageDriver } from "../../lib/storage/driver";
import { lsstCamRawHeader } from "../../subgraphs/facility/instrument/lsstcam-raw-header";
import { deterministicPath } from "../../subgraphs/replicas/replica";
import { Code, DataFederation, startDataFederation } from "../support/data-federation";
import { graphql, ok } from "../support/graphql-client";
import type { ServiceProcess } from "../support/processes";
import { waitFor } from "../support/wait-for";

/**
 * Campaign removal (subgraphs/replicas/removal.ts) across real processes: the catalog, four
 * facilities with their Butler registries, the gateway, the agents and two S3-protocol servers
 * and a filesystem root. A campaign's intermediate products (postISRCCD of five LSSTCam
 * detectors, ingested at USDF, FrDF and UKDF from their DatasetRefs) are retired by run: nothing
 * is left behind (objects, replicas, Butler datasets, emptied runs, chain links) and nothing
 * protected is touched (a locked rule, another rule, a file attached to a kept dataset); a dry
 * run writes nothing; a facility down during the removal finishes when it comes back; a rule
 * added during a removal wins; a removal can be cancelled; DIDs past their lifetime go too.
 */
jest.setTimeout(300_000);

let fed: DataFederation;
const agents = new Map<Code, ServiceProcess>();
const RAW_DATASET = "LSSTCam/raw/20250601";
const DETECTORS = [90, 91, 92, 93, 94, 95, 96, 97, 98];
const R1 = "u/campaign/DM-9999/isr";
const R2 = "u/campaign/DM-9999/isr-extra";
const CHAIN = "u/campaign/DM-9999";
let exposure: number;

const gw = (query: string, variables?: Record<string, unknown>, token = fed.admin) => ok(fed.gatewayUrl, query, variables, token);
const rawName = (det: number) => `${RAW_DATASET}/MC_O_20250601_000007/MC_O_20250601_000007_${["R22_S00", "R22_S01", "R22_S02", "R22_S10", "R22_S11", "R22_S12", "R22_S20", "R22_S21", "R22_S22"][det - 90]}.fits`;
const product = (det: number) => `DM-9999/postISRCCD/postISRCCD_LSSTCam_${det}.fits`;

const storeOf = (code: Code): StorageDriver => fed.storeOf(code);

async function exists(code: Code, scope: string, name: string): Promise<boolean> {
  try {
    const stream = await storeOf(code).read(deterministicPath(scope, name));
    for await (const _ of stream) break;
    (stream as Readable).destroy?.();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "OBJECT_NOT_FOUND") return false;
    throw err;
  }
}

async function addRule(scope: string, name: string, rse: string, extra: Record<string, unknown> = {}, token = fed.admin): Promise<string> {
  return (await gw(`mutation($i: AddRuleInput!) { addRule(input: $i) { id } }`, { i: { did: { scope, name }, rseExpression: rse, ...extra } }, token)).addRule.id;
}

async function rulesOk(ids: string[]): Promise<boolean> {
  const states = await Promise.all(ids.map(async (id) => (await gw(`query($id: String!) { rule(id: $id) { state error } }`, { id })).rule));
  const stuck = states.find((s) => s.state === "STUCK");
  if (stuck) throw new Error(`a rule is STUCK: ${stuck.error}`);
  return states.every((s) => s.state === "OK");
}

async function replicaRses(scope: string, name: string): Promise<string[]> {
  const d = await gw(`query($s: String!, $n: String!) { did(scope: $s, name: $n) { replicas { rse { name } state } } }`, { s: scope, n: name });
  return d.did.replicas.map((r: any) => r.rse.name).sort();
}

async function datasetsIn(code: Code, runs: string[]): Promise<number> {
  const q = await gw(`query($f: String!, $c: [String!]) { facility(code: $f) { collections(pattern: $c) { name } } }`, { f: code, c: runs });
  const present = q.facility.collections.map((c: any) => c.name);
  if (!present.length) return 0;
  const d = await gw(`query($f: String!, $c: [String!]) { facility(code: $f) { datasets(datasetType: "postISRCCD", collections: $c) { totalCount } } }`, { f: code, c: present });
  return d.facility.datasets.totalCount;
}

async function collectionNames(code: Code, pattern: string): Promise<string[]> {
  const q = await gw(`query($f: String!, $c: [String!]) { facility(code: $f) { collections(pattern: $c) { name type children } } }`, { f: code, c: [pattern] });
  return q.facility.collections.map((c: any) => `${c.name}:${c.type}${c.children.length ? `[${c.children.join(",")}]` : ""}`).sort();
}

/** Registers a campaign's product at USDF (where it was made): the object, its DID with Rubin's Butler metadata, the replica. */
async function putProducts(dets: number[], run: string, dataset: string): Promise<void> {
  const usdf = storeOf("USDF");
  const dids = [];
  for (const det of dets) {
    const bytes = Buffer.from(`postISRCCD of detector ${det} in ${run}: ${randomUUID()}`.repeat(200));
    await usdf.write(deterministicPath("drp", product(det)), Readable.from([bytes]), { bytes: bytes.length });
    const ref = {
      id: randomUUID(),
      datasetType: { name: "postISRCCD", storageClass: "Exposure", dimensions: ["instrument", "detector", "exposure"] },
      dataId: { dataId: { instrument: "LSSTCam", detector: det, exposure } },
      run,
    };
    const c = checksumsOf(bytes);
    dids.push({ scope: "drp", name: product(det), type: "FILE", bytes: bytes.length, adler32: c.adler32, md5: c.md5, metadata: { rubin_butler: "data_product", rubin_sidecar: JSON.stringify(ref) } });
  }
  await gw(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: dids });
  await gw(`mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "USDF_S3", replicas: $r) { count } }`, { r: dets.map((d) => ({ scope: "drp", name: product(d) })) });
  // Made at USDF, so in USDF's Butler from the start (as the pipeline's own output, registered by Rubin's tools).
  const usdfAgent = await fed.token("usdf-pipeline", ["agent:USDF"]);
  const arrivals = dids.map((d) => ({ scope: "drp", name: d.name, rse: "USDF_S3", path: deterministicPath("drp", d.name), bytes: d.bytes, metadata: d.metadata }));
  const ingested = (await gw(`mutation($a: [ArrivalInput!]!) { recordArrivals(facility: "USDF", arrivals: $a) { state error { code message } } }`, { a: arrivals }, usdfAgent)).recordArrivals;
  expect(ingested.map((r: any) => r.error?.message ?? r.state)).toEqual(dets.map(() => "INGESTED"));
  await gw(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: [{ scope: "drp", name: dataset, type: "DATASET" }] }).catch(() => undefined);
  await gw(`mutation($d: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $d, children: $c) { count } }`, { d: { scope: "drp", name: dataset }, c: dets.map((d) => ({ scope: "drp", name: product(d) })) });
}

async function ingestedAt(code: Code, name: string): Promise<boolean> {
  const d = await gw(`query($n: String!) { did(scope: "drp", name: $n) { replicas { facilityCode ingest { state error { code message } } } } }`, { n: name });
  const r = d.did.replicas.find((x: any) => x.facilityCode === code);
  if (r?.ingest?.state === "FAILED") throw new Error(`${name} failed to ingest at ${code}: ${r.ingest.error?.code} ${r.ingest.error?.message}`);
  return r?.ingest?.state === "INGESTED";
}

async function removal(id: string) {
  return (
    await gw(
      `query($id: String!) { removal(id: $id) { id state requestedBy reason rulesRemoved
         perFacility { facility state resolved filesPlanned filesDeleted datasetsRemoved collectionsRemoved bytesFreed kept errors lastError }
         files(state: KEPT, first: 100) { nodes { scope name facility reason } } } }`,
      { id },
    )
  ).removal;
}

const part = (r: any, f: string) => r.perFacility.find((p: any) => p.facility === f);

beforeAll(async () => {
  fed = await startDataFederation("removal", { leaseSeconds: 10, backoffSeconds: 1, maxAttempts: 3 });
  await gw(`mutation { a: addScope(name: "raw") { name } b: addScope(name: "drp") { name } }`);
  // One LSSTCam exposure's raws (real camera headers), at the Summit, replicated to USDF, FrDF and UKDF and ingested there.
  const summit = storeOf("SUMMIT");
  const raws = [];
  for (const det of DETECTORS) {
    const bytes = writeFitsFile(lsstCamRawHeader({ begin: new Date("2025-06-02T03:10:00Z"), seqNum: 7, detector: det, ra: 42.3, dec: -53.9 }), { width: 16, height: 16 });
    await summit.write(deterministicPath("raw", rawName(det)), Readable.from([bytes]), { bytes: bytes.length });
    const c = checksumsOf(bytes);
    raws.push({ scope: "raw", name: rawName(det), type: "FILE", bytes: bytes.length, adler32: c.adler32, md5: c.md5 });
  }
  await gw(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, { i: [...raws, { scope: "raw", name: RAW_DATASET, type: "DATASET" }] });
  await gw(`mutation($d: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $d, children: $c) { count } }`, { d: { scope: "raw", name: RAW_DATASET }, c: raws.map((r) => ({ scope: "raw", name: r.name })) });
  await gw(`mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "SUMMIT_S3", replicas: $r) { count } }`, { r: raws.map((r) => ({ scope: "raw", name: r.name })) });
  for (const code of ["SUMMIT", "USDF", "FrDF", "UKDF"] as Code[]) agents.set(code, await fed.startAgent(code));
  const rawRules = await Promise.all(["USDF_S3", "FRDF_S3", "UKDF_POSIX"].map((rse) => addRule("raw", RAW_DATASET, rse)));
  await waitFor("the raws at USDF, FrDF and UKDF", () => rulesOk(rawRules), { timeoutMs: 120_000 });
  await waitFor("the raws ingested at UKDF", async () => {
    const d = await gw(`query($n: String!) { did(scope: "raw", name: $n) { replicas { facilityCode ingest { state } } } }`, { n: rawName(98) });
    return d.did.replicas.filter((r: any) => r.ingest?.state === "INGESTED").length === 3;
  }, { timeoutMs: 60_000 });
  const ds = await gw(`{ facility(code: "USDF") { datasets(datasetType: "raw", collections: ["LSSTCam/raw/all"], first: 1) { edges { node { dataId } } } } }`);
  exposure = ds.facility.datasets.edges[0].node.dataId.exposure;

  // The campaign's products: R1 holds detectors 90, 91, 94; R2 holds 92 and 93 (made at USDF).
  await putProducts([90, 91, 94], R1, "DM-9999/isr");
  await putProducts([92, 93], R2, "DM-9999/isr-extra");
  // A kept dataset shares detector 94's file (a validation set that stays), with a file of its own.
  await putProducts([95], "u/campaign/DM-9999/validation", "DM-9999/validation");
  await gw(`mutation($d: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $d, children: $c) { count } }`, {
    d: { scope: "drp", name: "DM-9999/validation" },
    c: [{ scope: "drp", name: product(94) }],
  });
  // Another campaign's container holds the isr-extra dataset and the validation set, with a rule to FrDF.
  await gw(`mutation { addDids(input: [{scope: "drp", name: "DRP/inputs", type: CONTAINER}]) { count } }`);
  await gw(`mutation { attachDids(parent: {scope: "drp", name: "DRP/inputs"}, children: [{scope: "drp", name: "DM-9999/isr-extra"}, {scope: "drp", name: "DM-9999/validation"}]) { count } }`);
  const rules = [
    ...(await Promise.all(["USDF_S3", "FRDF_S3", "UKDF_POSIX"].map((rse) => addRule("drp", "DM-9999/isr", rse)))),
    ...(await Promise.all(["USDF_S3", "UKDF_POSIX"].map((rse) => addRule("drp", "DM-9999/isr-extra", rse)))),
    await addRule("drp", "DRP/inputs", "FRDF_S3"),
    await addRule("drp", "DM-9999/validation", "USDF_S3"),
    // detector 91's file is locked at UKDF (a hold by another team).
    await addRule("drp", product(91), "UKDF_POSIX", { locked: true }),
  ];
  await waitFor("the products at their facilities", () => rulesOk(rules), { timeoutMs: 120_000 });
  await waitFor("the products ingested", async () => {
    for (const code of ["USDF", "FrDF", "UKDF"] as Code[]) for (const det of [90, 91, 92, 93, 94]) if (!(await ingestedAt(code, product(det)))) return false;
    return true;
  }, { timeoutMs: 90_000 });
  // At USDF the campaign's runs sit in a CHAINED collection.
  const usdfAgent = await fed.token("usdf-admin", ["butler:admin"]);
  await gw(`mutation { registerCollection(facility: "USDF", name: "${CHAIN}", type: CHAINED) { name } }`, undefined, usdfAgent);
  await gw(`mutation { setCollectionChain(facility: "USDF", parent: "${CHAIN}", children: ["${R1}", "${R2}"]) { name } }`, undefined, usdfAgent);
}, 420_000);

afterAll(async () => {
  await fed?.close();
});

describe("retiring a campaign's runs", () => {
  let before: { events: number; rules: number };
  let id: string;

  it("a dry run says, per facility, what would be deleted and kept (and why), and writes nothing", async () => {
    const count = async () => ({
      events: (await gw(`{ events(first: 1) { totalCount } }`)).events.totalCount,
      rules: (await gw(`{ rules(first: 1) { totalCount } }`)).rules.totalCount,
    });
    before = await count();
    const dry = (
      await gw(
        `mutation($i: MarkObsoleteInput!) { markObsolete(input: $i) { id state dryRun reason rulesRemoved
           perFacility { facility filesPlanned filesDeleted datasetsRemoved bytesFreed kept errors }
           files(state: KEPT) { nodes { name facility reason } } } }`,
        { i: { runs: [R1, R2], reason: "DM-9999 superseded by DM-10000", dryRun: true } },
      )
    ).markObsolete;
    expect(dry).toMatchObject({ id: null, dryRun: true, state: "PLANNED" });
    expect(dry.rulesRemoved).toBe(5);
    const counts = Object.fromEntries(dry.perFacility.map((p: any) => [p.facility, [p.filesPlanned, p.kept, p.datasetsRemoved]]));
    expect(counts).toEqual({ SUMMIT: [0, 0, 0], USDF: [4, 1, 4], FrDF: [2, 3, 2], UKDF: [3, 2, 3] });
    const kept = dry.files.nodes.map((f: any) => `${f.facility} ${f.name.split("_").pop()} ${f.reason.replace(/[0-9a-f-]{36}/, "<rule>")}`).sort();
    expect(kept).toEqual([
      "FrDF 92.fits wanted by rule <rule>",
      "FrDF 93.fits wanted by rule <rule>",
      "FrDF 94.fits attached to drp:DM-9999/validation, which is kept: retire it too, or detach the file",
      "UKDF 91.fits protected by locked rule <rule>",
      "UKDF 94.fits attached to drp:DM-9999/validation, which is kept: retire it too, or detach the file",
      "USDF 94.fits attached to drp:DM-9999/validation, which is kept: retire it too, or detach the file",
    ]);
    expect(await count()).toEqual(before);
    expect((await gw(`{ removals { totalCount } }`)).removals.totalCount).toBe(0);
    expect(await replicaRses("drp", product(90))).toEqual(["FRDF_S3", "UKDF_POSIX", "USDF_S3"]);
  });

  it("runs with UKDF down: USDF and FrDF delete what is planned, UKDF waits and finishes when it comes back", async () => {
    await agents.get("UKDF")!.stop();
    await fed.stopFacility("UKDF");
    const alice = await fed.token("campaign-bot", ["catalog:remove"]);
    id = (await gw(`mutation($i: MarkObsoleteInput!) { markObsolete(input: $i) { id state } }`, { i: { runs: [R1, R2], reason: "DM-9999 superseded by DM-10000" } }, alice)).markObsolete.id;
    const started = await removal(id);
    expect(started).toMatchObject({ state: "RUNNING", requestedBy: "campaign-bot", reason: "DM-9999 superseded by DM-10000", rulesRemoved: 5 });
    expect(part(started, "UKDF")).toMatchObject({ resolved: false, state: "DELETING" });
    expect(part(started, "UKDF").errors).toBeGreaterThan(0);
    await waitFor("USDF's and FrDF's planned copies deleted", async () => {
      const r = await removal(id);
      return part(r, "USDF").filesDeleted === 4 && part(r, "FrDF").filesDeleted === 2;
    }, { timeoutMs: 60_000 });
    // USDF and FrDF wait for UKDF to say what its runs hold before finishing.
    expect((await removal(id)).state).toBe("RUNNING");
    await fed.startFacility("UKDF");
    agents.set("UKDF", await fed.startAgent("UKDF", "agent-ukdf-2"));
    await waitFor("the removal DONE", async () => (await removal(id)).state === "DONE", { timeoutMs: 90_000 });
  });

  it("left nothing behind: objects, replicas, Butler datasets, the runs it emptied and their chain links", async () => {
    const r = await removal(id);
    const counts = Object.fromEntries(r.perFacility.map((p: any) => [p.facility, [p.state, p.filesPlanned, p.filesDeleted, p.kept, p.datasetsRemoved]]));
    expect(counts).toEqual({ SUMMIT: ["DONE", 0, 0, 0, 0], USDF: ["DONE", 4, 4, 1, 4], FrDF: ["DONE", 2, 2, 3, 2], UKDF: ["DONE", 3, 3, 2, 3] });
    expect(part(r, "USDF").bytesFreed).toBeGreaterThan(0);
    for (const [code, dets] of [["USDF", [90, 91, 92, 93]], ["FrDF", [90, 91]], ["UKDF", [90, 92, 93]]] as const) {
      for (const det of dets) expect([code, det, await exists(code, "drp", product(det))]).toEqual([code, det, false]);
    }
    expect(await replicaRses("drp", product(90))).toEqual([]);
    expect(await replicaRses("drp", product(93))).toEqual(["FRDF_S3"]);
    // R2 emptied at USDF and UKDF (gone, and from USDF's chain); kept at FrDF with its two datasets; R1 keeps detector 94 everywhere (91 too at UKDF).
    expect(await collectionNames("USDF", "u/campaign/*")).toEqual([`${CHAIN}:CHAINED[${R1}]`, `${R1}:RUN`, "u/campaign/DM-9999/validation:RUN"].sort());
    expect(await collectionNames("UKDF", `${R2}`)).toEqual([]);
    expect(await collectionNames("FrDF", `${R2}`)).toEqual([`${R2}:RUN`]);
    expect([await datasetsIn("USDF", [R1, R2]), await datasetsIn("FrDF", [R1, R2]), await datasetsIn("UKDF", [R1, R2])]).toEqual([1, 3, 2]);
    const events = (await gw(`{ events(types: ["removal-requested", "removal-done"], first: 10) { nodes { type payload } } }`)).events.nodes;
    expect(events.find((e: any) => e.type === "removal-requested").payload).toMatchObject({ removal: id, requestedBy: "campaign-bot", reason: "DM-9999 superseded by DM-10000", runs: [R1, R2] });
    expect(events.some((e: any) => e.type === "removal-done" && e.payload.removal === id)).toBe(true);
  });

  it("touched nothing protected: the locked rule, the other campaign's rule, the kept dataset and their copies", async () => {
    expect(await exists("UKDF", "drp", product(91))).toBe(true);
    expect(await exists("FrDF", "drp", product(92))).toBe(true);
    for (const code of ["USDF", "FrDF", "UKDF"] as Code[]) expect(await exists(code, "drp", product(94))).toBe(true);
    expect(await replicaRses("drp", product(94))).toEqual(["FRDF_S3", "UKDF_POSIX", "USDF_S3"]);
    const left = (await gw(`{ rules(first: 100) { nodes { did { name } rseExpression locked } } }`)).rules.nodes
      .filter((r: any) => !r.did.name.startsWith("LSSTCam"))
      .map((r: any) => `${r.did.name} ${r.rseExpression}${r.locked ? " locked" : ""}`)
      .sort();
    expect(left).toEqual(["DM-9999/postISRCCD/postISRCCD_LSSTCam_91.fits UKDF_POSIX locked", "DM-9999/validation USDF_S3", "DRP/inputs FRDF_S3"]);
    // Retired everywhere: the removed files' DIDs are obsolete (subscriptions no longer match them); the kept ones are not.
    const flags = await gw(`{ a: did(scope: "drp", name: "${product(90)}") { obsolete } b: did(scope: "drp", name: "${product(94)}") { obsolete } c: did(scope: "drp", name: "DM-9999/isr") { obsolete } }`);
    expect([flags.a.obsolete, flags.b.obsolete, flags.c.obsolete]).toEqual([true, false, true]);
  });
});

describe("a removal under way", () => {
  it("loses to a rule added meanwhile: the copy not yet deleted is kept, and the rule's copy re-replicated from it", async () => {
    const run = "u/campaign/DM-9999/late";
    await putProducts([96], run, "DM-9999/late");
    const rules = [await addRule("drp", "DM-9999/late", "USDF_S3"), await addRule("drp", "DM-9999/late", "FRDF_S3")];
    await waitFor("detector 96's product at USDF and FrDF", () => rulesOk(rules), { timeoutMs: 60_000 });
    await waitFor("ingested at FrDF", () => ingestedAt("FrDF", product(96)), { timeoutMs: 30_000 });
    await agents.get("FrDF")!.stop();
    const id = (await gw(`mutation { markObsolete(input: {runs: ["${run}"], reason: "late products"}) { id } }`)).markObsolete.id;
    await waitFor("USDF's copy deleted", async () => part(await removal(id), "USDF").filesDeleted === 1, { timeoutMs: 60_000 });
    expect(await exists("USDF", "drp", product(96))).toBe(false);
    // Someone still needs it at USDF: the rule wins.
    const bob = await fed.token("bob", ["catalog:write"]);
    const wanted = await addRule("drp", product(96), "USDF_S3", {}, bob);
    agents.set("FrDF", await fed.startAgent("FrDF", "agent-frdf-2"));
    await waitFor("the rule OK, re-replicated from FrDF", () => rulesOk([wanted]), { timeoutMs: 60_000 });
    await waitFor("the removal DONE", async () => (await removal(id)).state === "DONE", { timeoutMs: 60_000 });
    expect(await exists("FrDF", "drp", product(96))).toBe(true);
    expect(await exists("USDF", "drp", product(96))).toBe(true);
    const r = await removal(id);
    expect(part(r, "FrDF")).toMatchObject({ filesPlanned: 0, kept: 1 });
    expect(r.files.nodes.map((f: any) => f.reason)).toEqual([`wanted by rule ${wanted}, added during the removal`]);
    const flags = await gw(`{ did(scope: "drp", name: "${product(96)}") { obsolete } }`);
    expect(flags.did.obsolete).toBe(false);
  });

  it("can be cancelled while files are pending: what no agent took is kept", async () => {
    const run = "u/campaign/DM-9999/cancelled";
    await putProducts([97], run, "DM-9999/cancelled");
    const rules = [await addRule("drp", "DM-9999/cancelled", "FRDF_S3")];
    await waitFor("detector 97's product at FrDF", () => rulesOk(rules), { timeoutMs: 60_000 });
    await agents.get("FrDF")!.stop();
    await agents.get("USDF")!.stop();
    const id = (await gw(`mutation { markObsolete(input: {dids: [{scope: "drp", name: "DM-9999/cancelled"}], reason: "mistake"}) { id } }`)).markObsolete.id;
    const cancelled = (await gw(`mutation($id: String!) { cancelRemoval(id: $id) { state perFacility { facility state filesPlanned } } }`, { id })).cancelRemoval;
    expect(cancelled.state).toBe("CANCELLED");
    agents.set("FrDF", await fed.startAgent("FrDF", "agent-frdf-3"));
    agents.set("USDF", await fed.startAgent("USDF", "agent-usdf-2"));
    // Both agents run a few deletion rounds; the copies stay.
    const rounds = async (agent: ServiceProcess) => {
      const text = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
      return Number(/dbb_loop_rounds_total\{loop="agent-deletions",outcome="ok"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    await waitFor("three deletion rounds of each agent", async () => (await rounds(agents.get("FrDF")!)) >= 3 && (await rounds(agents.get("USDF")!)) >= 3, { timeoutMs: 30_000 });
    expect(await exists("FrDF", "drp", product(97))).toBe(true);
    expect(await exists("USDF", "drp", product(97))).toBe(true);
    const again = await graphql(fed.gatewayUrl, `mutation($id: String!) { cancelRemoval(id: $id) { state } }`, { id }, fed.admin);
    expect(again.errors ?? []).toEqual([]);
    const done = (await gw(`{ removals(state: DONE, first: 1) { nodes { id } } }`)).removals.nodes[0].id;
    const refused = await graphql(fed.gatewayUrl, `mutation($id: String!) { cancelRemoval(id: $id) { state } }`, { id: done }, fed.admin);
    expect(refused.errors?.[0]?.extensions?.code).toBe("REMOVAL_FINISHED");
  });

  it("takes DIDs past their lifetime the same way (the judge's undertaker)", async () => {
    await putProducts([98], "u/campaign/DM-9999/short-lived", "DM-9999/short-lived");
    await gw(`mutation { setDidLifetime(scope: "drp", name: "DM-9999/short-lived", lifetime: 0) { expiredAt } }`);
    const r = await waitFor("a removal of the expired dataset DONE", async () => {
      const n = (await gw(`{ removals(first: 10) { nodes { id origin state requestedBy } } }`)).removals.nodes.find((x: any) => x.origin === "expiry");
      return n?.state === "DONE" ? n : null;
    }, { timeoutMs: 60_000 });
    expect(r.requestedBy).toBe("judge");
    expect(await exists("USDF", "drp", product(98))).toBe(false);
    expect(await replicaRses("drp", product(98))).toEqual([]);
  });
});

describe("bad requests", () => {
  it("are refused with codes: nothing named, no reason, an unknown DID or facility, no scope", async () => {
    const ask = async (input: Record<string, unknown>, token: string | undefined = fed.admin) =>
      (await graphql(fed.gatewayUrl, `mutation($i: MarkObsoleteInput!) { markObsolete(input: $i) { id } }`, { i: input }, token)).errors?.[0]?.extensions?.code;
    expect(await ask({ reason: "nothing" })).toBe("INVALID_INPUT");
    expect(await ask({ runs: [R1], reason: "  " })).toBe("INVALID_INPUT");
    expect(await ask({ dids: [{ scope: "drp", name: "no/such/file" }], reason: "x" })).toBe("DID_NOT_FOUND");
    expect(await ask({ runs: [R1], facilities: ["NOWHERE"], reason: "x" })).toBe("FACILITY_NOT_FOUND");
    expect(await ask({ runs: [R1], reason: "x" }, await fed.token("writer", ["catalog:write"]))).toBe("FORBIDDEN");
    const missing = await graphql(fed.gatewayUrl, `{ removal(id: "6f1c3a58-1c1d-4a0e-9a51-3b3f1c2a7d10") { id } }`);
    expect(missing.errors?.[0]?.extensions?.code).toBe("REMOVAL_NOT_FOUND");
  });
});
