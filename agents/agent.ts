import http from "node:http";
import os from "node:os";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Config } from "../lib/config";
import { DbbError, ErrorCode } from "../lib/errors";
import { GraphqlClient } from "../lib/graphql-client";
import { sendJson, sendMetrics } from "../lib/http-server";
import type { Logger } from "../lib/logger";
import { Loop, LoopMetrics, startLoop } from "../lib/loop";
import type { StorageDriver, StorageLocation } from "../lib/storage/driver";
import { createStorageCache } from "../lib/storage/factory";
import { codeVersion } from "../lib/version";
import { AgentState } from "./agent-state";
import { AgentApi } from "./api";
import { ArrivalQueue } from "./arrivals";
import { runDeletionsOnce } from "./deletion";
import { runRemovalsOnce } from "./removal";
import { TransferWork } from "./transfer";

/**
 * A facility's transfer agent (`dbb serve agent`): small loops over the work functions, as
 * Rucio's daemons loop over core functions (STYLE §6). Everything it asks goes through the
 * gateway with its token (scope agent:<FACILITY>): claims and reports to the catalog, read URLs
 * from the source facilities, its status to its own facility (Facility.agents). It serves
 * GET /health and Prometheus GET /metrics on its port.
 */
export interface AgentOptions {
  facility: string;
  token: string;
  port?: number;
  logger: Logger;
}

export interface RunningAgent {
  id: string;
  url: string;
  port: number;
  state: AgentState;
  close(): Promise<void>;
}

/** How long a stopping agent lets its copies finish before it abandons them. */
const STOP_GRACE_MS = 10_000;
/** How long a stopping agent waits for its last calls at most (its copies' grace included). */
const STOP_DEADLINE_MS = 20_000;

export function agentId(subject: string): string {
  return `${subject}@${os.hostname()}:${process.pid}`;
}

/** The token's subject (for the agent's id); the catalog checks the token itself. */
function subjectOf(token: string): string {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return typeof payload.sub === "string" && payload.sub ? payload.sub : "agent";
  } catch {
    return "agent";
  }
}


/** The pieces of one agent, for the loops and for `--once`. */
export function agentWork(config: Config, o: { facility: string; token: string; logger: Logger; registry: Registry; refill: boolean }) {
  const client = new GraphqlClient({ url: config.agent.gateway, token: o.token, timeoutMs: 60_000, userAgent: `dbb-agent-${o.facility}` });
  const api = new AgentApi(client, o.facility);
  const state = new AgentState(o.registry);
  // One driver (one S3 client and its connection pool) per destination RSE protocol.
  const drivers = createStorageCache(config.storage);
  const destination = (location: StorageLocation): StorageDriver => drivers.open(location);
  const arrivals = new ArrivalQueue({ api, state, logger: o.logger });
  const transfers = new TransferWork({
    api,
    streams: config.agent.streams,
    stallMs: config.agent.stallSeconds * 1000,
    destination,
    state,
    logger: o.logger,
    refill: o.refill,
    onArrival: (a) => arrivals.add(a),
    lfaIngest: config.agent.lfaIngest,
  });
  const deletions = () => runDeletionsOnce({ api, batch: config.agent.deletionBatch, concurrency: config.agent.streams, destination, state, logger: o.logger });
  const removals = () => runRemovalsOnce({ api, state, logger: o.logger });
  return { api, state, transfers, deletions, removals, arrivals, close: () => drivers.close() };
}

