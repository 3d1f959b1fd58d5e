import type { DbbError } from "../lib/errors";
import { ErrorCode } from "../lib/errors";
import type { Logger } from "../lib/logger";
import type { AgentState } from "./agent-state";
import type { AgentApi, Arrival } from "./api";

/**
 * Ingest on arrival, the agent's half: every file it copied is told to its own facility
 * (`recordArrivals`), in batches (what arrived in the last round, up to 1,000 a call, two calls at
 * a time), so a night of raws is not one call per file; the facility ingests each batch in one transaction and
 * records what each file became (Replica.ingest). A call that fails keeps its files for the next
 * round (the facility ignores a file delivered twice); at most `MAX_QUEUED` wait.
 */
export const ARRIVALS_PER_CALL = 1000;
/** Calls to the facility at once. */
export const IN_FLIGHT = 2;
const MAX_QUEUED = 100_000;

export class ArrivalQueue {
  private queue: Arrival[] = [];

  constructor(private readonly o: { api: AgentApi; state: AgentState; logger: Logger }) {}

  add(arrival: Arrival): void {
    if (this.queue.length >= MAX_QUEUED) {
      const dropped = this.queue.shift()!;
      this.o.state.error(ErrorCode.INGEST_BACKLOG_FULL, `${dropped.scope}:${dropped.name} was not told to the facility: ${MAX_QUEUED} arrivals were waiting`);
    }
    this.queue.push(arrival);
  }

  size(): number {
    return this.queue.length;
  }

  /**
   * Sends what is waiting, IN_FLIGHT calls at a time (the facility plans one batch while its
   * database ingests the other); returns how many files the facility took. A call that fails puts
   * its batch back and stops the round.
   */
  async flush(): Promise<{ sent: number; failed: number }> {
    const totals = { sent: 0, failed: 0 };
    let stopped = false;
    const take = () => (stopped ? [] : this.queue.splice(0, ARRIVALS_PER_CALL));
    const sender = async () => {
      for (let batch = take(); batch.length; batch = take()) {
        try {
          totals.failed += await this.send(batch);
        } catch (err) {
          stopped = true;
          this.queue.unshift(...batch);
          throw err;
        }
        totals.sent += batch.length;
      }
    };
    const outcomes = await Promise.allSettled(Array.from({ length: IN_FLIGHT }, sender));
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failure) throw failure.reason;
    return totals;
  }

  /** One call; returns how many of the batch's files failed (their errors kept). */
  private async send(batch: Arrival[]): Promise<number> {
    let failed = 0;
    let answers;
    try {
      answers = await this.o.api.recordArrivals(batch);
    } catch (err) {
      const e = err as DbbError;
      this.o.state.error(e.code ?? ErrorCode.NETWORK, `telling the facility of ${batch.length} arrivals failed: ${e.message}`);
      if (e.code !== ErrorCode.INVALID_INPUT) throw err;
      // The facility refused the batch for one file's input: tell it one at a time, so one
      // refused file never holds up the others (it is dropped, with its error kept).
      answers = [];
      for (const one of batch) {
        try {
          answers.push(...(await this.o.api.recordArrivals([one])));
        } catch (err1) {
          const e1 = err1 as DbbError;
          if (e1.code !== ErrorCode.INVALID_INPUT) throw err1;
          failed++;
          this.o.state.error(e1.code, `the facility refused the arrival of ${one.scope}:${one.name}: ${e1.message}`);
          this.o.logger.warn({ did: `${one.scope}:${one.name}`, err: e1.message }, "arrival refused by the facility; dropped");
        }
      }
    }
    for (const a of answers) {
      if (a.state === "FAILED") {
        failed++;
        this.o.state.error(a.error?.code ?? "INGEST_FAILED", `ingest of ${a.scope}:${a.name}: ${a.error?.message ?? "failed"}`);
      }
    }
    return failed;
  }
}
