import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { stringify as toYaml } from "yaml";
import { signToken } from "../lib/auth";
import type { Config } from "../lib/config";
import { createLogger, Logger } from "../lib/logger";
import type { StorageCredentials } from "../lib/storage/driver";
import { openStorage } from "../lib/storage/factory";
import { openFacilityDatabase } from "../subgraphs/facility/service";
import { openCatalogDatabase } from "../subgraphs/replicas/service";
import { DEMO_BUCKETS, demoRses, DemoStorage, loadCatalogDemo } from "./demo/catalog-demo";
import { loadFacilityDemo } from "./demo/facility-demo";
import { describeExit, ServiceProcess, spawnService, waitFor200, waitHealthy } from "./service-process";

export const DEV_FACILITIES = ["USDF", "FrDF", "UKDF", "SUMMIT"];

/** How long a child may take to answer /health at start, and to stop on SIGTERM. */
const START_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 20_000;

export interface DevFederation {
  /** Loads the demo data when the databases are empty, starts every service, and says what runs where. */
  start(): Promise<{ gatewayUrl: string; services: ServiceProcess[]; summary: string }>;
  /** Stops every child (SIGTERM, then SIGKILL after a grace period); fails when one had to be killed. */
  close(): Promise<void>;
}

/** The dev federation's ports: the gateway on the base, the catalog on +1, the facilities on +2…+5, the S3 server on +6, the agents on +7…+10. */
export function devPorts(base: number) {
  return {
    gateway: base,
    catalog: base + 1,
    facilities: DEV_FACILITIES.map((code, i) => ({ code, port: base + 2 + i })),
    s3: base + 2 + DEV_FACILITIES.length,
    agents: DEV_FACILITIES.map((code, i) => ({ code, port: base + 3 + DEV_FACILITIES.length + i })),
  };
}

/** The local S3 server's key pair: made once under the data dir, so restarts find their buckets readable. */
export function devS3Credentials(dataDir: string): StorageCredentials {
  const file = path.join(dataDir, "dev", "s3-credentials.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  const credentials = { accessKeyId: "dbb-dev", secretAccessKey: randomBytes(20).toString("hex") };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
  return credentials;
}

export function devStorage(dataDir: string, base: number): DemoStorage {
  return { s3Endpoint: `http://127.0.0.1:${devPorts(base).s3}`, ukdfRoot: path.join(dataDir, "storage", "ukdf") };
}

/** The storage credentials a facility holds: those of its own RSEs, nobody else's. */
function facilityCredentials(code: string, storage: DemoStorage, s3: StorageCredentials): Record<string, StorageCredentials> {
  return Object.fromEntries(demoRses(storage).filter((r) => r.facility === code && r.kind === "S3").map((r) => [r.name, s3]));
}

/** Fails, naming the port, when something already listens on one of them (before the slow demo load, not after). */
async function checkPortsFree(ports: Array<{ name: string; host: string; port: number }>): Promise<void> {
  for (const p of ports) {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const probe = net.createServer();
      probe.once("error", (err) => resolve(err));
      probe.listen(p.port, p.host, () => probe.close(() => resolve(undefined)));
    });
    if (error) {
      throw new Error(`port ${p.port} for the ${p.name} is not free (${error.code ?? error.message}); stop what uses it or choose other ports with --port-base`);
    }
  }
}

/**
 * Loads the demo into empty embedded databases, before any service runs: opens each database,
 * migrates it, loads, closes it again (one process owns an embedded database at a time, so the
 * services can open them afterwards). A catalog that has RSEs already is reused as it is.
 */
export async function prepareDevData(config: Config, logger: Logger, storage: DemoStorage, s3: StorageCredentials): Promise<string> {
  const catalog = await openCatalogDatabase(config, logger.child({ service: "replicas" }));
  try {
    await catalog.runMigrations();
    const db = catalog.dataSource.manager;
    const [{ n }] = await db.query(`SELECT count(*) AS n FROM rses`);
    if (n > 0) return "existing data reused";
    const drivers = new Map(
      demoRses(storage).map((r) => [r.name, openStorage({ rse: r.name, kind: r.kind, ...r.protocol }, { ...config.storage, credentials: { [r.name]: s3 } })]),
    );
    const put = async (rse: string, objectPath: string, bytes: Buffer) => {
      await drivers.get(rse)!.write(objectPath, Readable.from([bytes]), { bytes: bytes.length });
    };
    const files = await loadCatalogDemo(db, storage, put, { tombstoneDelaySeconds: 0 });
    for (const code of DEV_FACILITIES) {
      const facility = await openFacilityDatabase(config, code, logger.child({ service: `facility-${code}` }));
      try {
        await facility.runMigrations();
        await loadFacilityDemo(facility.dataSource.manager, code, db, files);
      } finally {
        await facility.close();
      }
    }
    return `demo data loaded: ${files.length} raw files of LSSTCam as FITS objects at the Summit, three files of its Large File Annex, the five DMTN-198 policies and the rules they made; the agents now replicate the second night to USDF and FrDF, the UK footprint to UKDF and the LFA files to USDF, ingesting what arrives (one rotten source goes STUCK)`;
  } finally {
    await catalog.close();
  }
}

