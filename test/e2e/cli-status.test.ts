import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { jsonOf, runDbb, runDbbInTerminal } from "../support/dbb-cli";
import { startStatusFederation, StatusFederation, STATUS_FACILITIES, statusFileName } from "../support/status-federation";

/**
 * `dbb status` in its own process against a gateway over a catalog and four facilities (one
 * federation for the suite): 10,000 files with a replica and a Butler dataset at every facility
 * and a rule on their dataset. The last test stops one facility: the answer is partial, exit 3.
 */
const N = 10_000;
let fed: StatusFederation;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  fed = await startStatusFederation("cli_status", N);
  dir = mkdtempSync(path.join(tmpdir(), "dbb-cli-status-"));
  env = { DBB_URL: fed.gateway.url, DBB_DATA_DIR: dir };
}, 900_000);
let stopped: string | undefined;
afterAll(async () => {
  if (fed) {
    await fed.gateway.close();
    await Promise.all([fed.catalog.close(), ...fed.facilities.filter((f) => f.code !== stopped).map((f) => f.close())]);
  }
  rmSync(dir, { recursive: true, force: true });
});

const did = (i: number) => `raw:${statusFileName(i)}`;

it("prints each DID's replicas, ingest state and rules, and a summary per facility; --json has the same content", async () => {
  const text = await runDbb(["status", did(0), did(1)], env);
  expect(text.stderr).toBe("");
  expect(text.code).toBe(0);
  const lines = text.stdout.split("\n");
  expect(lines[0]).toBe(`${did(0)}  FILE  18.0 MB  rules: ${fed.ruleId} OK (USDF_DISK)`);
  expect(lines[1]).toMatch(/^ {2}FACILITY +RSE +STATE +INGESTED$/);
  expect(lines.filter((l) => /^ {2}\S+ +\S+_DISK +AVAILABLE +yes$/.test(l))).toHaveLength(8);
  expect(text.stdout).toMatch(/\nFACILITY +FILES +BYTES +COMPLETE +INGESTED\n/);
  expect(text.stdout).toMatch(/\nFrDF +2 +36\.0 MB +100\.0% +2\n/);
  expect(text.stdout).toMatch(/\n2 DIDs, 2 found\n$/);

  const json = await runDbb(["status", did(0), did(1), "--json"], env);
  expect(json.code).toBe(0);
  const answer = jsonOf(json);
  expect(answer.dids[0]).toEqual({
    scope: "raw",
    name: statusFileName(0),
    found: true,
    type: "FILE",
    bytes: 18_000_000,
    replicas: expect.arrayContaining(STATUS_FACILITIES.map((f) => ({ facility: f, rse: `${f.toUpperCase()}_DISK`, state: "AVAILABLE", ingested: true }))),
    rules: [{ id: fed.ruleId, state: "OK", rseExpression: "USDF_DISK" }],
  });
  expect(answer.facilities).toEqual(
    expect.arrayContaining(STATUS_FACILITIES.map((f) => ({ facility: f, files: 2, bytes: 36_000_001, complete: 100, ingested: 2 }))),
  );
  expect(answer).toMatchObject({ total: 2, notFound: 0, unavailable: [] });
}, 120_000);

it("reads 10,000 DIDs from a file in chunks: every file complete and ingested at every facility, exit 0", async () => {
  const file = path.join(dir, "dids.txt");
  writeFileSync(file, ["# the night of 2025-06-01", ...Array.from({ length: N }, (_, i) => did(i)), ""].join("\n"));
  const run = await runDbb(["status", "--from", file, "--summary", "--json", "--chunk", "2500"], env);
  expect(run.code).toBe(0);
  const answer = jsonOf(run);
  expect(answer.dids).toBeUndefined();
  expect(answer.total).toBe(N);
  expect(answer.notFound).toBe(0);
  const bytes = N * 18_000_000 + (N * (N - 1)) / 2;
  expect(answer.facilities).toEqual(expect.arrayContaining(STATUS_FACILITIES.map((f) => ({ facility: f, files: N, bytes, complete: 100, ingested: N }))));
  // Piped, no progress bar is drawn: stderr stays empty; on a terminal it is.
  expect(run.stderr).toBe("");
  const screen = await runDbbInTerminal(["status", "--from", file, "--summary", "--chunk", "2500"], env);
  expect(screen.code).toBe(0);
  expect(screen.stdout).toMatch(/status \[[^\]]*\] 25% 2500\/10000/);
  expect(screen.stdout).toMatch(/FrDF +10000 +180 GB +100\.0% +10000/);
}, 600_000);

