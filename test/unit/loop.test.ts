import { createLogger } from "../../lib/logger";
import { runRound, startLoop } from "../../lib/loop";

const logger = createLogger("silent", "test");
const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe("the loop helper", () => {
  it("never overlaps a round that is slower than the interval with the next", async () => {
    let active = 0;
    let maxActive = 0;
    const ends: number[] = [];
    const starts: number[] = [];
    const loop = startLoop({
      name: "slow",
      intervalMs: 10,
      logger,
      round: async () => {
        starts.push(Date.now());
        maxActive = Math.max(maxActive, ++active);
        await new Promise((r) => setTimeout(r, 50));
        active--;
        ends.push(Date.now());
      },
    });
    await until(() => ends.length >= 4);
    await loop.stop();
    expect(maxActive).toBe(1);
    // Each round starts only after the previous one ended (plus the interval).
    for (let i = 1; i < ends.length; i++) expect(starts[i]).toBeGreaterThanOrEqual(ends[i - 1]);
    expect(loop.state().rounds).toBe(ends.length);
  });

  it("starts the next round at once after a round that says more work waits, and waits the interval after one that does not or fails", async () => {
    // A backlog of 5 full batches, then an empty round, then a failing store.
    const results = [true, true, true, true, true, false];
    const starts: number[] = [];
    const started = Date.now();
    const loop = startLoop({
      name: "backlog",
      intervalMs: 200,
      logger,
      round: async () => {
        starts.push(Date.now());
        if (!results.length) throw new Error("store down");
        return results.shift()!;
      },
      again: (more) => more,
    });
    await until(() => starts.length >= 8);
    await loop.stop();
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    // The first round waits the interval; rounds 2 to 6 follow a full batch at once; round 7
    // waits the interval after the empty round, round 8 after the failed one.
    expect(starts[0] - started).toBeGreaterThanOrEqual(190);
    for (const gap of gaps.slice(0, 5)) expect(gap).toBeLessThan(100);
    expect(gaps[5]).toBeGreaterThanOrEqual(190);
    expect(gaps[6]).toBeGreaterThanOrEqual(190);
    expect(loop.state().failures).toBeGreaterThanOrEqual(1);
  });

  it("stops after the running round has finished, and runs no more", async () => {
    let finished = 0;
    let started = 0;
    const loop = startLoop({
      name: "stop",
      intervalMs: 1,
      logger,
      round: async () => {
        started++;
        await new Promise((r) => setTimeout(r, 30));
        finished++;
      },
    });
    await until(() => started === 1);
    await loop.stop();
    expect(finished).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toBe(1);
  });

  it("counts a failed round and goes on with the next", async () => {
    let calls = 0;
    const loop = startLoop({
      name: "flaky",
      intervalMs: 1,
      logger,
      round: async () => {
        if (++calls === 1) throw new Error("database went away");
        return calls;
      },
    });
    await until(() => loop.state().rounds >= 3);
    await loop.stop();
    expect(loop.state()).toMatchObject({ failures: 1, lastError: "database went away" });
  });

  it("runs one round on demand (the --once mode) and returns what it did", async () => {
    await expect(runRound({ name: "once", logger, round: async () => ({ expiredRules: 2 }) })).resolves.toEqual({ expiredRules: 2 });
    await expect(runRound({ name: "once", logger, round: async () => Promise.reject(new Error("no")) })).rejects.toThrow("no");
  });
});