/**
 * The configurations the children read, under `<dataDir>/dev/`: `config.yaml` for the catalog and
 * the gateway, `facility-<CODE>.yaml` for a facility's service and its agent (with only that
 * facility's storage credentials). Each is the dev configuration as loaded (file and
 * environment), without `database.url` (each service keeps its own embedded database) and
 * without `auth.secret` (passed in the environment, never written), with ports and URLs filled
 * in, and retries quick enough to watch (failed copies retry after at most 5 s, 3 attempts).
 */
export function writeDevConfig(config: Config, base: number, logLevel: string, s3: StorageCredentials): { shared: string; facility: (code: string) => string } {
  const ports = devPorts(base);
  const local = (port: number) => `http://127.0.0.1:${port}/graphql`;
  const { url: _url, ...database } = config.database;
  const { secret: _secret, ...auth } = config.auth;
  const storage = devStorage(config.dataDir, base);
  const derived = {
    ...config,
    database,
    auth,
    replicas: { ...config.replicas, port: ports.catalog },
    transfers: {
      ...config.transfers,
      backoffSeconds: Math.min(config.transfers.backoffSeconds, 5),
      maxAttempts: Math.min(config.transfers.maxAttempts, 3),
      leaseSeconds: Math.min(config.transfers.leaseSeconds, 60),
      judgeIntervalSeconds: Math.min(config.transfers.judgeIntervalSeconds, 5),
    },
    facility: { ...config.facility, code: undefined, catalog: local(ports.catalog) },
    agent: { ...config.agent, gateway: local(ports.gateway), pollSeconds: Math.min(config.agent.pollSeconds, 1) },
    removals: { ...config.removals, gateway: local(ports.gateway), resolveRetrySeconds: Math.min(config.removals.resolveRetrySeconds, 5) },
    storage: { ...config.storage, credentials: {} },
    gateway: {
      ...config.gateway,
      port: ports.gateway,
      catalog: local(ports.catalog),
      facilities: ports.facilities.map((f) => ({ code: f.code, url: local(f.port) })),
    },
    log: { level: logLevel },
    // The client commands pointed at this gateway; never a token on disk.
    cli: { url: local(ports.gateway) },
  };
  const dir = path.join(config.dataDir, "dev");
  mkdirSync(dir, { recursive: true });
  const write = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    writeFileSync(file, `# Written by \`dbb dev\` at every start for the services it runs (dbb serve … --config this file).\n${toYaml(value)}`, { mode: 0o600 });
    return file;
  };
  const shared = write("config.yaml", derived);
  const files = new Map(
    DEV_FACILITIES.map((code) => [
      code,
      write(`facility-${code}.yaml`, {
        ...derived,
        facility: { ...derived.facility, publicUrl: `http://127.0.0.1:${ports.facilities.find((f) => f.code === code)!.port}` },
        storage: { ...derived.storage, credentials: facilityCredentials(code, storage, s3) },
      }),
    ]),
  );
  return { shared, facility: (code) => files.get(code)! };
}

/**
 * The environment of a child: ours without any DBB_ variable (the derived config file already
 * holds their values, and e.g. DBB_DATABASE_URL would point every service at one database),
 * plus the signing secret when one is configured.
 */
function childEnvironment(config: Config): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DBB_")) env[k] = v;
  if (config.auth.secret) env.DBB_AUTH_SECRET = config.auth.secret;
  return env;
}

/**
 * `dbb dev`: the whole federation on one machine, each service in its own process
 * (`dbb serve replicas`, `dbb serve facility --facility CODE` for USDF, FrDF, UKDF and SUMMIT,
 * `dbb serve gateway`), each on its embedded database under the data dir. The demo data is
 * loaded first into empty databases. A child that dies is reported on stderr and the others keep
 * running, so stopping one facility shows the gateway's partial answers. `close` may be called
 * at any time, also while `start` runs.
 */
