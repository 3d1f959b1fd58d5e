import "reflect-metadata";
import { buildSchema, Kind, OperationDefinitionNode, parse } from "graphql";
import { readFitsHeader, writeFitsFile } from "../../lib/fits-header";
import { listSizesOf, measure } from "../../gateway/limits";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { GatewayService, startGateway } from "../../gateway/server";
import { LIVE_QUERY, RETRY_MUTATION, SLOW_QUERY, SLOW_VARIABLES } from "../../gateway/status-page/queries";
import { composeSupergraph } from "../../gateway/supergraph";
import { healpixIndex } from "../../subgraphs/facility/sky/healpix";
import { fromLonLatDegrees } from "../../subgraphs/facility/sky/vector";
import { drainSubscriptions } from "../../subgraphs/replicas/subscription";
import { startTestCatalog, TestCatalog } from "../support/catalog";
import { startTestFacility, TestFacility } from "../support/facility";
import { graphql, ok } from "../support/graphql-client";
import { headerCards, obsLsstHeader } from "../support/obs-lsst-headers";

/**
 * The status page's queries (gateway/status-page/queries.ts) through the real gateway over a
 * catalog and two facilities, on a state prepared through the API as the agents would make it:
 * raws at USDF, a sky-footprint policy sending some to UKDF, UKDF's agent copying, failing and
 * giving up on some, UKDF ingesting what arrived. Each aggregate answers the numbers the state
 * implies; the queries fit the gateway's limits; their SQL statements do not grow with the rows;
 * a facility that stops answering nulls its own parts only.
 */
let cat: TestCatalog;
let usdf: TestFacility;
let ukdf: TestFacility;
let gateway: GatewayService;
let url: string;
let agentToken: string;
let ukdfClosed = false;

/** The UK footprint of the demo's policies (cli/demo/policies.yaml): a polygon across RA 0. */
const UK_FOOTPRINT = { polygon: [[300, -70], [60, -70], [60, -32], [0, -30], [300, -32]] };
/** Pointings: four inside the footprint, four outside; two detectors (files) each. */
const INSIDE = [[10, -50], [350, -45], [30, -60], [5, -40]];
const OUTSIDE = [[120, -20], [200, 10], [10, -10], [60, 30]];

interface File {
  name: string;
  bytes: number;
  adler32: string;
  ra: number;
  dec: number;
  inside: boolean;
}

const fileOf = (i: number, [ra, dec]: number[], inside: boolean, detector: number): File => ({
  name: `LSSTCam/raw/20250601/MC_O_20250601_${String(i + 1).padStart(6, "0")}/MC_O_20250601_${String(i + 1).padStart(6, "0")}_R22_S${detector}.fits`,
  bytes: 1_000_000 * (i + 1) + detector,
  adler32: (0x10000000 + i * 16 + detector).toString(16),
  ra,
  dec,
  inside,
});
const files: File[] = [...INSIDE.map((p, i) => [p, i, true] as const), ...OUTSIDE.map((p, i) => [p, i + INSIDE.length, false] as const)].flatMap(
  ([p, i, inside]) => [fileOf(i, p as number[], inside, 0), fileOf(i, p as number[], inside, 1)],
);

const CLAIM = `mutation($n: Int!) { claimTransfers(facility: "UKDF", limit: $n) { id lease attempts file { name } } }`;
const REPORT = `mutation($id: String!, $lease: String!, $o: TransferOutcomeInput!) { reportTransfer(id: $id, lease: $lease, outcome: $o) { state attempts } }`;
const claim = async (n: number) => (await cat.ok(CLAIM, { n }, agentToken)).claimTransfers as Array<{ id: string; lease: string; attempts: number; file: { name: string } }>;
const fileNamed = (name: string) => files.find((f) => f.name === name)!;
const done = (t: { id: string; lease: string; file: { name: string } }) =>
  cat.ok(REPORT, { id: t.id, lease: t.lease, o: { outcome: "DONE", bytes: fileNamed(t.file.name).bytes, adler32: fileNamed(t.file.name).adler32 } }, agentToken);
const fail = (t: { id: string; lease: string }) =>
  cat.ok(REPORT, { id: t.id, lease: t.lease, o: { outcome: "FAILED", error: "connection reset by peer", errorCode: "NETWORK" } }, agentToken);

const live = () => graphql(url, LIVE_QUERY);
const slow = () => graphql(url, SLOW_QUERY, SLOW_VARIABLES);

