import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify as toYaml } from "yaml";
import { signToken } from "../../lib/auth";
import { loadConfig } from "../../lib/config";
import type { StorageDriver } from "../../lib/storage/driver";
import { openStorage } from "../../lib/storage/factory";
import { ok } from "./graphql-client";
import { createTestDatabase, TestDatabase } from "./postgres";
import { freePorts, ServiceProcess, spawnDbb } from "./processes";
import { startTestS3Server, TestS3Server } from "./s3-server";

/**
 * A whole data plane in real processes: two S3-protocol servers (`dbb serve s3`), a filesystem
 * root, the catalog, four facilities (each with a config holding only its own RSE's
 * credentials), the gateway, and agents started on demand. RSEs: SUMMIT_S3 and USDF_S3 on the
 * first S3 server, FRDF_S3 on the second, UKDF_POSIX under a temporary folder; with `lfa`, also
 * the Summit's Large File Annex, SUMMIT_LFA (bucket rubinobs-lfa-cp on the first server, its URLs
 * as the CSCs write them: https://s3.cp.lsst.org/rubinobs-lfa-cp/<key>).
 */
export const FACILITIES = ["SUMMIT", "USDF", "FrDF", "UKDF"] as const;
export type Code = (typeof FACILITIES)[number];

export interface DataFederation {
  dir: string;
  secret: string;
  s3: [TestS3Server, TestS3Server];
  ukdfRoot: string;
  catalog: ServiceProcess;
  facilities: Map<Code, ServiceProcess>;
  gateway: ServiceProcess;
  gatewayUrl: string;
  /** The config file a facility (and its agent) reads. */
  configOf(code: Code): string;
  /** A facility's RSE as its agent writes it (with that facility's credentials). */
  storeOf(code: Code): StorageDriver;
  token(subject: string, scopes: string[]): Promise<string>;
  admin: string;
  /** Starts an agent of a facility (a real `dbb serve agent` process). */
  startAgent(code: Code, name?: string): Promise<ServiceProcess>;
  /** Stops a facility's service (Ctrl-C), as when the facility goes down. */
  stopFacility(code: Code): Promise<void>;
  /** Starts a stopped facility's service again, on its port and database. */
  startFacility(code: Code): Promise<ServiceProcess>;
  close(): Promise<void>;
}

export const RSES: Record<Code, string> = { SUMMIT: "SUMMIT_S3", USDF: "USDF_S3", FrDF: "FRDF_S3", UKDF: "UKDF_POSIX" };
export const BUCKETS = { SUMMIT: "summit-raw", USDF: "usdf-raw", FrDF: "frdf-raw" } as const;
export const LFA = { rse: "SUMMIT_LFA", bucket: "rubinobs-lfa-cp", url: "https://s3.cp.lsst.org/rubinobs-lfa-cp" } as const;

