import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { signToken } from "../../lib/auth";
import { Config, loadConfig } from "../../lib/config";
import { ReplicasService, startReplicasService } from "../../subgraphs/replicas/service";
import { errorOf, graphql, ok } from "./graphql-client";
import { createTestDatabase, TestDatabase } from "./postgres";

export interface TestCatalog {
  url: string;
  config: Config;
  service: ReplicasService;
  /** Signs a token for this catalog. */
  token(subject: string, scopes: string[], ttlSeconds?: number): Promise<string>;
  /** Tokens: admin (catalog:admin), writer (catalog:write), reader (no catalog scope). */
  tokens: { admin: string; writer: string; reader: string };
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T>;
  errorOf(query: string, variables?: Record<string, unknown>, token?: string): ReturnType<typeof errorOf>;
  raw: (query: string, variables?: Record<string, unknown>, token?: string) => ReturnType<typeof graphql>;
  close(): Promise<void>;
}

/**
 * The catalog service on a fresh database of the local Postgres server, listening on a free port,
 * talked to over real HTTP.
 */
export async function startTestCatalog(label: string, env: Record<string, string> = {}): Promise<TestCatalog> {
  const db: TestDatabase = await createTestDatabase(label);
  const dataDir = mkdtempSync(path.join(tmpdir(), "dbb-test-"));
  const config = loadConfig(undefined, {
    DBB_DATABASE_URL: db.url,
    DBB_DATA_DIR: dataDir,
    DBB_AUTH_SECRET: randomBytes(24).toString("hex"),
    DBB_LOG_LEVEL: process.env.DBB_TEST_LOG_LEVEL ?? "silent",
    // Tests run the judge themselves; a background round would add statements to their counts.
    DBB_JUDGE_INTERVAL_SECONDS: "3600",
    ...env,
  });
  const service = await startReplicasService(config, { port: 0 });
  const token = (subject: string, scopes: string[]) => signToken(config, { subject, scopes, ttlSeconds: 3600 });
  const tokens = {
    admin: await token("alice", ["catalog:admin"]),
    writer: await token("campaign-bot", ["catalog:write"]),
    reader: await token("bob", ["butler:admin"]),
  };
  return {
    url: service.url,
    config,
    service,
    tokens,
    token: (subject, scopes, ttlSeconds = 3600) => signToken(config, { subject, scopes, ttlSeconds }),
    ok: (q, v, t = tokens.admin) => ok(service.url, q, v, t),
    errorOf: (q, v, t = tokens.admin) => errorOf(service.url, q, v, t),
    raw: (q, v, t) => graphql(service.url, q, v, t),
    async close() {
      await service.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
