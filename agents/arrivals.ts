import type { DbbError } from "../lib/errors";
import { ErrorCode } from "../lib/errors";
import type { Logger } from "../lib/logger";
import type { AgentState } from "./agent-state";
import type { AgentApi, Arrival } from "./api";

/**
 * Ingest on arrival, the agent's half: every file it copied is told to its own facility
 * (`recordArrivals`), in batches (what arrived in the last round, up to 1,000 a call), so a night
 * of raws is not one call per file; the facility ingests each batch in one transaction and
 * records what each file became (Replica.ingest). A call that fails keeps its files for the next
 * round (the facility ignores a file delivered twice); at most `MAX_QUEUED` wait.
 */
export const ARRIVALS_PER_CALL = 1000;
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

  /** Sends what is waiting; returns how many files the facility took. */
  async flush(): Promise<{ sent: number; failed: number }> {
    let sent = 0;
    let failed = 0;
    while (this.queue.length) {
      const batch = this.queue.slice(0, ARRIVALS_PER_CALL);
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
      this.queue.splice(0, batch.length);
      sent += batch.length;
      for (const a of answers) {
        if (a.state === "FAILED") {
          failed++;
          this.o.state.error(a.error?.code ?? "INGEST_FAILED", `ingest of ${a.scope}:${a.name}: ${a.error?.message ?? "failed"}`);
        }
      }
    }
    return { sent, failed };
  }
}
