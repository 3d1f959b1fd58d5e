import type { Command } from "commander";
import { loadConfig } from "../lib/config";
import { devFederation } from "./dev";
import { port, stopOn } from "./options";

/** `dbb dev`: the whole local federation with the demo data (cli/dev.ts). */
export function registerDevCommands(program: Command): void {
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
      process.stderr.write(`\n${up.summary}\n\nGraphiQL: ${up.gatewayUrl.replace(/graphql$/, "")}\nStatus page: ${up.gatewayUrl.replace(/graphql$/, "status")}\nCtrl-C stops everything.\n`);
    });
}
