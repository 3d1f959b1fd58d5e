import { SingleBar } from "cli-progress";

/**
 * A progress bar on stderr, drawn only when stderr is a terminal (piped or in a script there is
 * nothing to redraw, so nothing is printed).
 */
export interface Progress {
  advance(by: number): void;
  stop(): void;
}

export function progressBar(label: string, total: number): Progress {
  if (!process.stderr.isTTY || total <= 0) return { advance() {}, stop() {} };
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`,
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(total, 0);
  return {
    advance: (by) => bar.increment(by),
    stop: () => bar.stop(),
  };
}
