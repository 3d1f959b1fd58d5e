import type { Command } from "commander";
import { clientAction, clientOptions, ClientOptions, emit, formatBytes, Gateway, gatewayOf, integer, table } from "./options";

/**
 * `dbb transfers watch`: transfer progress per destination facility — queued, active, done per
 * minute, bytes per second, failed — from the catalog's transfer requests, every few seconds.
 * On a terminal the table is redrawn in place; piped, each round prints plain lines (with --json
 * one JSON object a round).
 */

const ROUND_QUERY = `query($f: String!) {
  queued: transfers(filter: {facility: $f, state: QUEUED}, first: 0) { totalCount }
  active: transfers(filter: {facility: $f, state: SUBMITTED}, first: 0) { totalCount }
  done: transfers(filter: {facility: $f, state: DONE}, first: 200) { totalCount nodes { id bytes } }
  failed: transfers(filter: {facility: $f, state: FAILED}, first: 0) { totalCount }
}`;

interface RoundAnswer {
  queued: { totalCount: number };
  active: { totalCount: number };
  done: { totalCount: number; nodes: Array<{ id: string; bytes: number }> };
  failed: { totalCount: number };
}

export interface FacilityProgress {
  facility: string;
  queued: number;
  active: number;
  done: number;
  failed: number;
  /** Transfers finished per minute since the previous round (null in the first). */
  donePerMinute: number | null;
  bytesPerSecond: number | null;
}

interface Previous {
  at: number;
  done: number;
  seen: Set<string>;
}

async function measure(gw: Gateway, facility: string, previous: Previous | undefined): Promise<{ progress: FacilityProgress; now: Previous }> {
  const at = Date.now();
  const a = await gw.client.request<RoundAnswer>(ROUND_QUERY, { f: facility });
  const seen = new Set(a.done.nodes.map((n) => n.id));
  let donePerMinute: number | null = null;
  let bytesPerSecond: number | null = null;
  if (previous) {
    const seconds = Math.max(0.001, (at - previous.at) / 1000);
    const finished = Math.max(0, a.done.totalCount - previous.done);
    const fresh = a.done.nodes.filter((n) => !previous.seen.has(n.id));
    // More finished than the newest page shows: scale the bytes of those seen up to all of them.
    const bytes = fresh.reduce((s, n) => s + n.bytes, 0) * (fresh.length && finished > fresh.length ? finished / fresh.length : 1);
    donePerMinute = Math.round((finished / seconds) * 60 * 10) / 10;
    bytesPerSecond = Math.round(bytes / seconds);
  }
  return {
    progress: { facility, queued: a.queued.totalCount, active: a.active.totalCount, done: a.done.totalCount, failed: a.failed.totalCount, donePerMinute, bytesPerSecond },
    now: { at, done: a.done.totalCount, seen },
  };
}

const rate = (v: number | null, f: (n: number) => string) => (v === null ? "-" : f(v));

function progressTable(rows: FacilityProgress[]): string[] {
  return table(
    ["FACILITY", "QUEUED", "ACTIVE", "DONE", "DONE/MIN", "BYTES/S", "FAILED"],
    rows.map((r) => [r.facility, String(r.queued), String(r.active), String(r.done), rate(r.donePerMinute, (n) => n.toFixed(1)), rate(r.bytesPerSecond, (n) => `${formatBytes(n)}/s`), String(r.failed)]),
  );
}

interface WatchOptions extends ClientOptions {
  facility?: string;
  interval: number;
  rounds?: number;
  once?: boolean;
}

export function registerTransferCommands(program: Command): void {
  const transfers = program.command("transfers").description("transfer requests between facilities");
  clientOptions(transfers.command("watch").description("live transfer progress per destination facility: queued, active, done/min, bytes/s, failed"))
    .option("-f, --facility <code>", "only this destination facility")
    .option("--interval <seconds>", "seconds between rounds (default 5)", integer(1, 3600), 5)
    .option("--rounds <n>", "stop after this many rounds (default: until Ctrl-C)", integer(1, 1_000_000))
    .option("--once", "one round, then exit (no rates: they need two rounds)")
    .action(
      clientAction(async (opts: WatchOptions) => {
        const gw = gatewayOf(opts);
        const facilities = opts.facility
          ? [opts.facility]
          : (await gw.client.request<{ facilities: Array<{ code: string }> }>(`{ facilities { code } }`)).facilities.map((f) => f.code);
        const rounds = opts.once ? 1 : (opts.rounds ?? Infinity);
        const redraw = !opts.json && process.stdout.isTTY === true;
        const previous = new Map<string, Previous>();
        let drawn = 0;
        let stop = false;
        let wake: () => void = () => {};
        process.once("SIGINT", () => {
          stop = true;
          wake();
        });
        for (let round = 1; round <= rounds && !stop; round++) {
          const results = await Promise.all(facilities.map((f) => measure(gw, f, previous.get(f))));
          for (const r of results) previous.set(r.progress.facility, r.now);
          const rows = results.map((r) => r.progress);
          const time = new Date().toISOString().replace(/\.\d+Z$/, "Z");
          if (opts.json) process.stdout.write(JSON.stringify({ time, facilities: rows }) + "\n");
          else if (redraw) {
            const lines = [`transfers at ${time} (every ${opts.interval} s; Ctrl-C stops)`, ...progressTable(rows)];
            process.stdout.write((drawn ? `\x1b[${drawn}F\x1b[J` : "") + lines.join("\n") + "\n");
            drawn = lines.length;
          } else {
            emit(opts, null, () =>
              rows.map(
                (r) =>
                  `${time} ${r.facility} queued=${r.queued} active=${r.active} done=${r.done} done/min=${rate(r.donePerMinute, (n) => n.toFixed(1))} ` +
                  `bytes/s=${rate(r.bytesPerSecond, String)} failed=${r.failed}`,
              ),
            );
          }
          if (round < rounds && !stop) await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, opts.interval * 1000);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      }),
    );
}
