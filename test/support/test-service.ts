import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { signToken } from "../../lib/auth";
import { Config, loadConfig } from "../../lib/config";
import { errorOf, graphql, ok } from "./graphql-client";
import { createTestDatabase } from "./postgres";

/** What a service under test runs on: a fresh database of the local server, a data dir, a key. */
export interface TestEnvironment {
  config: Config;
  token(subject: string, scopes: string[], ttlSeconds?: number): Promise<string>;
  /** Drops the database and removes the data dir (after the service closed). */
  cleanup(): Promise<void>;
}

export async function testEnvironment(label: string, env: Record<string, string> = {}): Promise<TestEnvironment> {
  const db = await createTestDatabase(label);
  const dataDir = mkdtempSync(path.join(tmpdir(), "dbb-test-"));
  const config = loadConfig(undefined, {
    DBB_DATABASE_URL: db.url,
    DBB_DATA_DIR: dataDir,
    DBB_AUTH_SECRET: randomBytes(24).toString("hex"),
    DBB_LOG_LEVEL: process.env.DBB_TEST_LOG_LEVEL ?? "silent",
    // Bulk tests (100,000 datasets in one statement) on a shared CI machine; timeout tests set their own.
    DBB_DATABASE_STATEMENT_TIMEOUT_MS: "600000",
    // No background ingest retries: suites count the statements a request sends, and call retryArrivals themselves.
    DBB_FACILITY_INGEST_RETRY_SECONDS: "0",
    ...env,
  });
  return {
    config,
    token: (subject, scopes, ttlSeconds = 3600) => signToken(config, { subject, scopes, ttlSeconds }),
    async cleanup() {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestClient {
  ok<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<T>;
  errorOf(query: string, variables?: Record<string, unknown>, token?: string): ReturnType<typeof errorOf>;
  raw: (query: string, variables?: Record<string, unknown>, token?: string) => ReturnType<typeof graphql>;
}

/** A GraphQL client of one service that sends `defaultToken` unless told otherwise. */
export function testClient(url: string, defaultToken: string): TestClient {
  return {
    ok: (q, v, t = defaultToken) => ok(url, q, v, t),
    errorOf: (q, v, t = defaultToken) => errorOf(url, q, v, t),
    raw: (q, v, t) => graphql(url, q, v, t),
  };
}
