import type { Command } from "commander";
import { loadConfig } from "../lib/config";
import { startFacilityService } from "../subgraphs/facility/service";
import { port, stopOn } from "./main";

/**
 * The facility's commands: `dbb serve facility` (the facility subgraph, the facility's Butler
 * registry view) and `dbb butler import|export`.
 */
export function registerFacilityCommands(program: Command, serve: Command): void {
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
  void program;
}
