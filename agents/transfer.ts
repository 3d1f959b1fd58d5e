import { DbbError, ErrorCode } from "../lib/errors";
import type { Logger } from "../lib/logger";
import type { StorageDriver } from "../lib/storage/driver";
import type { AgentState } from "./agent-state";
import { AgentApi, Arrival, ClaimedTransfer, locationOf, ReadUrl, TransferReport } from "./api";
import { copyObject, CopyError } from "./copy";
import { fetchSidecar, IndexCache, ingestNeeds, IngestNeeds, LfaIngestEntry, readButlerFile } from "./ingest-inputs";

/**
 * The agent's transfer work (STYLE §6: claim, work, report): claims requests for its facility's
 * RSEs up to its free streams, asks each source facility for read URLs of what it claimed, runs
 * the copies (at most `streams` at once), and reports each one DONE with what it wrote or FAILED
 * with a reason. A copy whose lease is lost (the heartbeat no longer returns it) is aborted and
 * not reported: the catalog hands it out again.
 */
export interface TransferWorkOptions {
  api: AgentApi;
  streams: number;
  stallMs: number;
  destination: (location: ReturnType<typeof locationOf>) => StorageDriver;
  state: AgentState;
  logger: Logger;
  /** Claim again as soon as a copy finishes (the running agent); `--once` claims one round only. */
  refill: boolean;
  /** Told of every file that arrived (reported DONE and accepted), for ingest on arrival. */
  onArrival?: (arrival: Arrival) => void;
  /** The LFA products ingested on arrival (agent.lfaIngest); other LFA files arrive as plain objects. */
  lfaIngest?: readonly LfaIngestEntry[];
}

interface Running {
  id: string;
  controller: AbortController;
  done: Promise<void>;
}

const LEASE_LOST_REASON = "lease lost";

export class TransferWork {
  /** Copies running, by lease. */
  private readonly running = new Map<string, Running>();
  private filling: Promise<number> | undefined;
  private stopped = false;
  /** Whether the last claim got all it asked for: then more may wait, and a finished copy claims again at once. */
  private queueBehind = false;
  /** Folder indexes (_index.json) read for the files of a round. */
  private readonly indexes = new IndexCache();

  constructor(private readonly o: TransferWorkOptions) {}

  leases(): string[] {
    return [...this.running.keys()];
  }

  /** Aborts the copies whose lease the catalog no longer extends. */
  dropLost(held: Set<string>): void {
    for (const [lease, r] of this.running) {
      if (!held.has(lease)) {
        this.o.logger.warn({ request: r.id }, "lease lost: abandoning the copy (another agent will make it)");
        r.controller.abort(LEASE_LOST_REASON);
      }
    }
  }

  /**
   * Claims as many requests as there are free streams and starts their copies; returns how many
   * it started. Concurrent calls share one claim.
   */
  fill(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    if (!this.filling) {
      this.filling = this.claimAndStart().finally(() => (this.filling = undefined));
    }
    return this.filling;
  }

  /** One round for `--once`: claims what fits, copies it, reports; resolves when all are reported. */
  async runOnce(): Promise<{ started: number }> {
    const started = await this.fill();
    await this.idle();
    return { started };
  }

