import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EXAMPLE_QUERIES } from "../../gateway/graphiql/examples";
import { graphql, ok } from "../support/graphql-client";
import { freePorts, spawnDbb } from "../support/processes";

/**
 * `npm start` runs `dbb dev`: the whole local federation on embedded databases with demo data.
 * Brought up as a user would, queried through the gateway, stopped with Ctrl-C, started again.
 */
let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-dev-"));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it("starts catalog, four facilities and the gateway with demo data, and reuses the data next time", async () => {
  const [base] = await freePorts(6, 15000, 20000);
  const env: NodeJS.ProcessEnv = { ...process.env, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn" };
  delete env.DBB_DATABASE_URL;
  const first = await spawnDbb(["dev", "--port-base", String(base)], base, env, 180000);
  expect(first.output()).toMatch(/GraphiQL: http:\/\/127\.0\.0\.1:\d+\//);
  expect(first.output()).toMatch(/demo data loaded/);
  const ready = await fetch(`http://127.0.0.1:${base}/ready`);
  expect(ready.status).toBe(200);
  const page = await fetch(`http://127.0.0.1:${base}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/graphiql/i);

  const q = `{ rules { nodes { state } }
    facility(code: "FrDF") { code datasets(datasetType: "raw", collections: ["LSSTCam/raw/all"], where: "exposure.day_obs = 20250601") { totalCount } }
    dids(scope: "raw", type: FILE, first: 1) { nodes { replicas { facilityCode state butlerDataset { datasetType } } } } }`;
  const data = await ok(first.url, q);
  expect(new Set(data.rules.nodes.map((n: any) => n.state))).toEqual(new Set(["OK", "REPLICATING", "STUCK"]));
  expect(data.facility.datasets.totalCount).toBe(36);
  const usdf = data.dids.nodes[0].replicas.find((r: any) => r.facilityCode === "USDF");
  expect(usdf).toEqual({ facilityCode: "USDF", state: "AVAILABLE", butlerDataset: { datasetType: "raw" } });

  // GraphiQL's saved examples, with their variables, answer on the demo data.
  const answers = new Map<string, any>();
  for (const example of EXAMPLE_QUERIES) {
    const res = await graphql(first.url, example.query, example.variables ? JSON.parse(example.variables) : undefined);
    expect({ example: example.title, errors: res.errors ?? [] }).toEqual({ example: example.title, errors: [] });
    answers.set(example.title, res.data);
  }
  expect(answers.get("Where is a file, and is it ingested?").did.replicas.length).toBeGreaterThan(0);
  expect(answers.get("Raws covering a sky position").facility.datasets.totalCount).toBeGreaterThan(0);
  expect(await first.stop()).toBe(0);

  const second = await spawnDbb(["dev", "--port-base", String(base)], base, env, 180000);
  expect(second.output()).toMatch(/existing data reused/);
  expect((await ok(second.url, `{ rules { totalCount } }`)).rules.totalCount).toBe(4);
  expect(await second.stop()).toBe(0);
}, 400000);