/** Statements each service sent while `run` ran. */
async function statementsOf(run: () => Promise<unknown>) {
  const services = { catalog: cat.service.database.statements, USDF: usdf.service.database.statements, UKDF: ukdf.service.database.statements };
  const before = Object.fromEntries(Object.entries(services).map(([k, s]) => [k, s.count]));
  await run();
  return Object.fromEntries(Object.entries(services).map(([k, s]) => [k, s.count - before[k]])) as Record<keyof typeof services, number>;
}

/** A real LSSTCam raw header (obs_lsst's test data) as the agent sends it: the header's bytes as text. */
function rawHeaderText(patch: Record<string, unknown> = {}) {
  const fits = writeFitsFile(headerCards({ ...obsLsstHeader("lsstCam-MC_O_20250415_000060_R01_S01.yaml"), ...patch } as any), { width: 8, height: 8 });
  return fits.subarray(0, readFitsHeader(fits).byteLength).toString("latin1");
}

const doneNames: string[] = [];
let stuckName = "";
let retryingName = "";
let arrivals: Array<{ name: string; state: string; error: { code: string } | null }> = [];

beforeAll(async () => {
  // Two attempts, retried at once: a copy that fails twice is FAILED and its rule STUCK.
  cat = await startTestCatalog("status_queries", { DBB_TRANSFER_MAX_ATTEMPTS: "2", DBB_TRANSFER_BACKOFF_SECONDS: "0" });
  [usdf, ukdf] = await Promise.all([startTestFacility("status_queries_usdf", "USDF"), startTestFacility("status_queries_ukdf", "UKDF")]);
  gateway = await startGateway(
    {
      ...cat.config,
      gateway: { ...cat.config.gateway, catalog: cat.url, facilities: [{ code: "USDF", url: usdf.url }, { code: "UKDF", url: ukdf.url }], facilityTimeoutMs: 120000 },
    },
    { port: 0, sdl: await localSubgraphSdl() },
  );
  url = gateway.url;
  agentToken = await cat.token("agent-ukdf", ["agent:UKDF"]);
  const db = cat.service.database.dataSource.manager;

  await cat.ok(`mutation { addScope(name: "raw") { name } }`);
  for (const [name, facility] of [["USDF_DISK", "USDF"], ["UKDF_DISK", "UKDF"]]) {
    await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name, facility, kind: "POSIX", protocol: { root: `/data/${facility}` } } });
  }
  const ADD_SUB = `mutation($i: AddSubscriptionInput!) { addSubscription(input: $i) { name } }`;
  await cat.ok(ADD_SUB, { i: { name: "raw-to-usdf", filter: { scopes: ["raw"], didTypes: ["FILE"], metadata: { datasetType: "raw" } }, rules: [{ rseExpression: "USDF_DISK" }] } });
  await cat.ok(ADD_SUB, {
    i: { name: "raw-ukdf-footprint", filter: { scopes: ["raw"], didTypes: ["FILE"], metadata: { datasetType: "raw" }, sky: UK_FOOTPRINT }, rules: [{ rseExpression: "UKDF_DISK", sourceReplicaExpression: "USDF_DISK" }] },
  });
  await cat.ok(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, {
    i: files.map((f) => ({ scope: "raw", name: f.name, type: "FILE", bytes: f.bytes, adler32: f.adler32, metadata: { datasetType: "raw", instrument: "LSSTCam", ra: f.ra, dec: f.dec } })),
  });
  await cat.ok(`mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "USDF_DISK", replicas: $r) { count } }`, { r: files.map((f) => ({ scope: "raw", name: f.name })) });
  await drainSubscriptions(db, { batchSize: 5000 });

  // UKDF's agent: of the 8 copies, 3 DONE, 2 fail once; then one of those fails again (FAILED, its
  // rule STUCK), one more fails once (waiting to retry), 3 stay claimed (active).
  const first = await claim(5);
  expect(first).toHaveLength(5);
  for (const t of first.slice(0, 3)) {
    await done(t);
    doneNames.push(t.file.name);
  }
  for (const t of first.slice(3)) await fail(t);
  const second = await claim(10);
  expect(second).toHaveLength(5);
  const again = second.filter((t) => t.attempts === 1);
  const fresh = second.filter((t) => t.attempts === 0);
  await fail(again[0]);
  stuckName = again[0].file.name;
  await fail(fresh[0]);
  retryingName = fresh[0].file.name;

  // What arrived at UKDF: a real raw header (ingested), a file that is no FITS file under a FITS
  // name (BAD_FITS_HEADER), a file with nothing to ingest from (not a Butler dataset).
  const RECORD = `mutation($a: [ArrivalInput!]!) { recordArrivals(facility: "UKDF", arrivals: $a) { name state error { code } } }`;
  const arrival = (name: string, extra: Record<string, unknown>) => ({ scope: "raw", name, rse: "UKDF_DISK", path: name, bytes: fileNamed(name).bytes, ...extra });
  arrivals = (
    await ukdf.ok(RECORD, { a: [arrival(doneNames[0], { header: rawHeaderText() }), arrival(doneNames[1], { header: "this is not a FITS header" }), arrival(doneNames[2], {})] })
  ).recordArrivals;

  // Each test service signs with its own key: the facilities' own mutations go to them directly.
  await ukdf.ok(
    `mutation($s: AgentStatusInput!) { reportAgentStatus(facility: "UKDF", status: $s) { id } }`,
    {
      s: {
        id: "agent-ukdf@ukdf-1:4242", host: "ukdf-1", pid: 4242, version: "test", streams: 8, activeTransfers: 3, bytesPerSecond: 2.5e6, bytesTotal: 3e6,
        transfersDone: 3, transfersFailed: 3, deletionsDone: 0, recentErrors: [{ code: "NETWORK", message: "connection reset by peer", at: new Date().toISOString() }], reportSeconds: 10,
      },
    },
  );
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cat?.close(), usdf?.close(), ukdfClosed ? undefined : ukdf?.close()]);
});

