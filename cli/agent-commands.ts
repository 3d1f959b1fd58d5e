import type { Command } from "commander";
import { Registry } from "prom-client";
import { agentWork, startAgent } from "../agents/agent";
import { loadConfig } from "../lib/config";
import { DbbError, ErrorCode } from "../lib/errors";
import { createLogger } from "../lib/logger";
import { checkFacilityCode } from "../subgraphs/facility/names";
import { port, stopOn } from "./options";

/** The agent's token, from DBB_TOKEN; without one, how to get one. */
function agentToken(facility: string): string {
  const token = process.env.DBB_TOKEN;
  if (!token) {
    throw new DbbError(
      ErrorCode.UNAUTHENTICATED,
      `the agent needs a token with the scope agent:${facility} in DBB_TOKEN; for a local federation: export DBB_TOKEN=$(dbb token --subject agent-${facility.toLowerCase()} --scope agent:${facility} --ttl 30d)`,
    );
  }
  return token;
}

/** `dbb serve agent`: a facility's transfer agent, as a daemon or one round at a time. */
export function registerAgentCommands(serve: Command): void {
  serve
    .command("agent")
    .description(
      "a facility's transfer agent: copies what the catalog asks into the facility's RSEs (verified), deletes what it asks removed; " +
        "talks to the gateway (agent.gateway, DBB_GATEWAY_URL) with the token in DBB_TOKEN; GET /health and /metrics on its port",
    )
    .requiredOption("-f, --facility <code>", "the facility it works for (its token needs agent:<code>)")
    .option("-p, --port <port>", "port of /health and /metrics (default 4010, or agent.port)", port)
    .option("--once", "claim one round of transfers and deletions (and finish removals), carry them out, print what it did as JSON, and exit")
    .option("-c, --config <file>", "YAML configuration file (storage credentials of the facility's RSEs under storage.credentials)")
    .action(async (opts: { facility: string; port?: number; once?: boolean; config?: string }) => {
      const config = loadConfig(opts.config);
      const facility = checkFacilityCode(opts.facility);
      const token = agentToken(facility);
      const logger = createLogger(config.log.level, `agent-${facility}`);
      if (opts.once) {
        const work = agentWork(config, { facility, token, logger, registry: new Registry(), refill: false });
        const transfers = await work.transfers.runOnce();
        const ingest = await work.arrivals.flush();
        const deletions = await work.deletions();
        const removals = await work.removals();
        work.close();
        const s = work.state;
        process.stdout.write(
          JSON.stringify({ transfersStarted: transfers.started, transfersDone: s.transfersDone, transfersFailed: s.transfersFailed, bytes: s.bytesTotal, arrivalsSent: ingest.sent, ingestFailed: ingest.failed, ...deletions, removalsFinished: removals.finished, errors: s.recentErrors }) + "\n",
        );
        return;
      }
      const agent = await startAgent(config, { facility, token, port: opts.port, logger });
      process.stderr.write(`agent ${agent.id} for ${facility} running (${config.agent.streams} streams, gateway ${config.agent.gateway}); health at ${agent.url}/health; Ctrl-C stops it\n`);
      stopOn(() => agent.close());
    });
}
