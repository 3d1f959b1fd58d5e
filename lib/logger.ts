import pino from "pino";

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stdout (one object a line), as operators' log shippers expect.
 *
 * Written synchronously, as Node writes to a pipe anyway. pino's default (asynchronous) stream
 * flushes what it still holds when the process exits, and that flush retries forever on a
 * closed pipe (sonic-boom's flushSync sleeps and retries on every error, not only EAGAIN): a
 * service whose reader was killed (`dbb dev` under SIGKILL) then never exited. A synchronous
 * stream has nothing left to flush, and on EPIPE pino stops writing.
 */
export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true }));
}
