import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { GatewayGraphQLResponse } from "@apollo/server-gateway-interface";
import { Kind, OperationDefinitionNode, parse, valueFromASTUntyped } from "graphql";
import { ErrorCode } from "../lib/errors";
import type { Logger } from "../lib/logger";
import type { GatewayMetrics } from "./metrics";
import { Endpoint, postGraphQL } from "./subgraph-status";

/**
 * The data source behind the one `facility` subgraph of the supergraph. N facilities serve the
 * same subgraph schema over different data, so this router sends each request to the right
 * facility (DESIGN.md, "Facility routing"):
 *
 * - `_entities` fetches are split by the facility code in each representation's key (`facility`,
 *   `facilityCode`, or `code` of a Facility), sent to each facility concurrently, and stitched
 *   back in the original order with error paths remapped;
 * - other operations (mutations, root queries) go to the facility named by the root fields'
 *   `facility` argument.
 *
 * A facility that is down, too slow (per-facility timeout) or serving another schema yields null
 * for its part plus an error with `extensions.code = "FACILITY_UNAVAILABLE"` and its code; the
 * rest of the answer stands.
 */
export const FACILITY_UNAVAILABLE = ErrorCode.FACILITY_UNAVAILABLE;
export const FACILITY_REQUIRED = "FACILITY_REQUIRED";

export interface RouterContext {
  authorization?: string;
  requestId?: string;
}

type GraphQLErrorJson = { message: string; path?: Array<string | number>; extensions?: Record<string, unknown>; locations?: unknown };

/** The facility code a representation is keyed by. */
export function facilityOfRepresentation(rep: Record<string, unknown>): string | undefined {
  for (const key of ["facility", "facilityCode"]) if (typeof rep[key] === "string") return rep[key] as string;
  if (rep.__typename === "Facility" && typeof rep.code === "string") return rep.code;
  return undefined;
}

export class FacilityRouter implements GraphQLDataSource<RouterContext> {
  constructor(
    private readonly facilities: Map<string, Endpoint>,
    private readonly options: { timeoutMs: number; logger: Logger; metrics: GatewayMetrics },
  ) {}

  /** The configured endpoint for a code, matched regardless of case. */
  endpoint(code: string): Endpoint | undefined {
    return this.facilities.get(code.toLowerCase());
  }

  private headers(context: RouterContext): Record<string, string> {
    const headers: Record<string, string> = {};
    if (context.authorization) headers.authorization = context.authorization;
    if (context.requestId) headers["x-request-id"] = context.requestId;
    return headers;
  }

  private unavailable(code: string, reason: string, path?: Array<string | number>): GraphQLErrorJson {
    return {
      message: `facility ${code} is unavailable: ${reason}`,
      ...(path ? { path } : {}),
      extensions: { code: FACILITY_UNAVAILABLE, facility: code },
    };
  }

