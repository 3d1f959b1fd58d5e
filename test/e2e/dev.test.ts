import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EXAMPLE_QUERIES } from "../../gateway/graphiql/examples";
import { lsstCamDetector } from "../../subgraphs/facility/instrument/lsstcam";
import { graphql, ok } from "../support/graphql-client";
import { freePorts, ServiceProcess, spawnDbb } from "../support/processes";
import { waitFor } from "../support/wait-for";

/**
 * `npm start` runs `dbb dev`: the whole local federation on embedded databases with demo data,
 * each service in its own process. Brought up as a user would, queried through the gateway, one
 * facility stopped by its printed PID, stopped with Ctrl-C, started again.
 */
/** A first start loads the demo; on two busy cores that has taken over four minutes. */
const START_MS = 480000;
let dataDir: string;
let base: number;
let env: NodeJS.ProcessEnv;
let dev: ServiceProcess | undefined;
let services: Array<{ name: string; pid: number; url: string }> = [];

/** Whether a process runs: it exists and is not a zombie (an exited child nobody has reaped yet). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; Z is a zombie, which has stopped running.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The services table `dbb dev` prints: `  facility UKDF  pid 1234  http://127.0.0.1:4004/graphql`. */
function servicesOf(output: string) {
  return [...output.matchAll(/^ {2}(s3|catalog|gateway|facility \S+|agent \S+)\s+pid (\d+)\s+(http:\S+)$/gm)].map((m) => ({ name: m[1], pid: Number(m[2]), url: m[3] }));
}