export async function startDataFederation(
  label: string,
  settings: { leaseSeconds: number; backoffSeconds: number; maxAttempts: number },
  storageSettings: { multipartThresholdBytes: number; partSizeBytes: number; streams?: number } = { multipartThresholdBytes: 8 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024 },
  options: { lfa?: boolean } = {},
): Promise<DataFederation> {
  const dir = mkdtempSync(path.join(tmpdir(), `dbb-${label}-`));
  const secret = randomBytes(24).toString("hex");
  const ukdfRoot = path.join(dir, "ukdf-root");
  mkdirSync(ukdfRoot, { recursive: true });
  const s3: [TestS3Server, TestS3Server] = [
    await startTestS3Server([BUCKETS.SUMMIT, BUCKETS.USDF, ...(options.lfa ? [LFA.bucket] : [])]),
    await startTestS3Server([BUCKETS.FrDF]),
  ];
  const dbs: TestDatabase[] = await Promise.all(["catalog", ...FACILITIES].map((c) => createTestDatabase(`${label}_${c}`)));
  // catalog, 4 facilities, gateway, then agents' /health ports.
  const ports = await freePorts(14, 3000, 5000);
  const catalogUrl = `http://127.0.0.1:${ports[0]}/graphql`;
  const gatewayUrl = `http://127.0.0.1:${ports[5]}/graphql`;
  const common = {
    dataDir: dir,
    log: { level: "warn" },
    transfers: { ...settings, judgeIntervalSeconds: 1, tombstoneDelaySeconds: 0 },
    agent: { gateway: gatewayUrl, streams: storageSettings.streams ?? 4, pollSeconds: 0.3, reportSeconds: 1, stallSeconds: 20 },
    removals: { gateway: gatewayUrl, resolveRetrySeconds: 0.25, timeoutMs: 10000 },
  };
  const credentialsOf = (code: Code) =>
    code === "UKDF"
      ? {}
      : { [RSES[code]]: code === "FrDF" ? s3[1].credentials : s3[0].credentials, ...(code === "SUMMIT" && options.lfa ? { [LFA.rse]: s3[0].credentials } : {}) };
  const files = new Map<Code, string>();
  FACILITIES.forEach((code, i) => {
    const file = path.join(dir, `facility-${code}.yaml`);
    writeFileSync(
      file,
      toYaml({
        ...common,
        facility: { catalog: catalogUrl, publicUrl: `http://127.0.0.1:${ports[i + 1]}` },
        storage: { credentials: credentialsOf(code), multipartThresholdBytes: storageSettings.multipartThresholdBytes, partSizeBytes: storageSettings.partSizeBytes },
      }),
    );
    files.set(code, file);
  });
  const gatewayFile = path.join(dir, "gateway.yaml");
  writeFileSync(
    gatewayFile,
    toYaml({ ...common, gateway: { catalog: catalogUrl, refreshSeconds: 2, facilities: FACILITIES.map((code, i) => ({ code, url: `http://127.0.0.1:${ports[i + 1]}/graphql` })) } }),
  );
  const catalogFile = path.join(dir, "catalog.yaml");
  writeFileSync(catalogFile, toYaml(common));
  const env = (db?: string): NodeJS.ProcessEnv => {
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...rest } = process.env;
    return { ...rest, ...(db ? { DBB_DATABASE_URL: db } : {}), DBB_AUTH_SECRET: secret };
  };
  const catalog = await spawnDbb(["serve", "replicas", "--port", String(ports[0]), "--config", catalogFile], ports[0], env(dbs[0].url));
  const facilities = new Map<Code, ServiceProcess>();
  const spawnFacility = async (code: Code) => {
    const i = FACILITIES.indexOf(code);
    const service = await spawnDbb(["serve", "facility", "--facility", code, "--port", String(ports[i + 1]), "--config", files.get(code)!], ports[i + 1], env(dbs[i + 1].url));
    facilities.set(code, service);
    return service;
  };
  await Promise.all(FACILITIES.map(spawnFacility));
  const gateway = await spawnDbb(["serve", "gateway", "--port", String(ports[5]), "--config", gatewayFile], ports[5], env());
  const config = loadConfig(undefined, { DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dir });
  const token = (subject: string, scopes: string[]) => signToken(config, { subject, scopes, ttlSeconds: 3600 });
  const admin = await token("alice", ["catalog:admin"]);
  // Wait until the gateway sees every subgraph.
  for (let i = 0; i < 100; i++) {
    const res = await fetch(gatewayUrl.replace(/graphql$/, "ready")).catch(() => null);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const rse = (code: Code) =>
    code === "UKDF"
      ? { name: RSES[code], facility: code, kind: "POSIX", protocol: { root: ukdfRoot } }
      : { name: RSES[code], facility: code, kind: "S3", protocol: { endpoint: (code === "FrDF" ? s3[1] : s3[0]).endpoint, bucket: BUCKETS[code], prefix: "dbb" } };
  for (const code of FACILITIES) await ok(gatewayUrl, `mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, { i: rse(code) }, admin);
  if (options.lfa) {
    await ok(
      gatewayUrl,
      `mutation($i: AddRseInput!) { addRse(input: $i) { name } }`,
      { i: { name: LFA.rse, facility: "SUMMIT", kind: "S3", protocol: { endpoint: s3[0].endpoint, bucket: LFA.bucket }, attributes: { lfa: true, lfa_url: LFA.url } } },
      admin,
    );
  }
  const agents: ServiceProcess[] = [];
  let nextAgentPort = 6;
  return {
    dir,
    secret,
    s3,
    ukdfRoot,
    catalog,
    facilities,
    gateway,
    gatewayUrl,
    configOf: (code) => files.get(code)!,
    storeOf(code) {
      const location =
        code === "UKDF"
          ? { rse: RSES[code], kind: "POSIX" as const, root: ukdfRoot }
          : { rse: RSES[code], kind: "S3" as const, endpoint: (code === "FrDF" ? s3[1] : s3[0]).endpoint, bucket: BUCKETS[code], prefix: "dbb" };
      return openStorage(location, loadConfig(files.get(code)!).storage);
    },
    token,
    admin,
    async startAgent(code, name = `agent-${code.toLowerCase()}`) {
      const port = ports[nextAgentPort++];
      const agentToken = await token(name, [`agent:${code}`]);
      const agent = await spawnDbb(["serve", "agent", "--facility", code, "--port", String(port), "--config", files.get(code)!], port, { ...env(), DBB_TOKEN: agentToken });
      agents.push(agent);
      return agent;
    },
    async stopFacility(code) {
      await facilities.get(code)?.stop();
    },
    startFacility: spawnFacility,
    async close() {
      await Promise.all(agents.map((a) => a.stop().catch(() => null)));
      await gateway.stop().catch(() => null);
      await Promise.all([catalog, ...facilities.values()].map((s) => s.stop().catch(() => null)));
      await Promise.all(s3.map((s) => s.stop().catch(() => null)));
      await Promise.all(dbs.map((d) => d.drop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