it("takes a dataset for the 10,000 files below it; --no-expand shows the dataset itself", async () => {
  const run = await runDbb(["status", "raw:LSSTCam/raw/20250601", "--summary", "--json"], env);
  expect(run.code).toBe(0);
  const answer = jsonOf(run);
  expect(answer.collections).toEqual([{ scope: "raw", name: "LSSTCam/raw/20250601", type: "DATASET", files: N }]);
  expect(answer.total).toBe(N);
  expect(answer.facilities.find((f: any) => f.facility === "SUMMIT")).toMatchObject({ files: N, complete: 100, ingested: N });
  const itself = jsonOf(await runDbb(["status", "raw:LSSTCam/raw/20250601", "--no-expand", "--json"], env));
  expect(itself.collections).toEqual([]);
  expect(itself.dids).toEqual([{ scope: "raw", name: "LSSTCam/raw/20250601", found: true, type: "DATASET", bytes: null, replicas: [], rules: [{ id: fed.ruleId, state: "OK", rseExpression: "USDF_DISK" }] }]);
}, 600_000);

it("exits 1 naming the DIDs the catalog does not know, and 2 for a line that is no DID", async () => {
  const run = await runDbb(["status", did(0), "raw:LSSTCam/raw/no-such-file.fits", "--json"], env);
  expect(run.code).toBe(1);
  const answer = jsonOf(run);
  expect(answer.notFound).toBe(1);
  expect(answer.dids[1]).toEqual({ scope: "raw", name: "LSSTCam/raw/no-such-file.fits", found: false, type: null, bytes: null, replicas: [], rules: [] });
  expect(answer.facilities.find((f: any) => f.facility === "USDF")).toMatchObject({ files: 1, complete: 100 });
  expect(run.stderr).toMatch(/1 of 2 DIDs not found/);

  const file = path.join(dir, "bad.txt");
  writeFileSync(file, `${did(0)}\nnot-a-did\n`);
  const bad = await runDbb(["status", "--from", file], env);
  expect(bad.code).toBe(2);
  expect(bad.stdout).toBe("");
  expect(bad.stderr).toMatch(/bad\.txt line 2: 'not-a-did' is not a DID: write SCOPE:NAME/);
  expect((await runDbb(["status"], env)).code).toBe(2);
}, 120_000);

it("with a facility down, answers for the others, marks its ingest state unknown and exits 3", async () => {
  const ukdf = fed.facilities.find((f) => f.code === "UKDF")!;
  stopped = ukdf.code;
  await ukdf.close();
  const run = await runDbb(["status", did(0), did(1), "--json"], env);
  expect(run.code).toBe(3);
  const answer = jsonOf(run);
  expect(answer.unavailable).toEqual(["UKDF"]);
  const replicas = answer.dids[0].replicas;
  expect(replicas.find((r: any) => r.facility === "UKDF")).toEqual({ facility: "UKDF", rse: "UKDF_DISK", state: "AVAILABLE", ingested: null });
  expect(replicas.filter((r: any) => r.ingested === true).map((r: any) => r.facility).sort()).toEqual(["FrDF", "SUMMIT", "USDF"]);
  expect(answer.facilities.find((f: any) => f.facility === "UKDF")).toEqual({ facility: "UKDF", files: 2, bytes: 36_000_001, complete: 100, ingested: null });
  expect(run.stderr).toMatch(/facility UKDF did not answer.*\[FACILITY_UNAVAILABLE\]/);

  const text = await runDbb(["status", did(0)], env);
  expect(text.code).toBe(3);
  expect(text.stdout).toMatch(/ {2}UKDF +UKDF_DISK +AVAILABLE +unknown \(facility unavailable\)\n/);
  expect(text.stdout).toMatch(/\nUKDF +1 +18\.0 MB +100\.0% +unknown\n/);
}, 120_000);
