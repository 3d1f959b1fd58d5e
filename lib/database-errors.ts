/**
 * What a database failure means, from the error the pg driver gives: kept apart from
 * lib/database.ts so the gateway can classify errors without loading TypeORM.
 */

/** Postgres SQLSTATE of an error from the driver, if any. */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === "string" ? code : undefined;
}

/** SQLSTATE of a statement cancelled by statement_timeout. */
export const QUERY_CANCELED = "57014";

/** Whether an error is a statement that ran out of time (server-side cancel, or the driver's deadline). */
export function isQueryTimeout(err: unknown): boolean {
  return sqlState(err) === QUERY_CANCELED || /Query read timeout/.test(String((err as Error)?.message ?? ""));
}

/**
 * Whether an error says the database is not reachable or not there: refused or dropped connections,
 * the driver's connect deadline, a database that was dropped or a server shutting down.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const state = sqlState(err);
  if (state && (state.startsWith("08") || state === "3D000" || state.startsWith("57P"))) return true;
  const message = String((err as Error)?.message ?? "");
  return /Connection terminated|ECONNREFUSED|ECONNRESET|EPIPE|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/.test(message);
}
