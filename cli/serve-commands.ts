import type { Command } from "commander";
import { loadConfig } from "../lib/config";
import { localSubgraphSdl } from "../gateway/local-sdl";
import { startGateway } from "../gateway/server";
import { startFacilityService } from "../subgraphs/facility/service";
import { startReplicasService } from "../subgraphs/replicas/service";
import { port, stopOn } from "./options";

/**
 * `dbb serve replicas|facility|gateway`: the services, each in the process that runs the command
 * until Ctrl-C. Returns the `serve` command, so other command files add theirs to it.
 */
export function registerServeCommands(program: Command): Command {
  const serve = program.command("serve").description("run a service");
  serve
    .command("replicas")
    .description("the central replica catalog subgraph (POST /graphql, GET /health)")
    .option("-p, --port <port>", "port to listen on (default 4001, or replicas.port)", port)
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { port?: number; config?: string }) => {
      const config = loadConfig(opts.config);
      const service = await startReplicasService(config, { port: opts.port });
      const where = service.database.kind === "embedded" ? `embedded database in ${config.dataDir}/replicas` : "Postgres server";
      process.stderr.write(`replica catalog ready at ${service.url} (${where}); Ctrl-C stops it\n`);
      stopOn(() => service.close());
    });

  serve
    .command("facility")
    .description("a facility subgraph: the facility's Butler registry view (POST /graphql, GET /health)")
    .option("-f, --facility <code>", "the facility served (USDF, FrDF, UKDF, SUMMIT, …; or facility.code / DBB_FACILITY)")
    .option("-p, --port <port>", "port to listen on (default 4002, or facility.port / DBB_FACILITY_PORT)", port)
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { facility?: string; port?: number; config?: string }) => {
      const config = loadConfig(opts.config);
      const code = opts.facility ?? config.facility.code;
      if (!code) throw new Error("which facility? give --facility CODE (or set facility.code / DBB_FACILITY)");
      const service = await startFacilityService(config, { code, port: opts.port });
      const where = service.database.kind === "embedded" ? `embedded database in ${config.dataDir}/facility-${service.code}` : "Postgres server";
      process.stderr.write(`facility ${service.code} ready at ${service.url} (${where}); Ctrl-C stops it\n`);
      stopOn(() => service.close());
    });

  serve
    .command("gateway")
    .description("the USDF gateway: the federated endpoint with GraphiQL at / and the status page at /status (needs gateway.catalog and gateway.facilities in the config)")
    .option("-p, --port <port>", "port to listen on (default 4000, or gateway.port)", port)
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { port?: number; config?: string }) => {
      const config = loadConfig(opts.config);
      const gateway = await startGateway(config, { port: opts.port, sdl: await localSubgraphSdl(), page: await bundledPages() });
      const s = gateway.status();
      process.stderr.write(
        `gateway ready at ${gateway.url.replace(/graphql$/, "")} (GraphiQL); catalog ${s.catalog.state}; ` +
          `${s.facilities.map((f) => `${f.name} ${f.state}`).join(", ") || "no facilities configured"}; Ctrl-C stops it\n`,
      );
      stopOn(() => gateway.close());
    });
  return serve;
}

/** The bundled pages: GraphiQL at /, the status page at /status. */
async function bundledPages() {
  const { servePages } = await import("../gateway/pages");
  return servePages;
}
