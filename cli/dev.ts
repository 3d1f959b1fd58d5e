import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { stringify as toYaml } from "yaml";
import type { Config } from "../lib/config";
import { createLogger, Logger } from "../lib/logger";
import { openFacilityDatabase } from "../subgraphs/facility/service";
import { openCatalogDatabase } from "../subgraphs/replicas/service";
import { loadCatalogDemo } from "./demo/catalog-demo";
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

/** The dev federation's ports: the gateway on the base, the catalog on +1, the facilities on +2…. */
export function devPorts(base: number) {
  return { gateway: base, catalog: base + 1, facilities: DEV_FACILITIES.map((code, i) => ({ code, port: base + 2 + i })) };
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
export async function prepareDevData(config: Config, logger: Logger): Promise<string> {
  const catalog = await openCatalogDatabase(config, logger.child({ service: "replicas" }));
  try {
    await catalog.runMigrations();
    const db = catalog.dataSource.manager;
    const [{ n }] = await db.query(`SELECT count(*) AS n FROM rses`);
    if (n > 0) return "existing data reused";
    const files = await loadCatalogDemo(db, { ...config.transfers });
    for (const code of DEV_FACILITIES) {
      const facility = await openFacilityDatabase(config, code, logger.child({ service: `facility-${code}` }));
      try {
        await facility.runMigrations();
        await loadFacilityDemo(facility.dataSource.manager, code, db, files);
      } finally {
        await facility.close();
      }
    }
    return `demo data loaded: ${files.length} raw files of LSSTCam, rules OK / REPLICATING / STUCK`;
  } finally {
    await catalog.close();
  }
}

/**
 * The configuration every child reads (`<dataDir>/dev/config.yaml`): the dev configuration as
 * loaded (file and environment), without `database.url` (each service keeps its own embedded
 * database) and without `auth.secret` (passed in the environment, never written), with the
 * ports and the gateway's catalog and facilities filled in.
 */
export function writeDevConfig(config: Config, base: number, logLevel: string): string {
  const ports = devPorts(base);
  const local = (port: number) => `http://127.0.0.1:${port}/graphql`;
  const { url: _url, ...database } = config.database;
  const { secret: _secret, ...auth } = config.auth;
  const derived = {
    ...config,
    database,
    auth,
    replicas: { ...config.replicas, port: ports.catalog },
    facility: { port: config.facility.port, host: config.facility.host },
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
  const file = path.join(dir, "config.yaml");
  writeFileSync(
    file,
    `# Written by \`dbb dev\` at every start for the services it runs (dbb serve … --config this file).\n${toYaml(derived)}`,
  );
  return file;
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

  const spawnChild = (name: string, args: string[], host: string, port: number, configFile: string) => {
    const s = spawnService(name, [...args, "--port", String(port), "--config", configFile], { host, port, env: childEnvironment(config) });
    services.push(s);
    void s.exited.then((e) => {
      if (!stopping) process.stderr.write(`dbb dev: ${name} (pid ${s.pid}) exited with ${describeExit(e)}; the other services keep running\n`);
    });
    if (stopping) void s.stop(STOP_GRACE_MS);
    return s;
  };

  const close = async () => {
    stopping = true;
    const gateway = services.find((s) => s.name === "gateway");
    const clean = gateway ? [await gateway.stop(STOP_GRACE_MS)] : [];
    clean.push(...(await Promise.all(services.filter((s) => s !== gateway).map((s) => s.stop(STOP_GRACE_MS)))));
    if (clean.includes(false)) throw new Error(`a service did not stop within ${STOP_GRACE_MS / 1000} s of SIGTERM and was killed`);
  };

  const start = async () => {
    try {
      await checkPortsFree([
        { name: "catalog", host: config.replicas.host, port: ports.catalog },
        ...ports.facilities.map((f) => ({ name: `facility ${f.code}`, host: config.facility.host, port: f.port })),
        { name: "gateway", host: config.gateway.host, port: ports.gateway },
      ]);
      const data = await prepareDevData(embedded, createLogger(quietLevel, "dev"));
      const configFile = writeDevConfig(embedded, options.portBase, quietLevel);
      const catalog = spawnChild("catalog", ["serve", "replicas"], config.replicas.host, ports.catalog, configFile);
      const facilities = ports.facilities.map((f) =>
        spawnChild(`facility ${f.code}`, ["serve", "facility", "--facility", f.code], config.facility.host, f.port, configFile),
      );
      await Promise.all([catalog, ...facilities].map((s) => waitHealthy(s, START_TIMEOUT_MS)));
      // Last, so that its first look at the subgraphs finds them all up.
      const gateway = spawnChild("gateway", ["serve", "gateway"], config.gateway.host, ports.gateway, configFile);
      await waitHealthy(gateway, START_TIMEOUT_MS);
      // Its first look may have missed a subgraph that was slow to answer; it looks again every
      // gateway.refreshSeconds. Wait for that rather than hand out a gateway that is not ready.
      const notReady = await waitFor200(gateway, "/ready", (config.gateway.refreshSeconds + 30) * 1000);
      if (notReady) process.stderr.write(`dbb dev: the gateway is not ready yet: ${notReady}\n`);
      const gone = services.filter((s) => !s.running());
      if (gone.length) throw new Error(`${gone.map((s) => s.name).join(", ")} exited while the others started`);
      const width = Math.max(...services.map((s) => s.name.length));
      const table = services.map((s) => `  ${s.name.padEnd(width)}  pid ${String(s.pid).padEnd(7)}  ${s.url}`).join("\n");
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
