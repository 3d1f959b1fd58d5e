import { Readable } from "node:stream";
import { openStorage, StorageSettings } from "../../lib/storage/factory";
import type { StorageLocation } from "../../lib/storage/driver";

/**
 * Run as its own process (a fresh heap, so earlier tests' high-water marks do not hide growth):
 * writes `mib` generated MiB through a driver, sampling RSS, and prints
 * `{ result, rssBeforeMiB, rssPeakMiB }` as JSON. Argument: JSON { location, settings, mib, path }.
 */
async function main(): Promise<void> {
  const { location, settings, mib, path } = JSON.parse(process.argv[2]) as { location: StorageLocation; settings: StorageSettings; mib: number; path: string };
  const driver = openStorage(location, settings, {});
  const MiB = 1024 * 1024;
  const body = Readable.from(
    (function* () {
      for (let i = 0; i < mib; i++) yield Buffer.alloc(MiB, i % 251);
    })(),
  );
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const result = await driver.write(path, body);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  process.stdout.write(JSON.stringify({ result, rssBeforeMiB: before / MiB, rssPeakMiB: peak / MiB }) + "\n");
  (driver as { close?: () => void }).close?.();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
