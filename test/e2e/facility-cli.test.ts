import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DATASETS, EXPORT, RAW1, RAW2 } from "../support/facility";
import { ok } from "../support/graphql-client";
import { DBB, freePorts, ServiceProcess, spawnDbb } from "../support/processes";

/**
 * `dbb serve facility` as a process on the embedded database (two facilities from one data dir),
 * `dbb butler import` and `dbb butler export` against it, as an operator runs them.
 */
const run = promisify(execFile);
let ports: number[] = [];
const nextPort = () => ports.shift()!;

let dataDir: string;
let env: NodeJS.ProcessEnv;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  ports = await freePorts(4, 20000, 25000);
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-e2e-facility-"));
  env = { ...process.env, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn" };
  delete env.DBB_DATABASE_URL;
  delete env.DBB_AUTH_SECRET;
  delete env.DBB_TOKEN;
});
afterAll(async () => {
  for (const s of services) await s.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

it("serves two facilities from one data dir and imports and exports a Butler export through the dbb command", async () => {
  const frPort = nextPort();
  const usPort = nextPort();
  const fr = await spawnDbb(["serve", "facility", "--facility", "FrDF", "--port", String(frPort)], frPort, env);
  services.push(fr);
  const us = await spawnDbb(["serve", "facility", "--port", String(usPort)], usPort, { ...env, DBB_FACILITY: "USDF" });
  services.push(us);
  expect(await (await fetch(`http://127.0.0.1:${frPort}/health`)).json()).toEqual({ status: "ok", service: "facility-FrDF" });

  const file = path.join(dataDir, "hsc-export.yaml");
  writeFileSync(file, EXPORT);
  const importArgs = [DBB, "butler", "import", file, "--facility", "FrDF", "--url", fr.url, "--did-scope", "hsc"];

  // Without a token, and with another facility's agent token: refused with a message.
  await expect(run(process.execPath, importArgs, { env })).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/DBB_TOKEN/) });
  const { stdout: ukToken } = await run(process.execPath, [DBB, "token", "--subject", "agent-ukdf", "--scope", "agent:UKDF"], { env });
  await expect(run(process.execPath, importArgs, { env: { ...env, DBB_TOKEN: ukToken.trim() } })).rejects.toMatchObject({
    stderr: expect.stringMatching(/FORBIDDEN/),
  });
  // Pointing at the wrong facility's service is refused before anything is sent.
  const { stdout: token } = await run(process.execPath, [DBB, "token", "--subject", "agent-frdf", "--scope", "agent:FrDF"], { env });
  const agent = { ...env, DBB_TOKEN: token.trim() };
  await expect(run(process.execPath, [DBB, "butler", "import", file, "--facility", "FrDF", "--url", us.url], { env: agent })).rejects.toMatchObject({
    stderr: expect.stringMatching(/serves facility USDF, not FrDF/),
  });

  const { stdout } = await run(process.execPath, importArgs, { env: agent });
  expect(stdout).toMatch(/imported .*hsc-export\.yaml \(YAML\) into FrDF: 3 datasets \(3 new\)/);
  const again = await run(process.execPath, importArgs, { env: agent });
  expect(again.stdout).toMatch(/3 datasets \(0 new\)/);

  const found = await ok(fr.url, DATASETS, { t: "raw", c: ["HSC/defaults"], w: "band = 'r'" });
  expect(found.localFacility.datasets.edges.map((e: any) => e.node.id).sort()).toEqual([RAW1, RAW2].sort());
  // The other facility's registry is its own database.
  expect((await ok(us.url, DATASETS, {})).localFacility.datasets.totalCount).toBe(0);

  const out = path.join(dataDir, "back.yaml");
  await run(process.execPath, [DBB, "butler", "export", "--facility", "FrDF", "--url", fr.url, "--collection", "HSC/raw/all", "-w", "detector = 16", "-o", out], { env });
  const exported = readFileSync(out, "utf8");
  expect(exported).toContain(`!uuid ${RAW1}`);
  expect(exported).not.toContain(RAW2);

  // The USDF imports the FrDF's export: the facilities exchange registry content as Butlers do.
  const { stdout: usToken } = await run(process.execPath, [DBB, "token", "--subject", "admin", "--scope", "butler:admin"], { env });
  await run(process.execPath, [DBB, "butler", "import", out, "--facility", "USDF", "--url", us.url], { env: { ...env, DBB_TOKEN: usToken.trim() } });
  expect((await ok(us.url, DATASETS, {})).localFacility.datasets.edges.map((e: any) => e.node.id)).toEqual([RAW1]);

  expect(await fr.stop()).toBe(0);
  expect(await us.stop()).toBe(0);
}, 240000);

