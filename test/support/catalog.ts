import "reflect-metadata";
import type { Config } from "../../lib/config";
import { ReplicasService, startReplicasService } from "../../subgraphs/replicas/service";
import { TestClient, testClient, testEnvironment } from "./test-service";

export interface TestCatalog extends TestClient {
  url: string;
  config: Config;
  service: ReplicasService;
  /** Signs a token for this catalog. */
  token(subject: string, scopes: string[], ttlSeconds?: number): Promise<string>;
  /** Tokens: admin (catalog:admin), writer (catalog:write), reader (no catalog scope). */
  tokens: { admin: string; writer: string; reader: string };
  close(): Promise<void>;
}

/**
 * The catalog service on a fresh database of the local Postgres server, listening on a free port,
 * talked to over real HTTP.
 */
export async function startTestCatalog(label: string, env: Record<string, string> = {}): Promise<TestCatalog> {
  // Tests run the judge and the matcher themselves; a background round would add statements to their counts.
  const t = await testEnvironment(label, { DBB_JUDGE_INTERVAL_SECONDS: "3600", DBB_SUBSCRIPTIONS_INTERVAL_SECONDS: "3600", ...env });
  const service = await startReplicasService(t.config, { port: 0 });
  const tokens = {
    admin: await t.token("alice", ["catalog:admin"]),
    writer: await t.token("campaign-bot", ["catalog:write"]),
    reader: await t.token("bob", ["butler:admin"]),
  };
  return {
    ...testClient(service.url, tokens.admin),
    url: service.url,
    config: t.config,
    service,
    tokens,
    token: t.token,
    async close() {
      await service.close();
      await t.cleanup();
    },
  };
}
