import type { Command } from "commander";
import { parseTtl, signToken } from "../lib/auth";
import { loadConfig } from "../lib/config";
import { collect, emit } from "./options";

/** `dbb token`: a signed token for local use. */
export function registerTokenCommands(program: Command): void {
  program
    .command("token")
    .description("print a signed token for local use (HS256 with DBB_AUTH_SECRET or the local key in the data dir)")
    .requiredOption("-s, --subject <name>", "the account the token acts as")
    .option("--scope <scope>", "a scope to grant (repeatable): catalog:admin, catalog:write, agent:<FACILITY>, butler:admin", collect, [])
    .option("--ttl <ttl>", "lifetime, e.g. 30m, 1h, 7d", "1h")
    .option("-c, --config <file>", "YAML configuration file")
    .option("--json", 'print {"token", "subject", "scopes", "expiresAt"} instead')
    .action(async (opts: { subject: string; scope: string[]; ttl: string; config?: string; json?: boolean }) => {
      const config = loadConfig(opts.config);
      const ttlSeconds = parseTtl(opts.ttl);
      const token = await signToken(config, { subject: opts.subject, scopes: opts.scope, ttlSeconds });
      const expiresAt = new Date(Date.now() + ttlSeconds * 1000).toISOString();
      emit(opts, { token, subject: opts.subject, scopes: opts.scope, expiresAt }, () => token);
    });
}