const CODES = ["USDF", "FrDF", "UKDF", "SUMMIT"];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-dev-"));
  [base] = await freePorts(11, 15000, 20000);
  env = { ...process.env, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn" };
  delete env.DBB_DATABASE_URL;
});
afterAll(async () => {
  await dev?.kill();
  for (const s of services) if (alive(s.pid)) process.kill(s.pid, "SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

it("starts the S3 server, catalog, four facilities, the gateway and four agents in their own processes with demo data, and prints each one's PID and port", async () => {
  dev = await spawnDbb(["dev", "--port-base", String(base)], base, env, START_MS);
  // Its own report, not just an answer on the port (another suite's service could hold it).
  await dev.waitForOutput(/GraphiQL: http:\/\/127\.0\.0\.1:\d+\//, START_MS);
  expect(dev.output()).toMatch(/demo data loaded/);
  services = servicesOf(dev.output());
  expect(services.map((s) => s.name)).toEqual(["s3", "catalog", ...CODES.map((c) => `facility ${c}`), "gateway", ...CODES.map((c) => `agent ${c}`)]);
  expect(services.map((s) => s.url)).toEqual([
    `http://127.0.0.1:${base + 6}`,
    ...[1, 2, 3, 4, 5, 0].map((i) => `http://127.0.0.1:${base + i}/graphql`),
    ...[7, 8, 9, 10].map((i) => `http://127.0.0.1:${base + i}`),
  ]);
  expect(new Set([dev.child.pid, ...services.map((s) => s.pid)]).size).toBe(12);
  const command = (name: string) =>
    name === "s3" ? "serve s3" : name === "catalog" ? "serve replicas" : name === "gateway" ? "serve gateway" : `serve ${name.split(" ")[0]} --facility ${name.split(" ")[1]}`;
  for (const s of services) {
    // A real process, running this service.
    expect({ name: s.name, alive: alive(s.pid) }).toEqual({ name: s.name, alive: true });
    const cmdline = readFileSync(`/proc/${s.pid}/cmdline`, "utf8").split("\0").join(" ");
    expect(cmdline).toContain(command(s.name));
    expect((await fetch(s.url.replace(/\/graphql$/, "") + "/health")).status).toBe(200);
  }
  const ready = await fetch(`http://127.0.0.1:${base}/ready`);
  expect(ready.status).toBe(200);
  const page = await fetch(`http://127.0.0.1:${base}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/graphiql/i);
}, START_MS + 60000);

it("replicates the demo while you watch, by its policies: every raw to USDF and FrDF, the UK footprint to UKDF, STUCK on a rotten source", async () => {
  const states = async (subscription: string) =>
    (await ok(dev!.url, `query($s: String!) { rules(filter: { subscription: $s }, first: 200) { nodes { state error did { name } } } }`, { s: subscription })).rules.nodes;
  await waitFor("the demo's rules to settle", async () => {
    const [usdf, frdf, ukdf] = await Promise.all(["raw-to-usdf", "raw-to-frdf", "raw-ukdf-footprint"].map(states));
    return usdf.length === 72 && frdf.length === 72 && [...usdf, ...frdf].every((r: any) => r.state === "OK") &&
      ukdf.length > 0 && ukdf.every((r: any) => r.state === "OK" || r.state === "STUCK") && ukdf.some((r: any) => r.state === "STUCK");
  }, { timeoutMs: 300_000, intervalMs: 1000 });
  const stuck = (await states("raw-ukdf-footprint")).filter((r: any) => r.state === "STUCK");
  expect(stuck).toHaveLength(1);
  expect(stuck[0].error).toMatch(/not the catalog's file: adler32 \w+ != \w+; md5/);
  // What arrived is ingested: UKDF's Butler has a raw for every copy it holds, with the id USDF's has.
  const { usdf } = await ok(dev!.url, `{ usdf: facility(code: "USDF") { datasets(datasetType: "raw", collections: ["LSSTCam/raw/all"]) { totalCount } } }`);
  expect(usdf.datasets.totalCount).toBe(72);
  await waitFor("UKDF's arrivals ingested", async () =>
    (await ok(dev!.url, `{ facility(code: "UKDF") { datasets(datasetType: "raw", collections: ["LSSTCam/raw/all"]) { totalCount } } }`)).facility.datasets.totalCount === (await states("raw-ukdf-footprint")).length - 1, { timeoutMs: 30_000 });
  // The bytes are there: UKDF's copies on its filesystem, byte-sized as the catalog says.
  const { replicas } = await ok(dev!.url, `{ replicas(rse: "UKDF_DISK", state: AVAILABLE, first: 100) { totalCount nodes { path bytes } } }`);
  expect(replicas.totalCount).toBeGreaterThan(0);
  for (const r of replicas.nodes) expect(statSync(path.join(dataDir, "storage", "ukdf", r.path)).size).toBe(r.bytes);
  // The Summit's agent deleted the first night there (its buffer rule is gone).
  await waitFor("the Summit's first-night copies deleted", async () =>
    (await ok(dev!.url, `{ replicas(rse: "SUMMIT_DISK", first: 1) { totalCount } }`)).replicas.totalCount === 36, { timeoutMs: 120_000, intervalMs: 1000 });
  const agents = (await ok(dev!.url, `{ facilities { code agents { state transfersDone deletionsDone } } }`)).facilities;
  expect(Object.fromEntries(agents.map((f: any) => [f.code, f.agents.map((a: any) => a.state)]))).toEqual({ FrDF: ["ALIVE"], SUMMIT: ["ALIVE"], UKDF: ["ALIVE"], USDF: ["ALIVE"] });
}, 480_000);

it("copies the Summit's Large File Annex files to USDF under their object keys: an electrometer's readings ingested as its exposure's photodiode, the others plain objects", async () => {
  const lfa = async () =>
    (await ok(dev!.url, `{ dids(scope: "lfa", type: FILE) { nodes { name metadata replicas { rse { name } path state ingest { state source } } } } }`)).dids.nodes;
  await waitFor("the LFA files at USDF, told to its Butler", async () => {
    const files = await lfa();
    return files.length === 3 && files.every((f: any) => f.replicas.some((r: any) => r.rse.name === "USDF_DISK" && r.state === "AVAILABLE" && r.ingest && r.ingest.state !== "PENDING"));
  }, { timeoutMs: 120_000, intervalMs: 1000 });
  const atUsdf = (await lfa()).map((f: any) => {
    const r = f.replicas.find((x: any) => x.rse.name === "USDF_DISK");
    return [f.metadata.generator, r.path === f.name, r.ingest.state, r.ingest.source];
  });
  expect(atUsdf.sort()).toEqual([
    ["Electrometer:103", true, "INGESTED", "photodiode"],
    ["Electrometer:201", true, "NOT_A_DATASET", "none"],
    ["MTHeaderService", true, "NOT_A_DATASET", "none"],
  ]);
  const pd = await ok(dev!.url, `{ facility(code: "USDF") { datasets(datasetType: "photodiode", collections: ["LSSTCam/calib/photodiode"]) { totalCount edges { node { dataId } } } } }`);
  expect(pd.facility.datasets.totalCount).toBe(1);
  expect(pd.facility.datasets.edges[0].node.dataId).toMatchObject({ instrument: "LSSTCam", exposure: 2025060100002 });
}, 180_000);

it("serves the demo through the gateway: Butler datasets, GraphiQL's saved examples", async () => {
  const q = `{ facility(code: "FrDF") { code datasets(datasetType: "raw", collections: ["LSSTCam/raw/all"], where: "exposure.day_obs = 20250601") { totalCount } }
    dids(scope: "raw", type: FILE, first: 1) { nodes { replicas { facilityCode state butlerDataset { datasetType } } } } }`;
  const data = await ok(dev!.url, q);
  expect(data.facility.datasets.totalCount).toBe(36);
  const usdf = data.dids.nodes[0].replicas.find((r: any) => r.facilityCode === "USDF");
  expect(usdf).toEqual({ facilityCode: "USDF", state: "AVAILABLE", butlerDataset: { datasetType: "raw" } });

  // GraphiQL's saved examples, with their variables, answer on the demo data.
  const answers = new Map<string, any>();
  for (const example of EXAMPLE_QUERIES) {
    const res = await graphql(dev!.url, example.query, example.variables ? JSON.parse(example.variables) : undefined);
    expect({ example: example.title, errors: res.errors ?? [] }).toEqual({ example: example.title, errors: [] });
    answers.set(example.title, res.data);
  }
  expect(answers.get("Where is a file, and is it ingested?").did.replicas.length).toBeGreaterThan(0);
  expect(answers.get("Raws covering a sky position").facility.datasets.totalCount).toBeGreaterThan(0);
});

it("names the demo's detectors as LSSTCam does, and the catalog's metadata agrees with the facilities' Butler records", async () => {
  const data = await ok(
    dev!.url,
    `{ facility(code: "USDF") { dimensionRecords(element: "detector") { nodes { record } } }
       dids(scope: "raw", type: FILE, first: 100) { totalCount nodes { name metadata replicas { facilityCode butlerDataset { dataId } } } } }`,
  );
  const detectors = data.facility.dimensionRecords.nodes.map((n: any) => n.record);
  expect(detectors.map((r: any) => [r.id, r.full_name, r.raft, r.name_in_raft, r.purpose])).toEqual([
    [90, "R22_S00", "R22", "S00", "SCIENCE"],
    [91, "R22_S01", "R22", "S01", "SCIENCE"],
    [94, "R22_S11", "R22", "S11", "SCIENCE"],
  ]);
  expect(data.dids.totalCount).toBe(72);
  for (const did of data.dids.nodes) {
    const m = did.metadata;
    expect(did.name).toBe(`LSSTCam/raw/${m.day_obs}/${m.obs_id}/${m.obs_id}_${lsstCamDetector(m.detector)!.fullName}.fits`);
    expect(m.obs_id).toBe(`MC_O_${m.day_obs}_${String(m.seq_num).padStart(6, "0")}`);
    expect(m.exposure).toBe(m.day_obs * 100000 + m.seq_num);
    expect(["g_6", "r_57", "i_39", "z_20"]).toContain(m.physical_filter);
    for (const r of did.replicas.filter((r: any) => r.butlerDataset)) {
      expect(r.butlerDataset.dataId).toMatchObject({
        instrument: m.instrument,
        detector: m.detector,
        exposure: m.exposure,
        day_obs: m.day_obs,
        band: m.band,
        physical_filter: m.physical_filter,
      });
    }
  }
});

it("keeps running when one facility is stopped by its PID, and the gateway answers the rest with FACILITY_UNAVAILABLE for it", async () => {
  const { replicas } = await ok(dev!.url, `{ replicas(rse: "UKDF_DISK", state: AVAILABLE, first: 1) { nodes { scope name } } }`);
  const file = replicas.nodes[0];
  const query = `query($s: String!, $n: String!) { did(scope: $s, name: $n) { name replicas { facilityCode state butlerDataset { datasetType } } } }`;
  const before = await ok(dev!.url, query, { s: file.scope, n: file.name });
  // Copied to UKDF by its agent and ingested there on arrival, as at USDF and FrDF.
  expect(before.did.replicas.map((r: any) => [r.facilityCode, r.butlerDataset?.datasetType ?? null])).toEqual(
    expect.arrayContaining([["UKDF", "raw"], ["USDF", "raw"], ["FrDF", "raw"]]),
  );

  const ukdf = services.find((s) => s.name === "facility UKDF")!;
  process.kill(ukdf.pid, "SIGTERM"); // what `kill <pid>` sends
  await dev!.waitForOutput(new RegExp(`facility UKDF \\(pid ${ukdf.pid}\\) exited with exit code 0`));
  expect(alive(ukdf.pid)).toBe(false);
  expect(dev!.child.exitCode).toBeNull();

  const res = await graphql(dev!.url, query, { s: file.scope, n: file.name });
  expect(res.errors?.map((e) => [e.extensions?.code, e.extensions?.facility])).toEqual([["FACILITY_UNAVAILABLE", "UKDF"]]);
  const byFacility = Object.fromEntries(res.data.did.replicas.map((r: any) => [r.facilityCode, r]));
  expect(byFacility.UKDF).toEqual({ facilityCode: "UKDF", state: "AVAILABLE", butlerDataset: null });
  expect(byFacility.USDF.butlerDataset).toEqual({ datasetType: "raw" });
  expect(byFacility.FrDF.butlerDataset).toEqual({ datasetType: "raw" });
  for (const s of services.filter((s) => s !== ukdf)) expect({ name: s.name, alive: alive(s.pid) }).toEqual({ name: s.name, alive: true });
});

it("stops every service on Ctrl-C with exit code 0", async () => {
  expect(await dev!.stop()).toBe(0);
  for (const s of services) expect({ name: s.name, alive: alive(s.pid) }).toEqual({ name: s.name, alive: false });
});

it("reuses the data on the next start, and leaves no service behind when dbb dev itself is killed", async () => {
  dev = await spawnDbb(["dev", "--port-base", String(base)], base, env, START_MS / 2);
  // Well within the test's own timeout, so a start that never completes fails saying what dev printed.
  await dev.waitForOutput(/GraphiQL:/, START_MS / 2);
  expect(dev.output()).toMatch(/existing data reused/);
  services = servicesOf(dev.output());
  // The Summit's buffer rule and the policies' rules: one per raw to USDF and FrDF, and those of the UK footprint.
  expect((await ok(dev.url, `{ rules { totalCount } }`)).rules.totalCount).toBeGreaterThan(145);
  expect((await ok(dev.url, `{ facility(code: "USDF") { datasets(datasetType: "raw", collections: ["LSSTCam/raw/all"]) { totalCount } } }`)).facility.datasets.totalCount).toBeGreaterThan(0);

  await dev.kill(); // SIGKILL: no chance to stop its children; they notice their parent is gone
  // Each stops cleanly within its own grace (an agent lets its copies finish for up to 10 s).
  await waitFor("every service gone after dbb dev was killed", () => services.every((s) => !alive(s.pid)), { timeoutMs: 90_000, intervalMs: 200 }).catch((err) => {
    // What each one still running is (its command line, state and CPU time), to tell a hung service from a reused PID.
    const what = (pid: number) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
        return `${cmd}; state ${stat[0]}, cpu ${(Number(stat[11]) + Number(stat[12])) / 100} s`;
      } catch {
        return "gone";
      }
    };
    throw new Error(`${(err as Error).message}; still running: ${services.filter((s) => alive(s.pid)).map((s) => `${s.name} (pid ${s.pid}: ${what(s.pid)})`).join(", ")}`);
  });
}, START_MS + 60000);
