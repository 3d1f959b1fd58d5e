/**
 * What the status page makes of its answers: which facilities are up, down or on another schema
 * (from `GET /ready` and from FACILITY_UNAVAILABLE errors in the latest answer), the last known
 * values of a facility that stopped answering (shown greyed, with their age), and the problems an
 * operator should see first. Plain code, no DOM: the browser bundle and the tests use it.
 */

export type EndpointState = "up" | "down" | "schema-mismatch" | "unknown";

export interface ReadyEndpoint {
  name: string;
  url?: string;
  state: string;
  error?: string | null;
}

export interface ReadyBody {
  status?: string;
  catalog: ReadyEndpoint;
  facilities: ReadyEndpoint[];
}

export interface GraphQLErrorShape {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string; facility?: string; [key: string]: unknown };
}

export interface GraphQLReply<T = any> {
  data?: T | null;
  errors?: GraphQLErrorShape[];
}

/** Codes (lower case) of the facilities a reply says did not answer. */
export function unavailableFacilities(reply: GraphQLReply | null | undefined): Set<string> {
  const out = new Set<string>();
  for (const e of reply?.errors ?? []) {
    if (e.extensions?.code === "FACILITY_UNAVAILABLE" && typeof e.extensions.facility === "string") out.add(e.extensions.facility.toLowerCase());
  }
  return out;
}

/** Errors of a reply other than FACILITY_UNAVAILABLE (those are shown on their facility). */
export function otherErrors(reply: GraphQLReply | null | undefined): GraphQLErrorShape[] {
  return (reply?.errors ?? []).filter((e) => e.extensions?.code !== "FACILITY_UNAVAILABLE");
}

export interface FacilityHealth {
  state: EndpointState;
  /** Why it is not up, as /ready or the gateway said. */
  error: string | null;
}

/**
 * A facility's state: what /ready said at the gateway's last check, and down when the latest
 * GraphQL answer had no part from it (a facility can die between the gateway's checks).
 */
export function facilityHealth(code: string, ready: ReadyBody | null | undefined, unavailable: Set<string>): FacilityHealth {
  const entry = ready?.facilities?.find((f) => f.name.toLowerCase() === code.toLowerCase());
  if (unavailable.has(code.toLowerCase())) {
    return { state: "down", error: entry && entry.state !== "up" && entry.error ? `not answering: ${entry.error}` : "did not answer the gateway" };
  }
  if (!entry) return { state: "unknown", error: null };
  const state = (["up", "down", "schema-mismatch"].includes(entry.state) ? entry.state : "unknown") as EndpointState;
  return { state, error: state === "up" ? null : entry.error ? (state === "down" ? `not answering: ${entry.error}` : entry.error) : null };
}

/** The facility fields the facility subgraphs answer (null from a facility that is down). */
const FACILITY_OWNED = ["agents", "ingestSummary"] as const;

export interface KnownFacility {
  code: string;
  [field: string]: unknown;
  /** For each facility-owned field shown from an earlier answer: when that answer came (ms since the epoch). */
  staleSince?: Record<string, number>;
}

/**
 * The facilities of the latest answer, each facility-owned field that came back null (its
 * facility did not answer) replaced by its value from the previous merge, marked stale since then.
 */
export function mergeFacilities(previous: KnownFacility[] | null | undefined, current: KnownFacility[] | null | undefined, previousAt: number): KnownFacility[] {
  if (!current) return previous ?? [];
  return current.map((f) => {
    const before = previous?.find((p) => p.code === f.code);
    const merged: KnownFacility = { ...f };
    const stale: Record<string, number> = {};
    for (const field of FACILITY_OWNED) {
      if (f[field] == null && before && before[field] != null) {
        merged[field] = before[field];
        stale[field] = before.staleSince?.[field] ?? previousAt;
      }
    }
    if (Object.keys(stale).length) merged.staleSince = stale;
    else delete merged.staleSince;
    return merged;
  });
}

export type Severity = "bad" | "warn";

export interface Problem {
  severity: Severity;
  /** A stable key (what and where), for the page and the tests. */
  key: string;
  text: string;
}

interface AgentShape {
  id: string;
  state: string;
  lastSeen?: string;
}