it("the prepared state is what the test says: 3 copies DONE, 1 FAILED for good, 1 waiting to retry, 3 claimed; arrivals ingested, failed, not a dataset", () => {
  expect(doneNames).toHaveLength(3);
  expect(stuckName).not.toBe("");
  expect(arrivals.map((a) => [a.state, a.error?.code ?? null])).toEqual([
    ["INGESTED", null],
    ["FAILED", "BAD_FITS_HEADER"],
    ["NOT_A_DATASET", null],
  ]);
});

it("LIVE: each facility's queue, agents and ingest; the STUCK rule with its error; the REPLICATING rules oldest first", async () => {
  const res = await live();
  expect(res.errors).toBeUndefined();
  const byCode = Object.fromEntries(res.data.facilities.map((f: any) => [f.code, f]));
  expect(Object.keys(byCode).sort()).toEqual(["UKDF", "USDF"]);
  const doneBytes = doneNames.reduce((n, name) => n + fileNamed(name).bytes, 0);
  expect(byCode.UKDF.transferCounts).toEqual({ hours: 24, queued: 0, retrying: 1, active: 3, done: 3, bytes: doneBytes, failed: 1 });
  expect(byCode.USDF.transferCounts).toEqual({ hours: 24, queued: 0, retrying: 0, active: 0, done: 0, bytes: 0, failed: 0 });
  expect(byCode.UKDF.agents.map((a: any) => [a.id, a.state, a.bytesPerSecond])).toEqual([["agent-ukdf@ukdf-1:4242", "ALIVE", 2.5e6]]);
  expect(byCode.USDF.agents).toEqual([]);
  expect(byCode.UKDF.ingestSummary).toMatchObject({ hours: 24, pending: 0, failed: 1, givenUp: 0, ingested: 1, notADataset: 1, failures: [{ code: "BAD_FITS_HEADER", count: 1 }] });
  expect(byCode.UKDF.ingestSummary.oldestOpen).not.toBeNull();
  expect(byCode.USDF.ingestSummary).toEqual({ hours: 24, pending: 0, failed: 0, givenUp: 0, ingested: 0, notADataset: 0, failures: [], oldestOpen: null });

  expect(res.data.stuck.totalCount).toBe(1);
  const [stuck] = res.data.stuck.nodes;
  expect(stuck).toMatchObject({ state: "STUCK", rseExpression: "UKDF_DISK", did: { scope: "raw", name: stuckName }, subscription: { name: "raw-ukdf-footprint" }, locksStuck: 1 });
  expect(stuck.error).toMatch(/connection reset by peer/);
  // 8 rules to UKDF: 3 OK, 1 STUCK, 4 still REPLICATING (3 claimed, 1 waiting to retry), oldest first.
  expect(res.data.replicating.totalCount).toBe(4);
  const created = res.data.replicating.nodes.map((r: any) => Date.parse(r.createdAt));
  expect(created).toEqual([...created].sort((a, b) => a - b));
  expect(res.data.replicating.nodes.map((r: any) => r.did.name)).toContain(retryingName);
});

