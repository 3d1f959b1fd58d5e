import type { Command } from "commander";
import { loadConfig } from "../lib/config";
import { localSubgraphSdl } from "../gateway/local-sdl";
import { startGateway } from "../gateway/server";
import { devFederation } from "./dev";
import { port, stopOn } from "./main";

/** `dbb serve gateway` and `dbb dev`. */
export function registerGatewayCommands(program: Command, serve: Command): void {
  serve
    .command("gateway")
    .description("the USDF gateway: the federated endpoint with GraphiQL at / (needs gateway.catalog and gateway.facilities in the config)")
    .option("-p, --port <port>", "port to listen on (default 4000, or gateway.port)", port)
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { port?: number; config?: string }) => {
      const config = loadConfig(opts.config);
      const gateway = await startGateway(config, { port: opts.port, sdl: await localSubgraphSdl(), page: await graphiqlPage() });
      const s = gateway.status();
      process.stderr.write(
        `gateway ready at ${gateway.url.replace(/graphql$/, "")} (GraphiQL); catalog ${s.catalog.state}; ` +
          `${s.facilities.map((f) => `${f.name} ${f.state}`).join(", ") || "no facilities configured"}; Ctrl-C stops it\n`,
      );
      stopOn(() => gateway.close());
    });

  program
    .command("dev")
    .description(
      "the whole local federation with demo data, each service in its own process: catalog, facilities USDF, FrDF, UKDF, SUMMIT, gateway",
    )
    .option("-c, --config <file>", "YAML configuration file")
    .option("--port-base <port>", "gateway on this port, catalog on +1, facilities on +2… (default 4000)", port, 4000)
    .action(async (opts: { config?: string; portBase: number }) => {
      if (opts.portBase + 5 > 65535) throw new Error(`--port-base ${opts.portBase} leaves no room for the five ports above it (at most 65530)`);
      const config = loadConfig(opts.config);
      const dev = devFederation(config, { portBase: opts.portBase });
      stopOn(() => dev.close());
      const up = await dev.start();
      process.stderr.write(`\n${up.summary}\n\nGraphiQL: ${up.gatewayUrl.replace(/graphql$/, "")}\nCtrl-C stops everything.\n`);
    });
}

/** The bundled GraphiQL page, when the build produced it. */
async function graphiqlPage() {
  const { serveGraphiql } = await import("../gateway/graphiql/page");
  return serveGraphiql;
}
