import { Counter, Gauge, Registry } from "prom-client";
import type { Logger } from "./logger";

/**
 * One helper for every periodic job (the catalog's judge now; the agents' claim loops and the
 * subscription matcher next), as Rucio's daemons wrap a run-once function: run a round, wait out
 * the interval after it ends (so a slow round never overlaps or queues the next; a round that
 * says more work waits, `again`, is followed at once), stop cleanly
 * (the running round finishes), count and log failures, and expose the last run as metrics.
 * Sharing the work between processes is the round's business: it claims its rows with
 * `FOR UPDATE SKIP LOCKED`, so two processes never do the same piece.
 */
export interface LoopOptions<R> {
  /** Names the loop in logs and metrics (`judge`, `agent-transfers`, …). */
  name: string;
  intervalMs: number;
  round: () => Promise<R>;
  logger: Logger;
  /** Logged at info when it returns a message (e.g. only when the round did something). */
  describe?: (result: R) => string | undefined;
  /**
   * Whether more work is waiting after this round (it claimed a full batch): then the next round
   * starts at once instead of after the interval, as Rucio's daemons do not sleep after a full
   * chunk. Without it a loop does at most one batch per interval, whatever is queued.
   */
  again?: (result: R) => boolean;
  metrics?: LoopMetrics;
}

export interface LoopState {
  rounds: number;
  failures: number;
  lastRunAt: Date | null;
  lastDurationMs: number | null;
  lastError: string | null;
}

export interface Loop {
  state(): LoopState;
  /** Stops after the running round, if any, has finished. */
  stop(): Promise<void>;
}

/** Prometheus metrics of loops, one series per loop name. */
export class LoopMetrics {
  readonly rounds: Counter<"loop" | "outcome">;
  readonly lastRun: Gauge<"loop">;
  readonly lastDuration: Gauge<"loop">;

  constructor(registry: Registry) {
    this.rounds = new Counter({ name: "dbb_loop_rounds_total", help: "Rounds of a periodic job, by outcome (ok, failed)", labelNames: ["loop", "outcome"], registers: [registry] });
    this.lastRun = new Gauge({ name: "dbb_loop_last_run_timestamp_seconds", help: "When the last round of a periodic job ended", labelNames: ["loop"], registers: [registry] });
    this.lastDuration = new Gauge({ name: "dbb_loop_last_duration_seconds", help: "How long the last round of a periodic job took", labelNames: ["loop"], registers: [registry] });
  }
}

/** Runs one round now and returns its result (the `--once` mode): the same round the loop runs. */
export async function runRound<R>(o: Pick<LoopOptions<R>, "name" | "round" | "logger" | "describe" | "metrics">, state?: LoopState): Promise<R> {
  const started = Date.now();
  try {
    const result = await o.round();
    o.metrics?.rounds.inc({ loop: o.name, outcome: "ok" });
    const message = o.describe?.(result);
    if (message) o.logger.info({ loop: o.name, result }, message);
    return result;
  } catch (err) {
    o.metrics?.rounds.inc({ loop: o.name, outcome: "failed" });
    if (state) {
      state.failures++;
      state.lastError = (err as Error).message;
    }
    throw err;
  } finally {
    const ms = Date.now() - started;
    o.metrics?.lastRun.set({ loop: o.name }, Date.now() / 1000);
    o.metrics?.lastDuration.set({ loop: o.name }, ms / 1000);
    if (state) {
      state.rounds++;
      state.lastRunAt = new Date();
      state.lastDurationMs = ms;
    }
  }
}

export function startLoop<R>(o: LoopOptions<R>): Loop {
  const state: LoopState = { rounds: 0, failures: 0, lastRunAt: null, lastDurationMs: null, lastError: null };
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const schedule = (delayMs: number) => {
    if (stopping) return;
    timer = setTimeout(tick, delayMs);
    timer.unref();
  };
  const tick = () => {
    timer = undefined;
    let more = false;
    running = runRound(o, state)
      .then(
        (result) => {
          more = o.again?.(result) ?? false;
        },
        (err) => o.logger.error({ loop: o.name, err }, `${o.name} round failed; the next round retries`),
      )
      .finally(() => {
        running = undefined;
        schedule(more ? 0 : o.intervalMs);
      });
  };
  schedule(o.intervalMs);
  return {
    state: () => ({ ...state }),
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
