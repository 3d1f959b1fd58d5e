import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import net from "node:net";
import { Worker } from "node:worker_threads";
import pg from "pg";
import { DataSource, EntityManager, Logger as TypeOrmLogger, MixedList, QueryRunner } from "typeorm";
import type { Logger } from "./logger";
import { isQueryTimeout } from "./database-errors";
import { parseTimestamptz } from "./pg-timestamp";
export { isDatabaseUnavailable, isQueryTimeout, sqlState } from "./database-errors";

// bigint (int8) columns hold byte counts and counts: they fit a JS number (below 2^53).
pg.types.setTypeParser(20, (value: string) => Number(value));
// timestamptz (1184): read by character positions (lib/pg-timestamp.ts), pg's parser for the rest.
const pgTimestamptz = pg.types.getTypeParser(1184, "text") as (value: string) => unknown;
pg.types.setTypeParser(1184, (value: string) => parseTimestamptz(value, pgTimestamptz));

/**
 * Counts the SQL statements a data source sends. Tests use it to show that a nested query's
 * statement count does not grow with the number of rows; /metrics can expose it too.
 */
export class StatementCounter implements TypeOrmLogger {
  count = 0;
  /** Called with each failed statement's error (the embedded database restarts on a timeout). */
  onError?: (error: unknown) => void;
  constructor(private readonly out?: Logger) {}
  logQuery(query: string): void {
    this.count++;
    this.out?.trace({ sql: query }, "sql");
  }
  logQueryError(error: string | Error, query: string): void {
    this.count++;
    this.out?.debug({ err: error, sql: query.slice(0, 2000) }, "sql error");
    this.onError?.(error);
  }
  logQuerySlow(time: number, query: string): void {
    this.out?.warn({ ms: time, sql: query.slice(0, 500) }, "slow sql");
  }
  logSchemaBuild(): void {}
  logMigration(message: string): void {
    this.out?.info({ migration: message }, "migration");
  }
  log(level: "log" | "info" | "warn", message: unknown, _queryRunner?: QueryRunner): void {
    if (level === "warn") this.out?.warn({ message }, "typeorm");
  }
}

export interface DatabaseOptions {
  /** A real Postgres server; without it the embedded PGlite database under dataDir is used. */
  url?: string;
  dataDir: string;
  /** Names the embedded database folder: `<dataDir>/<name>/pgdata`. */
  name: string;
  poolSize: number;
  /** Every statement is cancelled after this long (QUERY_TIMEOUT); default 2 minutes. */
  statementTimeoutMs?: number;
  /** Connecting gives up after this long (at start: a clear error instead of a hang); default 10 s. */
  connectTimeoutMs?: number;
  migrations: MixedList<Function>;
  entities?: MixedList<Function>;
  logger?: Logger;
}