  /** Resolves when no copy runs. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Stops claiming; aborts the running copies after `graceMs` (their leases lapse and others redo them). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    const timer = setTimeout(() => {
      for (const r of this.running.values()) r.controller.abort("agent stopping");
    }, graceMs);
    await this.filling?.catch(() => 0);
    await this.idle();
    clearTimeout(timer);
  }

  private async claimAndStart(): Promise<number> {
    const free = this.o.streams - this.running.size;
    if (free <= 0) return 0;
    const claimed = await this.o.api.claimTransfers(free);
    this.queueBehind = claimed.length === free;
    if (!claimed.length) return 0;
    const bySource = new Map<string, ClaimedTransfer[]>();
    for (const t of claimed) {
      const code = t.source.facility.code;
      bySource.set(code, [...(bySource.get(code) ?? []), t]);
    }
    await Promise.all(
      [...bySource].map(async ([source, transfers]) => {
        let urls: ReadUrl[];
        try {
          const sidecars = transfers.some((t) => this.needsOf(t).sidecar);
          urls = await this.o.api.readUrls(source, transfers.map((t) => t.id), { sidecars });
        } catch (err) {
          const e = err as DbbError;
          const reason = e.code === ErrorCode.FORBIDDEN ? ErrorCode.SOURCE_DENIED : ErrorCode.NETWORK;
          urls = transfers.map((t) => ({ request: t.id, url: null, error: { code: reason, message: `no read URL from ${source}: ${e.message} [${e.code}]` } }));
        }
        const byRequest = new Map(urls.map((u) => [u.request, u]));
        for (const t of transfers) this.start(t, byRequest.get(t.id) ?? { request: t.id, url: null, error: { code: ErrorCode.NETWORK, message: `${source} gave no read URL` } });
      }),
    );
    return claimed.length;
  }

  private needsOf(t: ClaimedTransfer): IngestNeeds {
    return ingestNeeds(t.file, this.o.lfaIngest ?? []);
  }

  private start(t: ClaimedTransfer, read: ReadUrl): void {
    const controller = new AbortController();
    const entry: Running = { id: t.id, controller, done: Promise.resolve() };
    this.running.set(t.lease, entry);
    this.o.state.setActive(this.running.size);
    entry.done = this.copy(t, read, controller.signal).finally(() => {
      this.running.delete(t.lease);
      this.o.state.setActive(this.running.size);
      // Keep the streams busy: a finished copy makes room for the next claim, when the last claim
      // suggests more are queued (else the poll interval comes first: an idle queue is not hammered).
      if (!this.stopped && this.o.refill && this.queueBehind) void this.fill().catch((err) => this.o.logger.warn({ err: (err as Error).message }, "claiming transfers failed; the next round retries"));
    });
  }

  private async copy(t: ClaimedTransfer, read: ReadUrl, signal: AbortSignal): Promise<void> {
    const started = process.hrtime.bigint();
    const log = this.o.logger.child({ request: t.id, did: `${t.file.scope}:${t.file.name}`, source: t.source.name, destination: t.destination.name });
    let report: TransferReport;
    let header: string | null = null;
    let butlerFile: string | null = null;
    const needs = this.needsOf(t);
    // A sidecar is small: fetched from the source while the file copies (its URLs expire with the file's).
    const sidecar =
      needs.sidecar && read.url && read.sidecars?.length
        ? fetchSidecar(read.sidecars, t.file.name, { source: t.source.facility.code, cache: this.indexes, signal }).catch((err) => ({ error: (err as Error).message }))
        : Promise.resolve(null);
    try {
      if (!read.url) {
        const code = read.error?.code === ErrorCode.OBJECT_NOT_FOUND ? ErrorCode.SOURCE_MISSING : read.error?.code === ErrorCode.NETWORK ? ErrorCode.NETWORK : ErrorCode.SOURCE_DENIED;
        throw new CopyError(code, read.error?.message ?? "no read URL");
      }
      const destination = this.o.destination(locationOf(t.destination));
      const written = await copyObject({
        url: read.url,
        destination,
        path: t.destinationPath,
        expected: t.file,
        signal,
        stallMs: this.o.stallMs,
        onBytes: (n) => this.o.state.addBytes(n),
        captureHeader: needs.header,
      });
      header = written.header;
      if (needs.butlerFile) {
        const text = await readButlerFile(destination, t.destinationPath, written.bytes, needs.butlerFile);
        if (typeof text === "string") butlerFile = text;
        else log.warn({ err: text.error }, "the Butler index of the copy could not be read; its ingest will say so");
      }
      report = { outcome: "DONE", bytes: written.bytes, adler32: written.adler32, md5: written.md5 };
    } catch (err) {
      if (signal.aborted && signal.reason === LEASE_LOST_REASON) {
        this.o.state.transfers.inc({ outcome: "lease_lost", reason: ErrorCode.LEASE_LOST });
        this.o.state.error(ErrorCode.LEASE_LOST, `${t.id}: lease lost mid-copy; dropped`);
        return;
      }
      const e = err instanceof CopyError ? err : new CopyError(ErrorCode.NETWORK, (err as Error).message);
      report = { outcome: "FAILED", error: e.message, errorCode: e.code };
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await this.o.api.reportTransfer(t.id, t.lease, report);
      if (report.outcome === "DONE" && result.state === "DONE") {
        this.o.state.transfersDone++;
        this.o.state.transfers.inc({ outcome: "done", reason: "" });
        this.o.state.duration.observe({ outcome: "done" }, seconds);
        log.debug({ bytes: report.bytes, seconds }, "copied");
        const found = await sidecar;
        if (found && "error" in found) log.warn({ err: found.error }, "the file's sidecar could not be read; it is ingested without one");
        this.o.onArrival?.({
          scope: t.file.scope,
          name: t.file.name,
          rse: t.destination.name,
          path: t.destinationPath,
          bytes: report.bytes!,
          metadata: t.file.metadata ?? {},
          header,
          ...(found && !("error" in found) ? { sidecar: found } : {}),
          ...(butlerFile !== null ? { butlerFile } : {}),
          ...(needs.instrument ? { instrument: needs.instrument } : {}),
        });
      } else {
        this.o.state.transfersFailed++;
        const code = result.errorCode ?? report.errorCode ?? ErrorCode.TRANSFER_ERROR;
        this.o.state.transfers.inc({ outcome: "failed", reason: code });
        this.o.state.duration.observe({ outcome: "failed" }, seconds);
        this.o.state.error(code, `${t.file.scope}:${t.file.name} → ${t.destination.name}: ${report.error ?? "the catalog refused the copy"}`);
        log.warn({ code, err: report.error }, "copy failed");
      }
    } catch (err) {
      const e = err as DbbError;
      this.o.state.error(e.code ?? ErrorCode.NETWORK, `reporting ${t.id} failed: ${e.message}`);
      log.warn({ code: e.code, err: e.message }, "reporting the copy failed; the lease will lapse and the request be handed out again");
    }
  }
}