export function devFederation(config: Config, options: { portBase: number }): DevFederation {
  const embedded: Config = { ...config, database: { ...config.database, url: undefined } };
  const quietLevel = config.log.level === "info" ? "warn" : config.log.level;
  const ports = devPorts(options.portBase);
  const services: ServiceProcess[] = [];
  let stopping = false;

  const spawnChild = (name: string, args: string[], host: string, port: number, configFile: string, env: NodeJS.ProcessEnv = {}) => {
    const s = spawnService(name, [...args, "--port", String(port), "--config", configFile], { host, port, env: { ...childEnvironment(config), ...env } });
    services.push(s);
    void s.exited.then((e) => {
      if (!stopping) process.stderr.write(`dbb dev: ${name} (pid ${s.pid}) exited with ${describeExit(e)}; the other services keep running\n`);
    });
    if (stopping) void s.stop(STOP_GRACE_MS);
    return s;
  };

  const close = async () => {
    stopping = true;
    // The agents first (their last report goes through the gateway), then the gateway, then the rest.
    const agents = services.filter((s) => s.name.startsWith("agent "));
    const clean = await Promise.all(agents.map((s) => s.stop(STOP_GRACE_MS)));
    const gateway = services.find((s) => s.name === "gateway");
    if (gateway) clean.push(await gateway.stop(STOP_GRACE_MS));
    clean.push(...(await Promise.all(services.filter((s) => s !== gateway && !agents.includes(s)).map((s) => s.stop(STOP_GRACE_MS)))));
    if (clean.includes(false)) throw new Error(`a service did not stop within ${STOP_GRACE_MS / 1000} s of SIGTERM and was killed`);
  };

  const start = async () => {
    try {
      await checkPortsFree([
        { name: "catalog", host: config.replicas.host, port: ports.catalog },
        ...ports.facilities.map((f) => ({ name: `facility ${f.code}`, host: config.facility.host, port: f.port })),
        { name: "gateway", host: config.gateway.host, port: ports.gateway },
        { name: "S3 server", host: "127.0.0.1", port: ports.s3 },
        ...ports.agents.map((a) => ({ name: `agent ${a.code}`, host: config.agent.host, port: a.port })),
      ]);
      // The object stores first: the demo writes the raws that exist before the agents start.
      const s3 = devS3Credentials(config.dataDir);
      const storage = devStorage(config.dataDir, options.portBase);
      mkdirSync(storage.ukdfRoot, { recursive: true });
      const s3Server = spawnService(
        "s3",
        ["serve", "s3", "--port", String(ports.s3), "--dir", path.join(config.dataDir, "storage", "s3"), "--access-key-id", s3.accessKeyId,
          "--secret-access-key", s3.secretAccessKey, ...Object.values(DEMO_BUCKETS).flatMap((b) => ["--bucket", b])],
        { host: "127.0.0.1", port: ports.s3, env: childEnvironment(config) },
      );
      services.push(s3Server);
      await waitHealthy(s3Server, START_TIMEOUT_MS);
      const data = await prepareDevData(embedded, createLogger(quietLevel, "dev"), storage, s3);
      const configs = writeDevConfig(embedded, options.portBase, quietLevel, s3);
      const catalog = spawnChild("catalog", ["serve", "replicas"], config.replicas.host, ports.catalog, configs.shared);
      const facilities = ports.facilities.map((f) =>
        spawnChild(`facility ${f.code}`, ["serve", "facility", "--facility", f.code], config.facility.host, f.port, configs.facility(f.code)),
      );
      await Promise.all([catalog, ...facilities].map((s) => waitHealthy(s, START_TIMEOUT_MS)));
      // Last, so that its first look at the subgraphs finds them all up.
      const gateway = spawnChild("gateway", ["serve", "gateway"], config.gateway.host, ports.gateway, configs.shared);
      await waitHealthy(gateway, START_TIMEOUT_MS);
      // Its first look may have missed a subgraph that was slow to answer; it looks again every
      // gateway.refreshSeconds. Wait for that rather than hand out a gateway that is not ready.
      const notReady = await waitFor200(gateway, "/ready", (config.gateway.refreshSeconds + 30) * 1000);
      if (notReady) process.stderr.write(`dbb dev: the gateway is not ready yet: ${notReady}\n`);
      // One agent per facility, each with its facility's agent token, through the gateway.
      const agents = await Promise.all(
        ports.agents.map(async (a) => {
          const token = await signToken(embedded, { subject: `agent-${a.code.toLowerCase()}`, scopes: [`agent:${a.code}`], ttlSeconds: 30 * 86400 });
          return spawnChild(`agent ${a.code}`, ["serve", "agent", "--facility", a.code], config.agent.host, a.port, configs.facility(a.code), { DBB_TOKEN: token });
        }),
      );
      await Promise.all(agents.map((s) => waitHealthy(s, START_TIMEOUT_MS)));
      const gone = services.filter((s) => !s.running());
      if (gone.length) throw new Error(`${gone.map((s) => s.name).join(", ")} exited while the others started`);
      const width = Math.max(...services.map((s) => s.name.length));
      // GraphQL services by their endpoint; the S3 server and the agents by their base URL (/health, /metrics).
      const where = (s: ServiceProcess) => (s.name === "s3" || s.name.startsWith("agent ") ? s.url.replace(/\/graphql$/, "") : s.url);
      const table = services.map((s) => `  ${s.name.padEnd(width)}  pid ${String(s.pid).padEnd(7)}  ${where(s)}`).join("\n");
      return {
        gatewayUrl: gateway.url,
        services,
        summary: `${data}\nservices, one process each (\`kill <pid>\` stops one, e.g. a facility, to see a partial answer):\n${table}`,
      };
    } catch (err) {
      await close().catch(() => undefined);
      throw err;
    }
  };

  return { start, close };
}