  /** Sends one request to one facility, timing it and counting the outcome. */
  private async send(endpoint: Endpoint, body: { query: string; variables?: Record<string, unknown>; operationName?: string }, context: RouterContext) {
    if (endpoint.state === "schema-mismatch") throw new Error(endpoint.error ?? "serves a different schema");
    const started = process.hrtime.bigint();
    try {
      const res = await postGraphQL(endpoint.url, body, this.headers(context), this.options.timeoutMs);
      this.options.metrics.facilityRequests.inc({ facility: endpoint.name, outcome: res.errors?.length ? "error" : "ok" });
      return res;
    } catch (err) {
      this.options.metrics.facilityRequests.inc({ facility: endpoint.name, outcome: "unavailable" });
      const e = err as Error;
      const reason = e.name === "TimeoutError" ? `no answer within ${this.options.timeoutMs} ms` : e.message;
      this.options.logger.warn({ facility: endpoint.name, requestId: context.requestId, err: reason }, "facility request failed");
      throw new Error(reason);
    } finally {
      this.options.metrics.facilityLatency.observe({ facility: endpoint.name }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  async process(options: GraphQLDataSourceProcessOptions<RouterContext>): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    const context = (options.context ?? {}) as RouterContext;
    const query = request.query ?? "";
    const variables = (request.variables ?? {}) as Record<string, unknown>;
    const representations = variables.representations;
    if (Array.isArray(representations) && /\b_entities\b/.test(query)) {
      return this.routeEntities(query, variables, representations as Array<Record<string, unknown>>, request.operationName, context);
    }
    return this.routeOperation(query, variables, request.operationName, context);
  }

  private async routeEntities(
    query: string,
    variables: Record<string, unknown>,
    representations: Array<Record<string, unknown>>,
    operationName: string | undefined,
    context: RouterContext,
  ): Promise<GatewayGraphQLResponse> {
    const results: unknown[] = new Array(representations.length).fill(null);
    const errors: GraphQLErrorJson[] = [];
    const groups = new Map<string, { code: string; indices: number[] }>();
    representations.forEach((rep, i) => {
      const code = facilityOfRepresentation(rep);
      if (!code) {
        errors.push({ message: `a ${String(rep.__typename)} without a facility code cannot be routed to a facility`, path: ["_entities", i], extensions: { code: FACILITY_REQUIRED } });
        return;
      }
      const key = code.toLowerCase();
      if (!groups.has(key)) groups.set(key, { code, indices: [] });
      groups.get(key)!.indices.push(i);
    });
    await Promise.all(
      [...groups.entries()].map(async ([key, { code, indices }]) => {
        const endpoint = this.facilities.get(key);
        if (!endpoint) {
          // Not a facility this gateway serves: nothing to resolve there, but say so.
          for (const i of indices) errors.push(this.unavailable(code, "no such facility is configured at this gateway", ["_entities", i]));
          return;
        }
        try {
          const res = await this.send(endpoint, { query, operationName, variables: { ...variables, representations: indices.map((i) => representations[i]) } }, context);
          const entities: unknown[] = res.data?._entities ?? [];
          indices.forEach((original, j) => (results[original] = entities[j] ?? null));
          for (const err of res.errors ?? []) {
            const path = Array.isArray(err.path) ? [...err.path] : undefined;
            if (path && path[0] === "_entities" && typeof path[1] === "number") path[1] = indices[path[1]] ?? path[1];
            errors.push({ ...err, ...(path ? { path } : {}), extensions: { ...(err.extensions ?? {}), facility: endpoint.name } });
          }
        } catch (err) {
          for (const i of indices) errors.push(this.unavailable(endpoint.name, (err as Error).message, ["_entities", i]));
        }
      }),
    );
    return { data: { _entities: results }, ...(errors.length ? { errors } : {}) } as GatewayGraphQLResponse;
  }

  /** Routes a non-entity operation by the `facility` argument of its root fields. */
  private async routeOperation(
    query: string,
    variables: Record<string, unknown>,
    operationName: string | undefined,
    context: RouterContext,
  ): Promise<GatewayGraphQLResponse> {
    const codes = new Set<string>();
    const doc = parse(query);
    const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    for (const sel of op?.selectionSet.selections ?? []) {
      if (sel.kind !== Kind.FIELD || sel.name.value.startsWith("__")) continue;
      const arg = sel.arguments?.find((a) => a.name.value === "facility");
      const value = arg ? valueFromASTUntyped(arg.value, variables) : undefined;
      if (typeof value === "string") codes.add(value.toLowerCase());
      else codes.add("");
    }
    if (codes.size !== 1 || codes.has("")) {
      return {
        errors: [
          {
            message: "this operation reaches the facility registries: name exactly one facility with the root fields' `facility` argument",
            extensions: { code: FACILITY_REQUIRED },
          },
        ],
      } as GatewayGraphQLResponse;
    }
    const [key] = [...codes];
    const endpoint = this.facilities.get(key);
    if (!endpoint) return { errors: [this.unavailable(key, "no such facility is configured at this gateway")] } as GatewayGraphQLResponse;
    try {
      const res = await this.send(endpoint, { query, variables, operationName }, context);
      return { ...res, errors: res.errors?.map((e) => ({ ...e, extensions: { ...(e.extensions ?? {}), facility: endpoint.name } })) } as GatewayGraphQLResponse;
    } catch (err) {
      return { data: null, errors: [this.unavailable(endpoint.name, (err as Error).message)] } as GatewayGraphQLResponse;
    }
  }
}
