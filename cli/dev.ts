import type http from "node:http";
import type { Config } from "../lib/config";
import { createLogger } from "../lib/logger";
import { localSubgraphSdl } from "../gateway/local-sdl";
import { startGateway } from "../gateway/server";
import { startFacilityService } from "../subgraphs/facility/service";
import { startReplicasService } from "../subgraphs/replicas/service";
import { loadCatalogDemo } from "./demo/catalog-demo";
import { loadFacilityDemo } from "./demo/facility-demo";

export const DEV_FACILITIES = ["USDF", "FrDF", "UKDF", "SUMMIT"];

export interface DevFederation {
  gatewayUrl: string;
  summary: string;
  close(): Promise<void>;
}

/**
 * `dbb dev`: the whole federation in one process, each service on its own embedded database
 * under the data dir (a database URL would name one database for all five services, so dev
 * ignores it). Loads the demo data into an empty catalog.
 */
export async function runDev(
  config: Config,
  options: { portBase: number; page?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean },
): Promise<DevFederation> {
  const base = options.portBase;
  const embedded: Config = { ...config, database: { ...config.database, url: undefined } };
  const quiet = createLogger(config.log.level === "info" ? "warn" : config.log.level, "dev");
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const catalog = await startReplicasService(embedded, { port: base + 1, logger: quiet.child({ service: "replicas" }) });
    closers.push(() => catalog.close());
    const facilities = [];
    for (const [i, code] of DEV_FACILITIES.entries()) {
      const f = await startFacilityService(embedded, { code, port: base + 2 + i, logger: quiet.child({ service: `facility-${code}` }) });
      closers.push(() => f.close());
      facilities.push({ code, service: f });
    }
    const db = catalog.database.dataSource.manager;
    const [{ n }] = await db.query(`SELECT count(*) AS n FROM rses`);
    let summary = "existing data reused";
    if (n === 0) {
      const files = await loadCatalogDemo(db, { ...config.transfers });
      for (const f of facilities) await loadFacilityDemo(f.service.database.dataSource.manager, f.code, db, files);
      summary = `demo data loaded: ${files.length} raw files of LSSTCam, rules OK / REPLICATING / STUCK`;
    }
    const gateway = await startGateway(
      {
        ...config,
        gateway: {
          ...config.gateway,
          port: base,
          catalog: catalog.url,
          facilities: facilities.map((f) => ({ code: f.code, url: f.service.url })),
        },
      },
      { port: base, sdl: await localSubgraphSdl(), page: options.page, logger: quiet.child({ service: "gateway" }) },
    );
    closers.push(() => gateway.close());
    return {
      gatewayUrl: gateway.url,
      summary: `catalog ${catalog.url}\n${facilities.map((f) => `facility ${f.code} ${f.service.url}`).join("\n")}\n${summary}`,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