it("imports daf_butler's overlapping exports, then removes runs and datasets through the dbb command: dry run, confirmation, counts", async () => {
  const port = nextPort();
  const uk = await spawnDbb(["serve", "facility", "--facility", "UKDF", "--port", String(port)], port, env);
  services.push(uk);
  const { stdout: token } = await run(process.execPath, [DBB, "token", "--subject", "agent-ukdf", "--scope", "agent:UKDF"], { env });
  const agent = { ...env, DBB_TOKEN: token.trim() };
  const data = path.resolve(__dirname, "..", "..", "..", "test", "data", "daf_butler");
  const dbb = (...args: string[]) => run(process.execPath, [DBB, "butler", ...args, "--facility", "UKDF", "--url", uk.url], { env: agent });

  // Two real exports of HSC that disagree on instrument.visit_system: the second keeps the stored record and says so.
  await ok(uk.url, `mutation($c: String!) { importButlerData(content: $c) { datasets } }`, { c: readFileSync(path.join(data, "hsc-rc2-subset.yaml"), "utf8") }, agent.DBB_TOKEN);
  const second = await dbb("import", path.join(data, "ci_hsc-subset.yaml"));
  expect(second.stdout).toMatch(/33 datasets \(33 new\).*, 2 differing dimension records kept as stored\n/);
  expect(second.stdout).toContain(`  kept instrument {"name":"HSC"}: stored visit_system=null; the file has visit_system=0\n`);
  const count = async () => (await ok(uk.url, DATASETS, {})).localFacility.datasets.totalCount;
  expect(await count()).toBe(33);
  const run_ = "HSC/runs/ci_hsc/20240806T180642Z";

  const ids = (await ok(uk.url, DATASETS, { w: "visit = 903334 AND detector IN (22, 23)" })).localFacility.datasets.edges.map((e: any) => e.node.id);
  expect(ids.length).toBe(2);
  const idsFile = path.join(dataDir, "ids.txt");
  writeFileSync(idsFile, `# calexps of visit 903334\n${ids[1]}\n`);
  const pruned = await dbb("prune-datasets", ids[0], "--ids-file", idsFile, "--yes");
  expect(pruned.stdout).toMatch(/removed from UKDF: 2 datasets \(2 file records, 0 tags and certifications\)\n$/);
  expect(await count()).toBe(31);

  // A dry run says what would go and removes nothing.
  const dry = await dbb("remove-runs", "HSC/runs/*", "--dry-run");
  expect(dry.stdout).toBe(`would remove from UKDF: 31 datasets (31 file records, 0 tags and certifications), 1 runs, 0 other collections: ${run_}\n`);
  // Without --yes and without a terminal to ask on: refused, nothing removed.
  await expect(dbb("remove-runs", run_)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/not a terminal.*--yes/) });
  expect(await count()).toBe(31);
  const removed = await dbb("remove-runs", run_, "--yes");
  expect(removed.stdout).toMatch(/removed from UKDF: 31 datasets \(31 file records, 0 tags and certifications\), 1 runs, 0 other collections: HSC\/runs\/ci_hsc\/20240806T180642Z\n$/);
  expect(await count()).toBe(0);
  expect(await uk.stop()).toBe(0);
}, 240000);

it("refuses to serve without a facility code", async () => {
  await expect(run(process.execPath, [DBB, "serve", "facility", "--port", String(nextPort())], { env })).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/--facility/),
  });
  await expect(run(process.execPath, [DBB, "serve", "facility", "--facility", "bad code!"], { env })).rejects.toMatchObject({
    stderr: expect.stringMatching(/invalid facility code/),
  });
});
