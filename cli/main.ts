import "reflect-metadata";
import { Command, InvalidArgumentError } from "commander";
import { parseTtl, signToken } from "../lib/auth";
import { loadConfig } from "../lib/config";
import { DbbError } from "../lib/errors";
import { createLogger } from "../lib/logger";
import { openCatalogDatabase, startReplicasService } from "../subgraphs/replicas/service";
import { registerAgentCommands } from "./agent-commands";
import { registerFacilityCommands } from "./facility-commands";
import { registerGatewayCommands } from "./gateway-commands";
import { registerJudgeCommands } from "./judge-commands";
import { registerPolicyCommands } from "./policy-commands";
import { registerS3Commands } from "./s3-commands";

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("a port number 0-65535");
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Stops the service cleanly on Ctrl-C or SIGTERM, or when the `dbb dev` that started it is gone. */
export function stopOn(close: () => Promise<void>): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping…\n`);
    try {
      await close();
      process.exit(0);
    } catch (err) {
      process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
      process.exit(1);
    }
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // A service that `dbb dev` started holds an IPC channel to it: when dev goes (even killed with
  // SIGKILL), the channel closes and the service stops too, instead of living on as an orphan.
  if (typeof process.send === "function") {
    if (process.connected) process.once("disconnect", () => void stop("parent process gone"));
    else void stop("parent process gone");
  }
}

export function buildProgram(): Command {
  const program = new Command("dbb")
    .description("Data Backbone metadata gateway: catalog and facility services, tokens, migrations")
    .showHelpAfterError();

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

  registerFacilityCommands(program, serve);
  registerAgentCommands(serve);
  registerGatewayCommands(program, serve);
  registerJudgeCommands(program);
  registerPolicyCommands(program);
  registerS3Commands(serve);

  program
    .command("migrate")
    .description("run pending database migrations of the catalog and exit")
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { config?: string }) => {
      const config = loadConfig(opts.config);
      const logger = createLogger(config.log.level, "migrate");
      const database = await openCatalogDatabase(config, logger);
      try {
        const ran = await database.runMigrations();
        process.stdout.write(ran.length ? `applied: ${ran.join(", ")}\n` : "the catalog database is up to date\n");
      } finally {
        await database.close();
      }
    });

  program
    .command("token")
    .description("print a signed token for local use (HS256 with DBB_AUTH_SECRET or the local key in the data dir)")
    .requiredOption("-s, --subject <name>", "the account the token acts as")
    .option("--scope <scope>", "a scope to grant (repeatable): catalog:admin, catalog:write, agent:<FACILITY>, butler:admin", collect, [])
    .option("--ttl <ttl>", "lifetime, e.g. 30m, 1h, 7d", "1h")
    .option("-c, --config <file>", "YAML configuration file")
    .action(async (opts: { subject: string; scope: string[]; ttl: string; config?: string }) => {
      const config = loadConfig(opts.config);
      const token = await signToken(config, { subject: opts.subject, scopes: opts.scope, ttlSeconds: parseTtl(opts.ttl) });
      process.stdout.write(token + "\n");
    });

  program
    .command("schema")
    .description("write the subgraphs' SDL into a folder (the repository keeps it under schema/)")
    .argument("[dir]", "target folder", "schema")
    .action(async (dir: string) => {
      const { mkdirSync, writeFileSync } = await import("node:fs");
      const path = await import("node:path");
      const { subgraphSdl } = await import("./schema");
      mkdirSync(dir, { recursive: true });
      for (const [file, sdl] of Object.entries(await subgraphSdl())) {
        writeFileSync(path.join(dir, file), sdl.endsWith("\n") ? sdl : sdl + "\n");
        process.stdout.write(`wrote ${path.join(dir, file)}\n`);
      }
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    const message = err instanceof DbbError ? `${err.message} [${err.code}]` : (err as Error).message;
    process.stderr.write(`dbb: ${message}\n`);
    process.exit(1);
  }
}
