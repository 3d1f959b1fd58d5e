import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { DataSource, EntityManager, Logger as TypeOrmLogger, MixedList, QueryRunner } from "typeorm";
import type { Logger } from "./logger";

// bigint (int8) columns hold byte counts and counts: they fit a JS number (below 2^53).
pg.types.setTypeParser(20, (value: string) => Number(value));

/**
 * Counts the SQL statements a data source sends. Tests use it to show that a nested query's
 * statement count does not grow with the number of rows; /metrics can expose it too.
 */
export class StatementCounter implements TypeOrmLogger {
  count = 0;
  constructor(private readonly out?: Logger) {}
  logQuery(query: string): void {
    this.count++;
    this.out?.trace({ sql: query }, "sql");
  }
  logQueryError(error: string | Error, query: string): void {
    this.count++;
    this.out?.debug({ err: error, sql: query }, "sql error");
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
  close(): Promise<void>;
}

interface Embedded {
  host: string;
  port: number;
  stop(): Promise<void>;
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
 * Starts PGlite (Postgres compiled to WASM) on its data folder and serves it to the `pg` driver
 * over a loopback socket, so the embedded default and a real server share one code path.
 * One process owns a data folder at a time: a lock file names the owner.
 */
async function startEmbedded(dataDir: string, name: string, log?: Logger): Promise<Embedded> {
  const root = path.join(dataDir, name);
  mkdirSync(root, { recursive: true });
  const lockFile = path.join(root, "lock");
  try {
    const holder = Number(readFileSync(lockFile, "utf8").trim());
    if (holder && holder !== process.pid && pidAlive(holder)) {
      throw new Error(
        `the embedded database ${root} is in use by process ${holder}; stop it first, or set DBB_DATABASE_URL to use a Postgres server`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  writeFileSync(lockFile, String(process.pid));
  // PGlite ships as ESM and CJS; load lazily so services on a real server never pay for the WASM.
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create({ dataDir: path.join(root, "pgdata") });
  // One connection: PGlite is a single session, and interleaving two clients' extended-protocol
  // messages would mix their statements. The pg pool in front of it is sized 1 to match.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 });
  await server.start();
  const [host, port] = server.getServerConn().split(":");
  log?.info({ dataDir: root, port: Number(port) }, "embedded database started");
  return {
    host,
    port: Number(port),
    async stop() {
      await server.stop();
      await db.close();
      rmSync(lockFile, { force: true });
    },
  };
}

/** The advisory lock (a fixed key per database) held while migrations run. */
const MIGRATION_LOCK = 0x64626201;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const statements = new StatementCounter(options.logger);
  let embedded: Embedded | undefined;
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
    dataSource = new DataSource({ ...common, url: options.url, poolSize: options.poolSize });
  } else {
    embedded = await startEmbedded(options.dataDir, options.name, options.logger);
    dataSource = new DataSource({
      ...common,
      host: embedded.host,
      port: embedded.port,
      username: "postgres",
      database: "postgres",
      poolSize: 1,
    });
  }
  try {
    await dataSource.initialize();
  } catch (err) {
    await embedded?.stop();
    throw err;
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
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}

/** Postgres SQLSTATE of an error from the driver, if any. */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === "string" ? code : undefined;
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