it("SLOW: storage per RSE, progress per policy and target, attempts per link, the sky in HEALPix pixels by facility", async () => {
  const res = await slow();
  expect(res.errors).toBeUndefined();
  const rses = Object.fromEntries(res.data.facilities.flatMap((f: any) => f.rses.map((r: any) => [r.name, r.usage])));
  const sum = (names: string[]) => names.reduce((n, name) => n + fileNamed(name).bytes, 0);
  expect(rses.USDF_DISK).toEqual({ files: 16, bytes: sum(files.map((f) => f.name)), copyingFiles: 0, copyingBytes: 0 });
  // The 5 copies not DONE keep their COPYING replica, also the one that failed for good.
  const notDone = files.filter((f) => f.inside && !doneNames.includes(f.name)).map((f) => f.name);
  expect(rses.UKDF_DISK).toEqual({ files: 3, bytes: sum(doneNames), copyingFiles: 5, copyingBytes: sum(notDone) });

  const progress = Object.fromEntries(res.data.subscriptions.map((s: any) => [s.name, s.progress]));
  expect(progress["raw-to-usdf"]).toEqual([{ template: 0, rseExpression: "USDF_DISK", rules: 16, ok: 16, replicating: 0, stuck: 0, suspended: 0, locksOk: 16, locks: 16 }]);
  expect(progress["raw-ukdf-footprint"]).toEqual([{ template: 0, rseExpression: "UKDF_DISK", rules: 8, ok: 3, replicating: 4, stuck: 1, suspended: 0, locksOk: 3, locks: 8 }]);
  expect(res.data.subscriptions.find((s: any) => s.name === "raw-ukdf-footprint").filter.sky).toEqual(UK_FOOTPRINT);

  for (const window of [res.data.lastHour, res.data.lastDay]) {
    expect(window.links).toHaveLength(1);
    const [link] = window.links;
    // Every attempt counts: 3 DONE; 2 + 2 FAILED, each with the agent's reason.
    expect(link).toMatchObject({ source: "USDF", destination: "UKDF", done: 3, bytes: sum(doneNames), failed: 4, errors: [{ code: "NETWORK", count: 4 }] });
    expect(link.doneSeries).toHaveLength(window.buckets);
    expect(link.doneSeries.reduce((a: number, b: number) => a + b, 0)).toBe(3);
    expect(link.failedSeries.reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect(link.bytesSeries.reduce((a: number, b: number) => a + b, 0)).toBe(sum(doneNames));
    // The attempts were just now: in the last bucket (or the one before, at a bucket's edge).
    expect(link.doneSeries.slice(-2).reduce((a: number, b: number) => a + b, 0)).toBe(3);
    expect(Date.parse(window.until) - Date.parse(window.since)).toBe(window.buckets * window.bucketSeconds * 1000);
  }
  expect([res.data.lastHour.buckets, res.data.lastHour.bucketSeconds, res.data.lastDay.buckets, res.data.lastDay.bucketSeconds]).toEqual([12, 300, 24, 3600]);

  // The sky: each pointing's pixel, computed here from the positions, with its files and who holds them.
  const sky = res.data.sky;
  expect(sky).toMatchObject({ nside: 16, facilities: ["UKDF", "USDF"], files: 16, withoutPosition: 0 });
  const expected = new Map<number, { files: number; held: number[] }>();
  for (const f of files) {
    const pixel = healpixIndex(fromLonLatDegrees(f.ra, f.dec), 16, true);
    const cell = expected.get(pixel) ?? { files: 0, held: [0, 0] };
    cell.files++;
    cell.held[1]++;
    if (doneNames.includes(f.name)) cell.held[0]++;
    expected.set(pixel, cell);
  }
  expect(sky.cells.map((c: any) => [c.pixel, c.files, c.held])).toEqual([...expected.entries()].sort((a, b) => a[0] - b[0]).map(([p, c]) => [p, c.files, c.held]));
  for (const c of sky.cells) {
    expect(healpixIndex(fromLonLatDegrees(c.ra, c.dec), 16, true)).toBe(c.pixel);
    expect(c.boundary).toHaveLength(8);
  }
});

it("fits the gateway's default limits with room to spare: cost, depth, aliases, document size", async () => {
  const sdl = composeSupergraph(await localSubgraphSdl(), { catalog: cat.url });
  const model = { schema: buildSchema(sdl), listSizes: listSizesOf(sdl) };
  const limits = cat.config.gateway.limits;
  for (const [query, variables] of [[LIVE_QUERY, {}], [SLOW_QUERY, SLOW_VARIABLES], [RETRY_MUTATION, { id: "x" }]] as const) {
    const doc = parse(query);
    const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    const m = measure(doc, op, model, variables);
    expect({ op: op.name?.value, fits: m.cost <= limits.maxCost / 4 && m.depth < limits.maxDepth && m.aliases < limits.maxAliases }).toEqual({ op: op.name?.value, fits: true });
    expect(Buffer.byteLength(query)).toBeLessThan(limits.maxDocumentBytes / 4);
  }
});

it("sends as many SQL statements to each service for a larger state: none per row", async () => {
  const small = await statementsOf(async () => {
    await live();
    await slow();
  });
  // More of everything the page lists or counts: files and pointings, RSEs, policies, agents, arrivals.
  const db = cat.service.database.dataSource.manager;
  const more = Array.from({ length: 60 }, (_, i) => fileOf(100 + i, [(i * 37) % 360, -80 + ((i * 13) % 160)], false, i % 3));
  files.push(...more);
  await cat.ok(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, {
    i: more.map((f) => ({ scope: "raw", name: f.name, type: "FILE", bytes: f.bytes, adler32: f.adler32, metadata: { datasetType: "raw", ra: f.ra, dec: f.dec } })),
  });
  await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: { name: "USDF_TAPE", facility: "USDF", kind: "POSIX", protocol: { root: "/data/usdf-tape" } } });
  await cat.ok(`mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "USDF_TAPE", replicas: $r) { count } }`, { r: more.map((f) => ({ scope: "raw", name: f.name })) });
  await cat.ok(`mutation($i: AddSubscriptionInput!) { addSubscription(input: $i) { name } }`, {
    i: { name: "raw-to-usdf-tape", filter: { scopes: ["raw"], metadata: { datasetType: "raw" } }, rules: [{ rseExpression: "USDF_TAPE" }, { rseExpression: "USDF_DISK" }] },
  });
  await drainSubscriptions(db, { batchSize: 5000 });
  // The copy waiting to retry is the only one due: now DONE too.
  const due = await claim(10);
  expect(due.map((t) => t.file.name)).toEqual([retryingName]);
  await done(due[0]);
  const large = await statementsOf(async () => {
    await live();
    await slow();
  });
  expect((await slow()).data.sky.files).toBe(76);
  // A batch boundary may move by one statement when sibling resolvers reach a loader in different turns.
  for (const service of ["catalog", "USDF", "UKDF"] as const) {
    expect({ service, statements: large[service] <= small[service] + 2 }).toEqual({ service, statements: true });
  }
  expect(large.catalog).toBeLessThanOrEqual(20);
  expect(large.UKDF).toBeLessThanOrEqual(6);
});

