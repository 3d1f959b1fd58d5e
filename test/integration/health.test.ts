import "reflect-metadata";
import { localSubgraphSdl } from "../../gateway/local-sdl";
import { GatewayService, startGateway } from "../../gateway/server";
import { loadConfig } from "../../lib/config";
import { ReplicasService, startReplicasService } from "../../subgraphs/replicas/service";
import { graphql } from "../support/graphql-client";
import { createTestDatabase, TestDatabase } from "../support/postgres";
import { startTcpProxy, TcpProxy } from "../support/tcp-proxy";
import { testEnvironment, TestEnvironment } from "../support/test-service";

/**
 * Health that tells the truth: a subgraph's /health checks its database with a deadline, and the
 * gateway's /ready asks each subgraph's /health, not only its schema. The catalog's database sits
 * behind a TCP proxy that can stop answering (a hung server) and come back.
 */
let env: TestEnvironment;
let db: TestDatabase;
let proxy: TcpProxy;
let catalog: ReplicasService;
let gateway: GatewayService;

beforeAll(async () => {
  db = await createTestDatabase("health");
  proxy = await startTcpProxy(Number(new URL(db.url).port));
  const url = new URL(db.url);
  url.port = String(proxy.port);
  env = await testEnvironment("health_unused", {
    DBB_DATABASE_URL: url.toString(),
    DBB_DATABASE_STATEMENT_TIMEOUT_MS: "1000",
    DBB_DATABASE_CONNECT_TIMEOUT_MS: "1000",
    DBB_JUDGE_INTERVAL_SECONDS: "3600",
  });
  catalog = await startReplicasService(env.config, { port: 0 });
  const config = loadConfig(undefined, { DBB_AUTH_SECRET: "s".repeat(32), DBB_DATA_DIR: env.config.dataDir, DBB_LOG_LEVEL: "silent" });
  config.gateway = { ...config.gateway, catalog: catalog.url, facilities: [], facilityTimeoutMs: 3000, refreshSeconds: 3600 };
  gateway = await startGateway(config, { port: 0, sdl: await localSubgraphSdl() });
}, 60000);
afterAll(async () => {
  await gateway?.close();
  await catalog?.close();
  await proxy?.close();
  await db?.drop();
  await env?.cleanup();
});

const health = async () => {
  const res = await fetch(new URL("/health", catalog.url));
  return { status: res.status, body: (await res.json()) as { error?: string } };
};
const ready = async () => (await fetch(new URL("/ready", gateway.url))).status;
const RSES = `{ rses { name } }`;

it("is healthy and ready while the database answers", async () => {
  expect((await health()).status).toBe(200);
  await gateway.refresh();
  expect(await ready()).toBe(200);
});

it("answers 503 within the deadline while the database hangs, gives coded errors instead of hanging, and recovers", async () => {
  proxy.hang();
  try {
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body.error).toMatch(/did not answer within/);
    const res = await graphql(catalog.url, RSES);
    expect(["QUERY_TIMEOUT", "DATABASE_UNAVAILABLE"]).toContain(res.errors?.[0]?.extensions?.code);
    const status = await gateway.refresh();
    expect(status.catalog.state).toBe("down");
    expect(status.catalog.error).toMatch(/\/health answered 503/);
    expect(await ready()).toBe(503);
  } finally {
    proxy.restore();
  }
  // Back: the next checks and queries answer again (broken connections leave the pool).
  for (;;) {
    if ((await health()).status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect((await graphql(catalog.url, RSES)).errors).toBeUndefined();
  expect((await gateway.refresh()).ready).toBe(true);
});

it("reports a catalog whose database was dropped as not healthy and the gateway as not ready", async () => {
  await db.drop();
  expect((await health()).status).toBe(503);
  const res = await graphql(catalog.url, RSES);
  expect(res.errors?.[0]?.extensions?.code).toBe("DATABASE_UNAVAILABLE");
  expect((await gateway.refresh()).catalog.state).toBe("down");
  expect(await ready()).toBe(503);
});
