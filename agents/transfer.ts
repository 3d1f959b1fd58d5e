import { DbbError, ErrorCode } from "../lib/errors";
import { RETRYABLE_CODES } from "../lib/graphql-client";
import type { Logger } from "../lib/logger";
import type { StorageDriver } from "../lib/storage/driver";
import type { AgentState } from "./agent-state";
import { AgentApi, Arrival, ClaimedTransfer, locationOf, ReadUrl, TransferReport, TransferReportAnswer } from "./api";
import { copyObject, CopyError } from "./copy";
import { fetchSidecar, IndexCache, ingestNeeds, IngestNeeds, LfaIngestEntry, readButlerFile } from "./ingest-inputs";

/**
 * The agent's transfer work (STYLE §6: claim, work, report): claims requests for its facility's
 * RSEs, asks each source facility for read URLs of what it claimed (one call per source and
 * claim), runs the copies (at most `streams` at once), and reports each one DONE with what it
 * wrote or FAILED with a reason. A copy whose lease is lost (the heartbeat no longer returns it)
 * is aborted and not reported: the catalog hands it out again.
 *
 * Per-file round trips are what kept small files slow, so none is left on the way of a copy:
 * - the running agent claims ahead of its streams (a queue of claimed requests with their read
 *   URLs, bounded in count and in bytes, so a few big files are not hoarded away from other
 *   agents), and claims again, in one call, as the queue runs low;
 * - reports go in batches (reportTransfers): while one call is on its way, the copies that finish
 *   wait for the next, and while copies are running a call waits REPORT_GATHER_MS for more, so a
 *   busy agent sends few calls (2,000 small files: about 430 report calls without the wait).
 * - a claim is made when a stream is free and nothing waits, or when half the room ahead is free:
 *   topping the queue up after every finished copy claimed 8 files a call, each claim with its
 *   read-URL call, and that control traffic cost the catalog and gateway more CPU than the copies.
 * Every claimed request's lease is heartbeated until its report is taken (queued, copying or
 * waiting for its report alike).
 */
export interface TransferWorkOptions {
  api: AgentApi;
  streams: number;
  stallMs: number;
  destination: (location: ReturnType<typeof locationOf>) => StorageDriver;
  state: AgentState;
  logger: Logger;
  /** Claim ahead and again as copies finish (the running agent); `--once` claims one round of `streams` only. */
  refill: boolean;
  /** Told of every file that arrived (reported DONE and accepted), for ingest on arrival. */
  onArrival?: (arrival: Arrival) => void;
  /** The LFA products ingested on arrival (agent.lfaIngest); other LFA files arrive as plain objects. */
  lfaIngest?: readonly LfaIngestEntry[];
}

/** Claimed requests kept waiting ahead of the streams, per stream. */
export const CLAIM_AHEAD_PER_STREAM = 8;
/** Bytes of claimed requests kept waiting ahead of the streams, per stream. */
export const CLAIM_AHEAD_BYTES_PER_STREAM = 32 * 1024 * 1024;
/** Reports sent in one reportTransfers call at most (the catalog's limit). */
export const REPORTS_PER_CALL = 1000;
/** While copies are running, how long a report call waits for more reports to go with it. */
export const REPORT_GATHER_MS = 200;
/** A read URL with less than this left is asked for again before its copy starts. */
const URL_MARGIN_MS = 60_000;
/** Waits between attempts at a report call the network or the catalog failed. */
const REPORT_RETRY_MS = [500, 1000, 2000, 5000, 10_000];

interface Queued {
  t: ClaimedTransfer;
  read: ReadUrl;
}

interface Running {
  id: string;
  controller: AbortController;
  done: Promise<void>;
}

interface Finished {
  t: ClaimedTransfer;
  report: TransferReport;
  seconds: number;
  /** What ingest on arrival needs of the copy (told to the facility once the catalog took it DONE). */
  arrival: Pick<Arrival, "header" | "sidecar" | "butlerFile" | "instrument">;
}

const LEASE_LOST_REASON = "lease lost";

