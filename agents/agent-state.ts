import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * What an agent process knows of itself: its counters (also as Prometheus metrics), its recent
 * errors, and the bytes it wrote since the last report, from which Facility.agents shows a rate.
 */
export const MAX_RECENT_ERRORS = 20;

export class AgentState {
  readonly bytes: Counter;
  readonly transfers: Counter<"outcome" | "reason">;
  readonly deletions: Counter<"outcome">;
  readonly duration: Histogram<"outcome">;
  readonly active: Gauge;
  readonly recentErrors: Array<{ code: string; message: string; at: string }> = [];
  bytesTotal = 0;
  transfersDone = 0;
  transfersFailed = 0;
  deletionsDone = 0;
  activeTransfers = 0;
  private windowBytes = 0;
  private windowStart = Date.now();

  constructor(registry: Registry) {
    this.bytes = new Counter({ name: "dbb_agent_bytes_total", help: "Bytes received from sources and written at the destination", registers: [registry] });
    this.transfers = new Counter({
      name: "dbb_agent_transfers_total",
      help: "Copies finished, by outcome (done, failed, lease_lost) and failure reason",
      labelNames: ["outcome", "reason"],
      registers: [registry],
    });
    this.deletions = new Counter({ name: "dbb_agent_deletions_total", help: "Deletions carried out, by outcome", labelNames: ["outcome"], registers: [registry] });
    this.duration = new Histogram({
      name: "dbb_agent_transfer_duration_seconds",
      help: "How long copies took, by outcome",
      labelNames: ["outcome"],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    });
    this.active = new Gauge({ name: "dbb_agent_active_transfers", help: "Copies running now", registers: [registry] });
  }

  addBytes(n: number): void {
    this.bytes.inc(n);
    this.bytesTotal += n;
    this.windowBytes += n;
  }

  setActive(n: number): void {
    this.activeTransfers = n;
    this.active.set(n);
  }

  error(code: string, message: string): void {
    this.recentErrors.unshift({ code, message: message.slice(0, 2000), at: new Date().toISOString() });
    this.recentErrors.length = Math.min(this.recentErrors.length, MAX_RECENT_ERRORS);
  }

  /** Bytes per second since the last call (the report interval). */
  takeRate(): number {
    const now = Date.now();
    const seconds = Math.max((now - this.windowStart) / 1000, 0.001);
    const rate = this.windowBytes / seconds;
    this.windowBytes = 0;
    this.windowStart = now;
    return rate;
  }
}
