import type { ApolloServerPlugin } from "@apollo/server";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Seconds, from a fast cached answer to a facility at its timeout. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The gateway's Prometheus metrics, served at GET /metrics. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "dbb_gateway_requests_total",
    help: "GraphQL operations by operation name and outcome (ok, error).",
    labelNames: ["operation", "outcome"],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "dbb_gateway_request_duration_seconds",
    help: "GraphQL operation latency by operation name.",
    labelNames: ["operation"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly facilityRequests = new Counter({
    name: "dbb_gateway_facility_requests_total",
    help: "Requests the gateway sent to each facility subgraph, by outcome (ok, error, unavailable).",
    labelNames: ["facility", "outcome"],
    registers: [this.registry],
  });
  readonly facilityLatency = new Histogram({
    name: "dbb_gateway_facility_request_duration_seconds",
    help: "Latency of requests to each facility subgraph.",
    labelNames: ["facility"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "dbb_gateway_" });
  }

  /** Counts each operation and times it, by operation name ("anonymous" without one). */
  // Operation names come from clients: only well-formed ones become label values.
  plugin(): ApolloServerPlugin {
    return {
      requestDidStart: async () => {
        const started = process.hrtime.bigint();
        let operation = "unparsed";
        return {
          didResolveOperation: async ({ operationName }) => {
            operation = !operationName ? "anonymous" : /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(operationName) ? operationName : "invalid";
          },
          willSendResponse: async ({ errors, response }) => {
            const failed = (errors?.length ?? 0) > 0 || (response.body.kind === "single" && (response.body.singleResult.errors?.length ?? 0) > 0);
            this.requests.inc({ operation, outcome: failed ? "error" : "ok" });
            this.latency.observe({ operation }, Number(process.hrtime.bigint() - started) / 1e9);
          },
        };
      },
    };
  }
}