export class TransferWork {
  /** Claimed, with a read URL, not started yet. */
  private readonly queued: Queued[] = [];
  /** Copies running, by lease. */
  private readonly running = new Map<string, Running>();
  /** Copies finished whose report the catalog has not taken yet, by lease. */
  private readonly unreported = new Map<string, Finished>();
  private filling: Promise<number> | undefined;
  private reporting: Promise<void> | undefined;
  private stopped = false;
  /** Whether the last claim got all it asked for: then more may wait, and the agent claims again at once. */
  private queueBehind = false;
  /** Mean size of the files claimed so far (null before the first claim), to bound the queue in bytes. */
  private meanBytes: number | null = null;
  private claimedFiles = 0;
  private readonly idleWaiters: Array<() => void> = [];
  /** Folder indexes (_index.json) read for the files of a round. */
  private readonly indexes = new IndexCache();

  constructor(private readonly o: TransferWorkOptions) {}

  /** Every lease the agent holds for transfers: queued, copying, or waiting for its report. */
  leases(): string[] {
    return [...this.queued.map((q) => q.t.lease), ...this.running.keys(), ...this.unreported.keys()];
  }

  /**
   * Drops the work whose lease the catalog did not extend: of `asked` (the leases sent in a
   * heartbeat), those missing from `held`. Work claimed while the heartbeat was on its way was
   * not asked about and stays (dropping it too lost every copy started in that window, each then
   * waiting out its lease before another claim).
   */
  dropLost(asked: readonly string[], held: Set<string>): void {
    const lost = new Set(asked.filter((lease) => !held.has(lease)));
    if (!lost.size) return;
    for (const [lease, r] of this.running) {
      if (lost.has(lease)) {
        this.o.logger.warn({ request: r.id }, "lease lost: abandoning the copy (another agent will make it)");
        r.controller.abort(LEASE_LOST_REASON);
      }
    }
    for (let i = this.queued.length - 1; i >= 0; i--) {
      const q = this.queued[i];
      if (lost.has(q.t.lease)) {
        this.queued.splice(i, 1);
        this.lost(q.t.id, "lease lost before its copy started; dropped");
      }
    }
    for (const [lease, f] of this.unreported) {
      if (lost.has(lease)) {
        this.unreported.delete(lease);
        this.lost(f.t.id, "lease lost before the copy's report was taken; dropped");
      }
    }
    this.checkIdle();
  }