export interface Database {
  dataSource: DataSource;
  statements: StatementCounter;
  /** "postgres" for a server given by URL, "embedded" for PGlite. */
  kind: "postgres" | "embedded";
  runMigrations(): Promise<string[]>;
  /** Resolves when the database answers `SELECT 1` within `timeoutMs`; throws with the reason otherwise. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The start time of a process (clock ticks since boot, from /proc), or null where that cannot be read. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The lock file of an embedded data folder names its owner by PID and the process's start time,
 * so a stale file whose PID now belongs to another program (after a crash and a reboot, or PID
 * reuse) does not block a start. A file without a start time (older versions) is judged by the PID.
 */
function takeLock(lockFile: string, root: string): void {
  let text: string | undefined;
  try {
    text = readFileSync(lockFile, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (text) {
    const [pidText, started] = text.split(/\s+/);
    const holder = Number(pidText);
    const same = started === undefined || processStartTime(holder) === null || processStartTime(holder) === started;
    if (holder && holder !== process.pid && pidAlive(holder) && same) {
      throw new Error(
        `the embedded database ${root} is in use by process ${holder}; stop it first, or set DBB_DATABASE_URL to use a Postgres server`,
      );
    }
  }
  const started = processStartTime(process.pid);
  writeFileSync(lockFile, started === null ? String(process.pid) : `${process.pid} ${started}`);
}

/**
 * The embedded database: PGlite in its own thread (embedded-database-worker.ts) behind a loopback
 * socket, so the embedded default and a real server share one code path. PGlite cannot cancel a
 * statement, and it runs one synchronously: a thread that has not answered a ping for longer than
 * the statement timeout (plus a grace) is ended and a fresh one started on the same port and data,
 * which is what cancelling the statement means here. The pg driver's own deadline has already
 * answered the caller QUERY_TIMEOUT by then; the broken connection leaves the pool.
 */
class EmbeddedServer {
  readonly host = "127.0.0.1";
  port = 0;
  private worker?: Worker;
  /** The worker's own port; the pg pool connects to `port`, a relay in this thread. */
  private workerPort = 0;
  private relay?: net.Server;
  private readonly links = new Set<net.Socket>();
  private watchdog?: NodeJS.Timeout;
  private lastPong = Date.now();
  private starting?: Promise<void>;
  /** How many times an overrunning statement ended the database's thread. */
  restarts = 0;

  constructor(
    private readonly pgdata: string,
    private readonly budgetMs: number,
    private readonly log?: Logger,
  ) {}

  /**
   * Starts the thread and a relay on a port of this thread: connections made while the thread
   * restarts wait for it instead of being refused, and a restart cuts the connections it served.
   */
  async start(): Promise<void> {
    await (this.starting = this.startWorker());
    this.relay = net.createServer((client) => void this.link(client));
    await new Promise<void>((resolve, reject) => {
      this.relay!.once("error", reject);
      this.relay!.listen(0, this.host, () => resolve());
    });
    this.port = (this.relay.address() as net.AddressInfo).port;
  }

  private async link(client: net.Socket): Promise<void> {
    this.links.add(client);
    client.on("close", () => this.links.delete(client));
    client.on("error", () => client.destroy());
    client.pause();
    try {
      await this.starting;
    } catch {
      client.destroy();
      return;
    }
    if (client.destroyed) return;
    const upstream = net.connect(this.workerPort, this.host);
    this.links.add(upstream);
    upstream.on("close", () => {
      this.links.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  private async startWorker(): Promise<void> {
    const worker = new Worker(path.join(__dirname, "embedded-database-worker.js"), { workerData: { pgdata: this.pgdata, port: 0 } });
    this.worker = worker;
    const ready = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      worker.on("message", (m: { ready?: { host: string; port: number }; error?: string; pong?: number }) => {
        if (m.ready) resolve(m.ready);
        else if (m.error) reject(new Error(`the embedded database did not start: ${m.error}`));
        else if (m.pong !== undefined) this.lastPong = Date.now();
      });
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the embedded database thread exited with ${code} while starting`)));
    });
    this.workerPort = ready.port;
    this.lastPong = Date.now();
    let n = 0;
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastPong > this.budgetMs) void this.restart();
      else worker.postMessage({ ping: ++n });
    }, 200);
    this.watchdog.unref();
  }

  /** Ends the database's thread (and the statement it is stuck in) and starts a fresh one on the same data. */
  restart(): Promise<void> {
    if (this.restarting) return this.restarting;
    this.restarts++;
    this.log?.warn({ budgetMs: this.budgetMs }, "a statement overran the embedded database's timeout; restarting the database");
    clearInterval(this.watchdog);
    const old = this.worker;
    // New connections wait for the whole restart (starting), not for the old thread.
    this.starting = this.restarting = (async () => {
      for (const link of this.links) link.destroy();
      await old?.terminate();
      await this.startWorker();
    })().finally(() => (this.restarting = undefined));
    return this.restarting;
  }
  private restarting?: Promise<void>;

  async stop(): Promise<void> {
    clearInterval(this.watchdog);
    await this.restarting?.catch(() => undefined);
    for (const link of this.links) link.destroy();
    await new Promise<void>((resolve) => (this.relay ? this.relay.close(() => resolve()) : resolve()));
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    const stopped = new Promise<void>((resolve) => {
      worker.on("message", (m: { stopped?: boolean }) => m.stopped && resolve());
      worker.once("exit", () => resolve());
    });
    worker.postMessage({ stop: true });
    // A thread stuck in a statement cannot stop itself cleanly.
    const timer = setTimeout(() => void worker.terminate(), 5000);
    await stopped;
    clearTimeout(timer);
    await worker.terminate();
  }
}

/** The advisory lock (a fixed key per database) held while migrations run. */
const MIGRATION_LOCK = 0x64626201;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const statements = new StatementCounter(options.logger);
  const statementTimeoutMs = options.statementTimeoutMs ?? 120000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10000;
  let embedded: EmbeddedServer | undefined;
  let lockFile: string | undefined;
  const common = {
    type: "postgres" as const,
    entities: options.entities ?? [],
    migrations: options.migrations,
    migrationsTableName: "typeorm_migrations",
    synchronize: false,
    logging: true as const,
    logger: statements,
    maxQueryExecutionTime: 2000,
  };
  let dataSource: DataSource;
  if (options.url) {
    dataSource = new DataSource({
      ...common,
      url: options.url,
      poolSize: options.poolSize,
      connectTimeoutMS: connectTimeoutMs,
      // The server cancels a statement at the timeout (SQLSTATE 57014); the driver's own deadline,
      // a little later, covers a server that stopped answering altogether.
      extra: { statement_timeout: statementTimeoutMs, query_timeout: statementTimeoutMs + 5000, connectionTimeoutMillis: connectTimeoutMs },
    });
  } else {
    const root = path.join(options.dataDir, options.name);
    mkdirSync(root, { recursive: true });
    lockFile = path.join(root, "lock");
    takeLock(lockFile, root);
    embedded = new EmbeddedServer(path.join(root, "pgdata"), statementTimeoutMs + 2000, options.logger);
    try {
      await embedded.start();
    } catch (err) {
      rmSync(lockFile, { force: true });
      throw err;
    }
    options.logger?.info({ dataDir: root, port: embedded.port }, "embedded database started");
    // The statement that timed out still runs in the database's thread: end it now.
    const server = embedded;
    statements.onError = (error) => {
      if (isQueryTimeout(error)) void server.restart();
    };
    dataSource = new DataSource({
      ...common,
      host: embedded.host,
      port: embedded.port,
      username: "postgres",
      database: "postgres",
      poolSize: 1,
      connectTimeoutMS: connectTimeoutMs,
      extra: { query_timeout: statementTimeoutMs, connectionTimeoutMillis: connectTimeoutMs },
    });
  }
  const stopEmbedded = async () => {
    await embedded?.stop();
    if (lockFile) rmSync(lockFile, { force: true });
  };
  try {
    await dataSource.initialize();
  } catch (err) {
    await stopEmbedded();
    throw new Error(`cannot connect to the database${options.url ? ` at ${redactUrl(options.url)}` : ""}: ${(err as Error).message}`);
  }
  return {
    dataSource,
    statements,
    kind: embedded ? "embedded" : "postgres",
    async runMigrations() {
      // Production runs several processes on one database, and they may start together: one at a
      // time runs what is pending (the others then find nothing to run). The embedded database has
      // one connection and one process, so it needs no lock.
      if (embedded) return (await dataSource.runMigrations({ transaction: "each" })).map((m) => m.name);
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
        return (await dataSource.runMigrations({ transaction: "each" })).map((m) => m.name);
      } finally {
        await runner.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => undefined);
        await runner.release();
      }
    },
    async ping(timeoutMs: number) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          dataSource.query("SELECT 1"),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await stopEmbedded();
    },
  };
}

/** A database URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

export const UNIQUE_VIOLATION = "23505";
export const FOREIGN_KEY_VIOLATION = "23503";
export const DEADLOCK_DETECTED = "40P01";

/**
 * Runs a statement and returns its rows. TypeORM's postgres driver answers UPDATE and DELETE with
 * `[rows, rowCount]` instead of the rows; this evens that out for `UPDATE … RETURNING`.
 */
export async function queryRows<T>(db: EntityManager, sql: string, params?: unknown[]): Promise<T[]> {
  const result = await db.query(sql, params);
  return /^\s*(UPDATE|DELETE)\b/i.test(sql) ? (result[0] as T[]) : (result as T[]);
}


/** Below this many rows a write leaves the table's statistics to autovacuum. */
export const BULK_ANALYZE_ROWS = 1000;

/**
 * After a bulk write that grew `table` by more than a tenth, refreshes its statistics at once, as
 * Postgres advises after a bulk load ("Populating a Database": run ANALYZE afterwards), instead of
 * waiting up to a minute for autovacuum; ANALYZE also makes every session re-plan the statements
 * it keeps prepared on the table, among them the foreign-key checks of the tables that reference
 * it. Without it, a catalog that had registered a dozen files and then 100,000 took minutes, not
 * seconds, for their replicas: each row's check on dids ran the plan a session had kept since
 * dids held a dozen rows, an index scan of dids_type (scope, did_type, name) on scope and name,
 * which reads every DID of the scope (seen with auto_explain: 4-7 ms a check at 20,000 DIDs).
 * Run it after the write commits, so the lock it takes (and skips when autovacuum holds it) is
 * not kept. One statement; none below BULK_ANALYZE_ROWS rows. `table` is a name from the code, never from input.
 */
export async function analyzeAfterBulkWrite(db: EntityManager, table: string, rows: number): Promise<void> {
  if (!(rows >= BULK_ANALYZE_ROWS) || !/^[a-z_]+$/.test(table)) return;
  await db.query(
    `DO $$ BEGIN
       IF (SELECT reltuples FROM pg_class WHERE oid = '${table}'::regclass) < ${Math.floor(rows)} * 10 THEN
         ANALYZE (SKIP_LOCKED) ${table};
       END IF;
     END $$`,
  );
}