interface LiveShape {
  facilities?: Array<{
    code: string;
    agents?: AgentShape[] | null;
    transferCounts?: { queued: number; retrying: number; active: number } | null;
    ingestSummary?: { failed: number; failures: Array<{ code: string; count: number }> } | null;
  }> | null;
  stuck?: { totalCount: number; nodes: Array<{ error: string | null; did?: { name: string } | null }> } | null;
}

interface SlowShape {
  subscriptions?: Array<{ name: string; state: string; lastError: string | null }> | null;
  lastHour?: { links: Array<{ source: string | null; destination: string; failed: number; errors: Array<{ code: string; count: number }> }> } | null;
}

export interface ProblemInput {
  ready: ReadyBody | null;
  /** Why the last request to the gateway failed (network, HTTP status), if it did. */
  gatewayError: string | null;
  live: LiveShape | null;
  slow: SlowShape | null;
  unavailable: Set<string>;
}

const codes = (errors: Array<{ code: string; count: number }>) => errors.map((e) => (e.count > 1 ? `${e.code} ×${e.count}` : e.code)).join(", ");

/** What an operator should look at first, the worst first. */
export function problemsOf(input: ProblemInput): Problem[] {
  const out: Problem[] = [];
  if (input.gatewayError) out.push({ severity: "bad", key: "gateway", text: `The gateway is not answering: ${input.gatewayError}` });
  const catalog = input.ready?.catalog;
  if (catalog && catalog.state !== "up") {
    out.push({ severity: "bad", key: "catalog", text: `The catalog is ${catalog.state}${catalog.error ? `: ${catalog.error}` : ""}` });
  }
  const facilityCodes = new Set<string>([
    ...(input.live?.facilities ?? []).map((f) => f.code),
    ...(input.ready?.facilities ?? []).map((f) => f.name),
  ]);
  for (const code of facilityCodes) {
    const health = facilityHealth(code, input.ready, input.unavailable);
    if (health.state === "down") out.push({ severity: "bad", key: `facility-down:${code}`, text: `${code} is down${health.error ? ` (${health.error})` : ""}: its parts below are greyed, as last known` });
    if (health.state === "schema-mismatch") {
      out.push({ severity: "bad", key: `facility-schema:${code}`, text: `${code} serves another schema version and is left out${health.error ? `: ${health.error}` : ""}` });
    }
  }
  const stuck = input.live?.stuck;
  if (stuck && stuck.totalCount > 0) {
    const first = stuck.nodes[0];
    out.push({
      severity: "bad",
      key: "rules-stuck",
      text: `${stuck.totalCount} rule${stuck.totalCount === 1 ? "" : "s"} STUCK${first?.error ? ` (${first.error.length > 120 ? `${first.error.slice(0, 117)}…` : first.error})` : ""}`,
    });
  }
  for (const s of input.slow?.subscriptions ?? []) {
    if (s.state === "FAILING") out.push({ severity: "bad", key: `subscription-failing:${s.name}`, text: `Policy ${s.name} is FAILING: ${s.lastError ?? "no error kept"}` });
  }
  for (const f of input.live?.facilities ?? []) {
    const waiting = (f.transferCounts?.queued ?? 0) + (f.transferCounts?.retrying ?? 0);
    const agents = f.agents;
    if (agents && waiting > 0 && !agents.some((a) => a.state === "ALIVE")) {
      out.push({ severity: "bad", key: `no-agent:${f.code}`, text: `${f.code} has ${waiting} transfers waiting and no live agent` });
    }
    for (const a of agents ?? []) {
      if (a.state === "LATE") out.push({ severity: "warn", key: `agent-late:${a.id}`, text: `Agent ${a.id} at ${f.code} is silent (LATE)` });
    }
    const ingest = f.ingestSummary;
    if (ingest && ingest.failed > 0) {
      out.push({ severity: "warn", key: `ingest-failed:${f.code}`, text: `${ingest.failed} file${ingest.failed === 1 ? "" : "s"} failed ingest at ${f.code} (${codes(ingest.failures)})` });
    }
  }
  for (const l of input.slow?.lastHour?.links ?? []) {
    if (l.failed > 0) {
      out.push({
        severity: "warn",
        key: `link-failed:${l.source ?? "?"}>${l.destination}`,
        text: `${l.failed} failed transfer attempt${l.failed === 1 ? "" : "s"} ${l.source ?? "?"} → ${l.destination} in the last hour (${codes(l.errors)})`,
      });
    }
  }
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "bad" ? -1 : 1));
}