it("Retry re-queues a STUCK rule's copy (with a token that may change the rule), and refuses without one", async () => {
  const [rule] = (await live()).data.stuck.nodes;
  const refused = await graphql(url, RETRY_MUTATION, { id: rule.id });
  expect(refused.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  const retried = (await ok(url, RETRY_MUTATION, { id: rule.id }, cat.tokens.admin)).retryRule;
  expect(retried).toMatchObject({ id: rule.id, state: "REPLICATING", locksStuck: 0, locksReplicating: 1 });
  const after = (await live()).data;
  expect(after.stuck.totalCount).toBe(0);
  expect(after.facilities.find((f: any) => f.code === "UKDF").transferCounts.queued).toBeGreaterThanOrEqual(1);
});

it("with UKDF stopped, its own parts are null with one FACILITY_UNAVAILABLE, and the catalog's parts and USDF's still answer", async () => {
  await ukdf.close();
  ukdfClosed = true;
  const res = await live();
  expect(res.errors?.map((e: any) => [e.extensions?.code, e.extensions?.facility])).toEqual([["FACILITY_UNAVAILABLE", "UKDF"]]);
  const byCode = Object.fromEntries(res.data.facilities.map((f: any) => [f.code, f]));
  expect(byCode.UKDF.agents).toBeNull();
  expect(byCode.UKDF.ingestSummary).toBeNull();
  expect(byCode.UKDF.transferCounts.done).toBe(4);
  expect(byCode.USDF.agents).toEqual([]);
  expect(byCode.USDF.ingestSummary).not.toBeNull();
  const s = await slow();
  expect(s.errors).toBeUndefined();
  expect(s.data.sky.files).toBe(76);
});
