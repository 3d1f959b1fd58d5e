import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { errorOf, ok } from "../support/graphql-client";
import { DBB, freePorts, spawnDbb } from "../support/processes";

/**
 * The dbb command as a user runs it, in real processes: `dbb serve replicas` on the embedded
 * default database (PGlite behind the pg driver), `dbb token`, `dbb migrate`.
 */
const run = promisify(execFile);

let dataDir: string;
let env: NodeJS.ProcessEnv;

const startServe = (port: number) => spawnDbb(["serve", "replicas", "--port", String(port)], port, env);

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-e2e-"));
  env = { ...process.env, DBB_DATA_DIR: dataDir, DBB_LOG_LEVEL: "warn" };
  delete env.DBB_DATABASE_URL;
  delete env.DBB_AUTH_SECRET;
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it("serves the catalog on the embedded database, accepts local tokens, and keeps data across restarts", async () => {
  const [port] = await freePorts(1, 25000, 30000);
  const first = await startServe(port);
  const health = await fetch(`http://127.0.0.1:${port}/health`);
  expect(await health.json()).toEqual({ status: "ok", service: "replicas" });

  const { stdout: token } = await run(process.execPath, [DBB, "token", "--subject", "ops", "--scope", "catalog:admin", "--ttl", "10m"], { env });
  expect(token.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

  expect((await errorOf(first.url, `mutation { addScope(name: "raw") { name } }`)).code).toBe("UNAUTHENTICATED");
  const added = await ok(first.url, `mutation { addScope(name: "raw") { name account } }`, {}, token.trim());
  expect(added.addScope).toEqual({ name: "raw", account: "ops" });
  await ok(first.url, `mutation { addRse(input: {name: "SUMMIT_DISK", facility: "SUMMIT", kind: POSIX, protocol: {root: "/data"}}) { name } }`, {}, token.trim());
  expect(await first.stop()).toBe(0);

  // A second process may not open the same embedded database while the first runs; after stop it may.
  const { stdout: migrated } = await run(process.execPath, [DBB, "migrate"], { env });
  expect(migrated).toMatch(/up to date/);

  const second = await startServe(port);
  const data = await ok(second.url, `{ scopes { name } rses(expression: "facility=SUMMIT") { name } }`);
  expect(data).toEqual({ scopes: [{ name: "raw" }], rses: [{ name: "SUMMIT_DISK" }] });
  await expect(run(process.execPath, [DBB, "migrate"], { env })).rejects.toMatchObject({ stderr: expect.stringMatching(/in use by process/) });
  expect(await second.stop()).toBe(0);
});

it("refuses bad arguments with a message and a non-zero exit", async () => {
  await expect(run(process.execPath, [DBB, "token", "--subject", "ops", "--scope", "catalog:admin", "--ttl", "soon"], { env })).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/invalid ttl/),
  });
  await expect(run(process.execPath, [DBB, "serve", "replicas", "--port", "99999"], { env })).rejects.toMatchObject({
    stderr: expect.stringMatching(/port/),
  });
});
