import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { waitFor } from "../support/wait-for";
import { graphql } from "../support/graphql-client";
import { DBB, freePorts, ServiceProcess, spawnDbb } from "../support/processes";
import { emptyFields, readmeGraphqlBlocks, variablesFor } from "../support/readme-examples";

/**
 * Every ```graphql example of README.md, sent through the gateway of a `dbb dev` on its demo
 * data, answers without errors and with something in every root field (and in every object or
 * list field of a root object, e.g. `facility.dataset`). Queries go without a
 * token; blocks with a mutation run after all the others (they change the demo), with a token
 * that has every scope. Conventions a block may use: test/support/readme-examples.ts.
 */
const README = readFileSync(path.resolve(__dirname, "../../../README.md"), "utf8");
const blocks = readmeGraphqlBlocks(README);
const ordered = [...blocks.filter((b) => !b.hasMutation), ...blocks.filter((b) => b.hasMutation)];

let dataDir: string;
let dev: ServiceProcess;
let token: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-readme-"));
  const [base] = await freePorts(11, 30000, 32700);
  const env: NodeJS.ProcessEnv = { ...process.env, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn" };
  delete env.DBB_DATABASE_URL;
  delete env.NODE_ENV;
  // The token first (`dbb token` makes the data dir's signing key, which the services then use),
  // without blocking this process: a blocked event loop misses the server closing idle sockets.
  const scopes = ["catalog:admin", "catalog:write", "butler:admin", ...["USDF", "FrDF", "UKDF", "SUMMIT"].map((f) => `agent:${f}`)];
  const { stdout } = await promisify(execFile)(process.execPath, [DBB, "token", "--subject", "readme", ...scopes.flatMap((s) => ["--scope", s])], { env });
  token = stdout.trim();
  // A first start loads the demo; on two busy cores that has taken over four minutes.
  dev = await spawnDbb(["dev", "--port-base", String(base)], base, env, 480000);
  // Its own report, not just an answer on the port (another suite's service could hold it).
  await dev.waitForOutput(/GraphiQL:/, 480000);
  // The examples describe the demo as its agents leave it (second night replicated, the UK
  // footprint STUCK on its rotten source): wait for that, as a reader would see it.
  await waitFor("the demo's rules to settle", async () => {
    const res = await graphql(dev.url, `{ replicating: rules(filter: {state: REPLICATING}) { totalCount } stuck: rules(filter: {state: STUCK}) { totalCount } }`);
    return res.data && res.data.replicating.totalCount === 0 && res.data.stuck.totalCount > 0;
  }, { timeoutMs: 300_000, intervalMs: 1000 });
}, 900000);

afterAll(async () => {
  if (dev) expect(await dev.stop()).toBe(0);
  rmSync(dataDir, { recursive: true, force: true });
});

it("finds the README's graphql examples, queries and mutations", () => {
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  expect(blocks.some((b) => b.hasMutation)).toBe(true);
  expect(blocks.some((b) => !b.hasMutation)).toBe(true);
});

describe.each(ordered.map((b) => [`README.md line ${b.line}`, b] as const))("the example at %s", (where, block) => {
  it("answers on the demo data without errors and with something in every field it asks for at the top", async () => {
    const answers: unknown[] = [];
    for (const [i, op] of block.operations.entries()) {
      const at = `${where}, operation ${i + 1}`;
      const variables = variablesFor(op, answers, at);
      const res = await graphql(dev.url, op.query, variables, op.kind === "mutation" ? token : undefined);
      expect({ at, status: res.status, errors: res.errors ?? [] }).toEqual({ at, status: 200, errors: [] });
      expect({ at, empty: emptyFields(op, res.data) }).toEqual({ at, empty: [] });
      answers.push(res.data);
    }
  });
});
