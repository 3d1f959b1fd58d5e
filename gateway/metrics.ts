import type { ApolloServerPlugin } from "@apollo/server";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Seconds, from a fast cached answer to a facility at its timeout. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Distinct operation names kept as label values; later new names count as "other". */
export const MAX_OPERATION_LABELS = 200;

/** The gateway's Prometheus metrics, served at GET /metrics. */
export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly operationLabels = new Set<string>();
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

  /**
   * The label of an operation name. Names come from clients, so only well-formed ones become label
   * values, and only the first MAX_OPERATION_LABELS distinct ones: a client making up names cannot
   * grow the metrics without bound.
   */
  operationLabel(operationName: string | null | undefined): string {
    if (!operationName) return "anonymous";
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(operationName)) return "invalid";
    if (this.operationLabels.has(operationName)) return operationName;
    if (this.operationLabels.size >= MAX_OPERATION_LABELS) return "other";
    this.operationLabels.add(operationName);
    return operationName;
  }

  /** Counts each operation and times it, by operation name ("anonymous" without one). */
  plugin(): ApolloServerPlugin {
    return {
      requestDidStart: async () => {
        const started = process.hrtime.bigint();
        let operation = "unparsed";
        return {
          didResolveOperation: async ({ operationName }) => {
            operation = this.operationLabel(operationName);
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