export async function startAgent(config: Config, o: AgentOptions): Promise<RunningAgent> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const loopMetrics = new LoopMetrics(registry);
  const id = agentId(subjectOf(o.token));
  const logger = o.logger.child({ agent: id });
  const { api, state, transfers, deletions, removals, arrivals, close: closeDrivers } = agentWork(config, { facility: o.facility, token: o.token, logger, registry, refill: true });
  let lastContact: Date | null = null;

  const status = (stopped = false) => ({
    id,
    host: os.hostname(),
    pid: process.pid,
    version: codeVersion(),
    streams: config.agent.streams,
    activeTransfers: state.activeTransfers,
    bytesPerSecond: state.takeRate(),
    bytesTotal: state.bytesTotal,
    transfersDone: state.transfersDone,
    transfersFailed: state.transfersFailed,
    deletionsDone: state.deletionsDone,
    recentErrors: state.recentErrors,
    reportSeconds: config.agent.reportSeconds,
    stopped,
  });

  // Leases: extended every third of their life; a copy whose lease is not returned is dropped.
  const leaseMs = Math.max(1000, (config.transfers.leaseSeconds * 1000) / 3);
  const loops: Loop[] = [
    startLoop({
      name: "agent-transfers",
      intervalMs: config.agent.pollSeconds * 1000,
      logger,
      metrics: loopMetrics,
      round: async () => {
        const started = await transfers.fill();
        lastContact = new Date();
        return started;
      },
    }),
    startLoop({
      name: "agent-deletions",
      intervalMs: config.agent.pollSeconds * 1000,
      logger,
      metrics: loopMetrics,
      round: deletions,
      // A full batch claimed and some of it deleted: more are due, claimed again at once (one
      // batch per pollSeconds capped an agent at deletionBatch / pollSeconds, 50 deletions a
      // second by default). A store failing every delete is tried at the interval's pace.
      again: (r) => r.claimed >= config.agent.deletionBatch && r.deleted > 0,
      describe: (r) => (r.deleted || r.failed ? `deleted ${r.deleted} objects (and ${r.datasetsRemoved} Butler datasets), ${r.failed} failed` : undefined),
    }),
    startLoop({
      name: "agent-removals",
      intervalMs: config.agent.pollSeconds * 1000,
      logger,
      metrics: loopMetrics,
      round: removals,
      describe: (r) => (r.finished || r.failed ? `finished ${r.finished} removals here, ${r.failed} failed` : undefined),
    }),
    startLoop({
      name: "agent-leases",
      intervalMs: leaseMs,
      logger,
      metrics: loopMetrics,
      round: async () => {
        const leases = transfers.leases();
        if (!leases.length) return 0;
        let held: string[];
        try {
          held = await api.heartbeat(leases);
        } catch (err) {
          // Unreachable catalog: keep copying; if it stays away the leases lapse and reports fail with LEASE_LOST.
          state.error((err as DbbError).code ?? ErrorCode.NETWORK, `heartbeat failed: ${(err as Error).message}`);
          throw err;
        }
        transfers.dropLost(leases, new Set(held));
        return held.length;
      },
    }),
    startLoop({
      name: "agent-arrivals",
      intervalMs: 1000,
      logger,
      metrics: loopMetrics,
      round: () => arrivals.flush(),
      describe: (r) => (r.failed ? `told the facility of ${r.sent} arrivals; ${r.failed} failed to ingest` : undefined),
    }),
    startLoop({
      name: "agent-status",
      intervalMs: config.agent.reportSeconds * 1000,
      logger,
      metrics: loopMetrics,
      round: () => api.reportStatus(status()),
    }),
  ];
  // Report at once, so the agent shows in Facility.agents from its start.
  void api.reportStatus(status()).catch((err) => logger.warn({ err: (err as Error).message }, "first status report failed; it is retried"));

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://agent");
    if (req.method === "GET" && url.pathname === "/health") {
      sendJson(res, 200, { status: "ok", agent: id, facility: o.facility, activeTransfers: state.activeTransfers, lastContact });
      return;
    }
    if (req.method === "GET" && url.pathname === "/metrics") {
      void sendMetrics(res, registry);
      return;
    }
    sendJson(res, 404, { error: `no such path ${url.pathname}; the agent serves GET /health and GET /metrics` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? config.agent.port, config.agent.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  logger.info({ port, gateway: config.agent.gateway, streams: config.agent.streams }, "agent running");
  return {
    id,
    port,
    url: `http://${config.agent.host}:${port}`,
    state,
    async close() {
      // A clean stop is bounded: when the gateway is gone too (dbb dev killed), each last call
      // would otherwise wait out the client's 60 s timeout; what is not done by then is left to
      // the leases.
      const graceful = (async () => {
        await transfers.stop(STOP_GRACE_MS);
        await Promise.all(loops.map((l) => l.stop()));
        await arrivals.flush().catch((err) => logger.warn({ err: (err as Error).message, waiting: arrivals.size() }, "arrivals not told to the facility at stop"));
        await api.reportStatus(status(true)).catch(() => undefined);
      })();
      await Promise.race([graceful, new Promise<void>((resolve) => setTimeout(resolve, STOP_DEADLINE_MS).unref())]);
      closeDrivers();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
