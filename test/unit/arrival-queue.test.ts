import { Registry } from "prom-client";
import { AgentState } from "../../agents/agent-state";
import type { AgentApi, Arrival } from "../../agents/api";
import { ArrivalQueue, ARRIVALS_PER_CALL, IN_FLIGHT } from "../../agents/arrivals";
import { DbbError, ErrorCode } from "../../lib/errors";
import { createLogger } from "../../lib/logger";

/**
 * The agent's half of ingest on arrival: batches of ARRIVALS_PER_CALL, IN_FLIGHT calls at a time,
 * and nothing lost when a call fails. The facility here is a stand-in that records its calls (the
 * real round trip is test/integration/agent-arrivals.test.ts).
 */
function facility(options: { failCall?: number } = {}) {
  const calls: Arrival[][] = [];
  let active = 0;
  let maxActive = 0;
  const api = {
    async recordArrivals(batch: Arrival[]) {
      const n = calls.push(batch);
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      if (n === options.failCall) throw new DbbError(ErrorCode.NETWORK, "the facility did not answer");
      return batch.map((a) => ({ scope: a.scope, name: a.name, state: "INGESTED", error: null }));
    },
  } as unknown as AgentApi;
  return { api, calls, maxActive: () => maxActive };
}

const arrivals = (n: number): Arrival[] => Array.from({ length: n }, (_, i) => ({ scope: "raw", name: `f${i}.fits`, rse: "USDF_DISK", path: `raw/f${i}.fits`, bytes: 1 }) as Arrival);

describe("the agent's arrival queue", () => {
  it("sends every file once, in batches, two calls at a time", async () => {
    const f = facility();
    const queue = new ArrivalQueue({ api: f.api, state: new AgentState(new Registry()), logger: createLogger("silent", "test") });
    const files = arrivals(2 * ARRIVALS_PER_CALL + 500);
    files.forEach((a) => queue.add(a));
    expect(await queue.flush()).toEqual({ sent: files.length, failed: 0 });
    expect(f.calls.map((c) => c.length)).toEqual([ARRIVALS_PER_CALL, ARRIVALS_PER_CALL, 500]);
    expect(f.maxActive()).toBe(IN_FLIGHT);
    expect(new Set(f.calls.flat().map((a) => a.name)).size).toBe(files.length);
    expect(queue.size()).toBe(0);
  });

  it("keeps a failed call's files for the next round, and loses none", async () => {
    const f = facility({ failCall: 2 });
    const queue = new ArrivalQueue({ api: f.api, state: new AgentState(new Registry()), logger: createLogger("silent", "test") });
    const files = arrivals(3 * ARRIVALS_PER_CALL);
    files.forEach((a) => queue.add(a));
    await expect(queue.flush()).rejects.toMatchObject({ code: ErrorCode.NETWORK });
    expect(queue.size()).toBe(ARRIVALS_PER_CALL);
    await queue.flush();
    expect(queue.size()).toBe(0);
    const delivered = new Set([...f.calls.slice(0, 1), ...f.calls.slice(2)].flat().map((a) => a.name));
    expect(delivered.size).toBe(files.length);
  });
});