  /**
   * Claims what fits (free streams, and the queue ahead of them when refilling) and starts the
   * copies; returns how many requests it claimed. Concurrent calls share one claim, which goes on
   * claiming while the catalog hands out all it is asked for and there is room.
   */
  fill(): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    if (!this.filling) {
      this.filling = this.claimWhileRoom().finally(() => (this.filling = undefined));
    }
    return this.filling;
  }

  /** One round for `--once`: claims what fits the streams, copies it, reports; resolves when all are reported. */
  async runOnce(): Promise<{ started: number }> {
    const started = await this.fill();
    await this.idle();
    return { started };
  }

  /** Resolves when nothing is queued, copying, or waiting for its report. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops claiming; the queued copies still start as streams free up, and after `graceMs` the
   * running copies are aborted and what is still queued is left (their leases lapse and others
   * redo them). Resolves when the last report was taken or given up.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    const timer = setTimeout(() => {
      this.queued.length = 0;
      for (const r of this.running.values()) r.controller.abort("agent stopping");
      this.checkIdle();
    }, graceMs);
    await this.filling?.catch(() => 0);
    await this.idle();
    clearTimeout(timer);
  }

  private isIdle(): boolean {
    return !this.queued.length && !this.running.size && !this.unreported.size && !this.reporting;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private lost(id: string, message: string): void {
    this.o.state.transfers.inc({ outcome: "lease_lost", reason: ErrorCode.LEASE_LOST });
    this.o.state.error(ErrorCode.LEASE_LOST, `${id}: ${message}`);
  }

  /** How many requests to claim now: the free streams, plus room in the queue ahead (by count and bytes) when refilling. */
  private claimLimit(): number {
    const free = Math.max(0, this.o.streams - this.running.size - this.queued.length);
    if (!this.o.refill || this.meanBytes === null) return free;
    const waiting = Math.max(0, this.queued.length - (this.o.streams - this.running.size));
    const byCount = this.o.streams * CLAIM_AHEAD_PER_STREAM - waiting;
    const queuedBytes = this.queued.reduce((n, q) => n + (q.t.file.bytes ?? 0), 0);
    const byBytes = Math.floor((this.o.streams * CLAIM_AHEAD_BYTES_PER_STREAM - queuedBytes) / Math.max(this.meanBytes, 1));
    return free + Math.max(0, Math.min(byCount, byBytes));
  }

  /** Whether the queue ahead has run low enough to claim again. */
  private wantsMore(): boolean {
    if (this.stopped || !this.o.refill || !this.queueBehind) return false;
    return this.worthClaiming(this.claimLimit());
  }

  /**
   * Whether a claim of `limit` is worth its calls: always when a stream is free and nothing waits
   * for it; when refilling, else only once half the room ahead is free (so claims come in batches).
   */
  private worthClaiming(limit: number): boolean {
    if (limit <= 0) return false;
    if (!this.o.refill || this.meanBytes === null || this.running.size + this.queued.length < this.o.streams) return true;
    const byCount = this.o.streams * CLAIM_AHEAD_PER_STREAM;
    const byBytes = Math.floor((this.o.streams * CLAIM_AHEAD_BYTES_PER_STREAM) / Math.max(this.meanBytes, 1));
    return limit >= Math.max(1, Math.min(byCount, byBytes) / 2);
  }

  private async claimWhileRoom(): Promise<number> {
    let total = 0;
    for (;;) {
      const limit = this.claimLimit();
      if (!this.worthClaiming(limit) || this.stopped) return total;
      const claimed = await this.o.api.claimTransfers(Math.min(limit, 10000));
      this.queueBehind = claimed.length === limit;
      total += claimed.length;
      for (const t of claimed) {
        this.claimedFiles++;
        this.meanBytes = (this.meanBytes ?? 0) + ((t.file.bytes ?? 0) - (this.meanBytes ?? 0)) / this.claimedFiles;
      }
      if (claimed.length) await this.enqueue(claimed);
      if (!this.queueBehind || !this.o.refill) return total;
    }
  }

  /** Asks the source facilities for read URLs of what was claimed (one call per source), queues it, and starts what fits. */
  private async enqueue(claimed: ClaimedTransfer[]): Promise<void> {
    const bySource = new Map<string, ClaimedTransfer[]>();
    for (const t of claimed) {
      const code = t.source.facility.code;
      bySource.set(code, [...(bySource.get(code) ?? []), t]);
    }
    await Promise.all(
      [...bySource].map(async ([source, transfers]) => {
        const byRequest = await this.readUrls(source, transfers);
        for (const t of transfers) this.queued.push({ t, read: byRequest.get(t.id)! });
        this.pump();
      }),
    );
  }

  private needsOf(t: ClaimedTransfer): IngestNeeds {
    return ingestNeeds(t.file, this.o.lfaIngest ?? []);
  }

  /** Read URLs of `transfers` at `source` (with their sidecars' where ingest needs them), by request; a request without one gets the reason (SOURCE_DENIED or NETWORK). */
  private async readUrls(source: string, transfers: ClaimedTransfer[]): Promise<Map<string, ReadUrl>> {
    let urls: ReadUrl[];
    try {
      const sidecars = transfers.some((t) => this.needsOf(t).sidecar);
      urls = await this.o.api.readUrls(source, transfers.map((t) => t.id), { sidecars });
    } catch (err) {
      const e = err as DbbError;
      const reason = e.code === ErrorCode.FORBIDDEN ? ErrorCode.SOURCE_DENIED : ErrorCode.NETWORK;
      urls = transfers.map((t) => ({ request: t.id, url: null, expiresAt: null, error: { code: reason, message: `no read URL from ${source}: ${e.message} [${e.code}]` } }));
    }
    const byRequest = new Map(urls.map((u) => [u.request, u]));
    return new Map(
      transfers.map((t) => [t.id, byRequest.get(t.id) ?? { request: t.id, url: null, expiresAt: null, error: { code: ErrorCode.NETWORK, message: `${source} gave no read URL` } }]),
    );
  }

  /** Starts queued copies while streams are free. */
  private pump(): void {
    while (this.running.size < this.o.streams && this.queued.length) this.start(this.queued.shift()!);
    this.checkIdle();
  }

  private start(q: Queued): void {
    const controller = new AbortController();
    const entry: Running = { id: q.t.id, controller, done: Promise.resolve() };
    this.running.set(q.t.lease, entry);
    this.o.state.setActive(this.running.size);
    entry.done = this.copy(q, controller.signal).finally(() => {
      this.running.delete(q.t.lease);
      this.o.state.setActive(this.running.size);
      this.pump();
      // Keep the queue ahead filled (else the poll interval comes first: an idle queue is not hammered).
      if (this.wantsMore()) void this.fill().catch((err) => this.o.logger.warn({ err: (err as Error).message }, "claiming transfers failed; the next round retries"));
    });
  }

  /** The read URL of a queued copy, asked for again (with those of the other queued copies from its source) when it is about to expire. */
  private async freshRead(q: Queued): Promise<ReadUrl> {
    const expires = q.read.expiresAt ? Date.parse(q.read.expiresAt) : NaN;
    if (!q.read.url || !(expires - Date.now() < URL_MARGIN_MS)) return q.read;
    const source = q.t.source.facility.code;
    const stale = [q, ...this.queued.filter((o) => o.t.source.facility.code === source && o.read.url && o.read.expiresAt && Date.parse(o.read.expiresAt) - Date.now() < 2 * URL_MARGIN_MS)];
    const fresh = await this.readUrls(source, stale.map((s) => s.t));
    for (const s of stale) s.read = fresh.get(s.t.id)!;
    return q.read;
  }

  private async copy(q: Queued, signal: AbortSignal): Promise<void> {
    const { t } = q;
    const started = process.hrtime.bigint();
    const log = this.o.logger.child({ request: t.id, did: `${t.file.scope}:${t.file.name}`, source: t.source.name, destination: t.destination.name });
    let report: TransferReport;
    const arrival: Finished["arrival"] = {};
    const needs = this.needsOf(t);
    let sidecar: Promise<Record<string, unknown> | { error: string } | null> = Promise.resolve(null);
    try {
      const read = await this.freshRead(q);
      if (!read.url) {
        const code = read.error?.code === ErrorCode.OBJECT_NOT_FOUND ? ErrorCode.SOURCE_MISSING : read.error?.code === ErrorCode.NETWORK ? ErrorCode.NETWORK : ErrorCode.SOURCE_DENIED;
        throw new CopyError(code, read.error?.message ?? "no read URL");
      }
      // A sidecar is small: fetched from the source while the file copies (its URLs expire with the file's).
      if (needs.sidecar && read.sidecars?.length) {
        sidecar = fetchSidecar(read.sidecars, t.file.name, { source: t.source.facility.code, cache: this.indexes, signal }).catch((err) => ({ error: (err as Error).message }));
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
      arrival.header = written.header;
      if (needs.butlerFile) {
        const text = await readButlerFile(destination, t.destinationPath, written.bytes, needs.butlerFile);
        if (typeof text === "string") arrival.butlerFile = text;
        else log.warn({ err: text.error }, "the Butler index of the copy could not be read; its ingest will say so");
      }
      const found = await sidecar;
      if (found && "error" in found) log.warn({ err: found.error }, "the file's sidecar could not be read; it is ingested without one");
      else if (found) arrival.sidecar = found;
      if (needs.instrument) arrival.instrument = needs.instrument;
      report = { outcome: "DONE", bytes: written.bytes, adler32: written.adler32, md5: written.md5 };
    } catch (err) {
      if (signal.aborted && signal.reason === LEASE_LOST_REASON) {
        this.lost(t.id, "lease lost mid-copy; dropped");
        return;
      }
      const e = err instanceof CopyError ? err : new CopyError(ErrorCode.NETWORK, (err as Error).message);
      report = { outcome: "FAILED", error: e.message, errorCode: e.code };
    }
    this.unreported.set(t.lease, { t, report, seconds: Number(process.hrtime.bigint() - started) / 1e9, arrival });
    void this.flushReports();
  }

  /** Sends the waiting reports, in calls of up to REPORTS_PER_CALL, one call at a time; retries a call the network or the catalog failed. */
  private flushReports(): Promise<void> {
    if (this.reporting) return this.reporting;
    this.reporting = (async () => {
      let failures = 0;
      while (this.unreported.size) {
        // More copies will finish soon: let their reports go in the same call.
        if (this.running.size && this.unreported.size < REPORTS_PER_CALL) await new Promise((r) => setTimeout(r, REPORT_GATHER_MS));
        const batch = [...this.unreported.values()].slice(0, REPORTS_PER_CALL);
        let answers: TransferReportAnswer[];
        try {
          answers = await this.o.api.reportTransfers(batch.map((f) => ({ id: f.t.id, lease: f.t.lease, outcome: f.report })));
          failures = 0;
        } catch (err) {
          const e = err as DbbError;
          this.o.state.error(e.code ?? ErrorCode.NETWORK, `reporting ${batch.length} copies failed: ${e.message}`);
          if (RETRYABLE_CODES.has(e.code) || !e.code) {
            // Kept, heartbeated, and sent again; should the leases lapse meanwhile, the heartbeat drops them.
            this.o.logger.warn({ code: e.code, err: e.message, copies: batch.length }, "reporting copies failed; retrying");
            await new Promise((r) => setTimeout(r, REPORT_RETRY_MS[Math.min(failures++, REPORT_RETRY_MS.length - 1)]));
            continue;
          }
          this.o.logger.warn({ code: e.code, err: e.message, copies: batch.length }, "the catalog refused the reports; their leases will lapse and the requests be handed out again");
          for (const f of batch) this.unreported.delete(f.t.lease);
          continue;
        }
        batch.forEach((f, i) => {
          // Dropped meanwhile (lease lost): already counted.
          if (this.unreported.get(f.t.lease) !== f) return;
          this.unreported.delete(f.t.lease);
          this.reported(f, answers[i]);
        });
      }
    })().finally(() => {
      this.reporting = undefined;
      this.checkIdle();
    });
    return this.reporting;
  }

  /** Counts and logs one report's answer; tells of an arrival. */
  private reported(f: Finished, answer: TransferReportAnswer | undefined): void {
    const { t, report, seconds } = f;
    const log = this.o.logger.child({ request: t.id, did: `${t.file.scope}:${t.file.name}`, source: t.source.name, destination: t.destination.name });
    if (!answer || answer.error || !answer.request) {
      const code = answer?.error?.code ?? ErrorCode.NETWORK;
      this.o.state.error(code, `reporting ${t.id} failed: ${answer?.error?.message ?? "no answer for it"}`);
      log.warn({ code, err: answer?.error?.message }, "reporting the copy failed; the lease will lapse and the request be handed out again");
      return;
    }
    const result = answer.request;
    if (report.outcome === "DONE" && result.state === "DONE") {
      this.o.state.transfersDone++;
      this.o.state.transfers.inc({ outcome: "done", reason: "" });
      this.o.state.duration.observe({ outcome: "done" }, seconds);
      log.debug({ bytes: report.bytes, seconds }, "copied");
      this.o.onArrival?.({
        scope: t.file.scope,
        name: t.file.name,
        rse: t.destination.name,
        path: t.destinationPath,
        bytes: report.bytes!,
        metadata: t.file.metadata ?? {},
        header: f.arrival.header ?? null,
        ...(f.arrival.sidecar ? { sidecar: f.arrival.sidecar } : {}),
        ...(f.arrival.butlerFile != null ? { butlerFile: f.arrival.butlerFile } : {}),
        ...(f.arrival.instrument ? { instrument: f.arrival.instrument } : {}),
      });
    } else {
      this.o.state.transfersFailed++;
      const code = result.errorCode ?? report.errorCode ?? ErrorCode.TRANSFER_ERROR;
      this.o.state.transfers.inc({ outcome: "failed", reason: code });
      this.o.state.duration.observe({ outcome: "failed" }, seconds);
      this.o.state.error(code, `${t.file.scope}:${t.file.name} → ${t.destination.name}: ${report.error ?? "the catalog refused the copy"}`);
      log.warn({ code, err: report.error }, "copy failed");
    }
  }
}
