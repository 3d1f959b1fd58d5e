import "reflect-metadata";
import { killLiveChildren } from "../test/support/processes";

/**
 * `npm run bench` runs every entry; `npm run bench -- status` runs the named ones. Each entry
 * starts what it needs (its own databases on the local Postgres server, its own processes),
 * runs ours and a named peer interleaved over several rounds, prints medians and per-round
 * ratios, and writes its figures to bench/results/<entry>.json. Nothing in `npm test` depends on
 * speed: this is where speed is measured.
 */
const ENTRIES: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  gateway: () => import("./gateway"),
  register: () => import("./register"),
  rule: () => import("./rule"),
  status: () => import("./status"),
  agent: () => import("./agent"),
  ingest: () => import("./ingest"),
};

async function main(names: string[]): Promise<void> {
  const chosen = names.length ? names : Object.keys(ENTRIES);
  for (const name of chosen) {
    if (!ENTRIES[name]) throw new Error(`no bench entry '${name}'; entries: ${Object.keys(ENTRIES).join(", ")}`);
  }
  for (const name of chosen) {
    process.stderr.write(`\n== bench ${name}\n`);
    await (await ENTRIES[name]()).run();
  }
}

/**
 * Ends with no process of the bench left behind: an entry that fails before its cleanup (or a
 * run stopped with Ctrl-C or `timeout`) would otherwise leave its `dbb serve` processes running,
 * re-parented to init, taking the CPU of every later measurement on the machine.
 */
function exitWith(code: number): never {
  const killed = killLiveChildren();
  if (killed) process.stderr.write(`bench: stopped ${killed} process${killed === 1 ? "" : "es"} it had started\n`);
  process.exit(code);
}
process.once("SIGINT", () => exitWith(130));
process.once("SIGTERM", () => exitWith(143));

main(process.argv.slice(2)).then(
  () => exitWith(0),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    exitWith(1);
  },
);
