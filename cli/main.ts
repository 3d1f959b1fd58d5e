import "reflect-metadata";
import { Command, CommanderError } from "commander";
import { registerAgentCommands } from "./agent-commands";
import { registerButlerCommands } from "./butler-commands";
import { registerCompletionCommands } from "./completion-commands";
import { registerDevCommands } from "./dev-commands";
import { registerDidCommands } from "./did-commands";
import { registerJudgeCommands } from "./judge-commands";
import { registerMigrateCommands } from "./migrate-commands";
import { registerObsoleteCommands } from "./obsolete-commands";
import { ExitCode, reportError } from "./options";
import { registerPolicyCommands } from "./policy-commands";
import { registerRuleCommands } from "./rule-commands";
import { registerS3Commands } from "./s3-commands";
import { registerSchemaCommands } from "./schema-commands";
import { registerServeCommands } from "./serve-commands";
import { registerStatusCommands } from "./status-commands";
import { registerSubscriptionCommands } from "./subscription-commands";
import { registerTokenCommands } from "./token-commands";
import { registerTransferCommands } from "./transfers-commands";

/**
 * The dbb command: commander's program tree, one `register…Commands` per file under cli/.
 * Command files import their helpers from cli/options.ts, never this file.
 */
export function buildProgram(): Command {
  const program = new Command("dbb")
    .description("Data Backbone metadata gateway: catalog and facility services, rules, status, DIDs, transfers, tokens")
    .showHelpAfterError()
    // Usage errors (unknown option, missing argument, bad value) throw instead of exiting, so
    // main() gives them exit code 2; set before the subcommands, which inherit it.
    .exitOverride()
    .addHelpText(
      "after",
      "\nClient commands (rule, status, did, transfers) talk to the gateway at --url, DBB_URL or cli.url, with the token in DBB_TOKEN or cli.token.\n" +
        "--json prints one JSON document on stdout and nothing else; progress and messages go to stderr.\n" +
        "Exit codes: 0 ok, 1 error, 2 usage, 3 partial (a facility did not answer).",
    );

  const serve = registerServeCommands(program);
  registerAgentCommands(serve);
  registerS3Commands(serve);
  registerDevCommands(program);
  registerJudgeCommands(program);

  registerRuleCommands(program);
  registerStatusCommands(program);
  registerDidCommands(program);
  registerTransferCommands(program);
  registerPolicyCommands(program);
  registerSubscriptionCommands(program);
  registerObsoleteCommands(program);
  registerButlerCommands(program);

  registerMigrateCommands(program);
  registerTokenCommands(program);
  registerSchemaCommands(program);
  registerCompletionCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const json = argv.includes("--json");
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message already; --help and --version end here with 0.
      process.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    }
    process.exit(reportError(err, { json }));
  }
}
