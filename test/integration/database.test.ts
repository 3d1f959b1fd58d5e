import "reflect-metadata";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "pg";
import { loadConfig } from "../../lib/config";
import { analyzeAfterBulkWrite, Database, isQueryTimeout, openDatabase } from "../../lib/database";
import { createTestDatabase } from "../support/postgres";

/**
 * lib/database.ts on both kinds of database: every statement has a deadline, a failed or
 * cancelled statement leaves the service's connection usable, a server that never answers fails
 * the start within the connect timeout, and a stale lock file does not block the embedded one.
 */
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dbb-db-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

describe("the embedded database", () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ dataDir: tempDir(), name: "timeouts", poolSize: 1, migrations: [], statementTimeoutMs: 1000 });
  });
  afterAll(() => db.close());

  it("cancels a statement that overruns the timeout, keeps the service's thread running meanwhile, and answers the next statement", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    const err = await failure(() => db.dataSource.query("SELECT count(*) FROM generate_series(1, 10000000000)"));
    clearInterval(timer);
    expect(isQueryTimeout(err)).toBe(true);
    // The service's own thread ran while the statement did (health, other requests, Ctrl-C).
    expect(ticks).toBeGreaterThan(5);
    // The next statements wait for the restarted database rather than fail.
    await db.ping(30000).catch(() => db.ping(30000));
    expect(await db.dataSource.query("SELECT 41 + 1 AS n")).toEqual([{ n: 42 }]);
  });

  it("answers after a failed statement", async () => {
    expect((await failure(() => db.dataSource.query("SELECT 1 / $1::int", [0]))).message).toMatch(/division by zero/);
    expect(await db.dataSource.query("SELECT $1::int AS n", [7])).toEqual([{ n: 7 }]);
    let deep = "$1::int";
    for (let i = 0; i < 700; i++) deep = `(${deep} + 1)`;
    await failure(() => db.dataSource.query(`SELECT ${deep}`, [1])).catch(() => undefined);
    expect(await db.dataSource.query("SELECT $1::int AS n", [8])).toEqual([{ n: 8 }]);
  });

  it("starts although the lock file names a live process that is not the lock's owner (a reused PID)", async () => {
    const dataDir = tempDir();
    mkdirSync(path.join(dataDir, "stale"), { recursive: true });
    const other = spawn("sleep", ["60"]);
    try {
      // Written by an owner that has gone; its PID now belongs to `sleep`, started at another time.
      writeFileSync(path.join(dataDir, "stale", "lock"), `${other.pid} 1`);
      const stale = await openDatabase({ dataDir, name: "stale", poolSize: 1, migrations: [] });
      await stale.close();
      // A lock held by the live owner itself still refuses a second opener.
      const started = readFileSync(`/proc/${other.pid}/stat`, "utf8").split(") ")[1].split(" ")[19];
      writeFileSync(path.join(dataDir, "stale", "lock"), `${other.pid} ${started}`);
      const held = await failure(() => openDatabase({ dataDir, name: "stale", poolSize: 1, migrations: [] }));
      expect(held.message).toMatch(/in use by process/);
    } finally {
      other.kill();
    }
  });
});

describe("a Postgres server", () => {
  it("cancels a statement at the statement timeout (QUERY_TIMEOUT) and answers the next one", async () => {
    const target = await createTestDatabase("stmt_timeout");
    const db = await openDatabase({ url: target.url, dataDir: tempDir(), name: "x", poolSize: 2, migrations: [], statementTimeoutMs: 500 });
    const locker = new Client({ connectionString: target.url });
    await locker.connect();
    try {
      await db.dataSource.query("CREATE TABLE held (x int)");
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE held IN ACCESS EXCLUSIVE MODE");
      const err = await failure(() => db.dataSource.query("SELECT count(*) FROM held"));
      expect(isQueryTimeout(err)).toBe(true);
      await locker.query("ROLLBACK");
      expect(await db.dataSource.query("SELECT count(*)::int AS n FROM held")).toEqual([{ n: 0 }]);
    } finally {
      await locker.end();
      await db.close();
      await target.drop();
    }
  });

  it("refreshes the statistics of a table a bulk write grew by more than a tenth, and leaves a small write to autovacuum", async () => {
    const target = await createTestDatabase("bulk_analyze");
    const db = await openDatabase({ url: target.url, dataDir: tempDir(), name: "x", poolSize: 2, migrations: [] });
    const q = (sql: string) => db.dataSource.query(sql);
    const estimate = async () => Number((await q("SELECT reltuples FROM pg_class WHERE relname = 'parent'"))[0].reltuples);
    try {
      await q("CREATE TABLE parent (scope text, name text, PRIMARY KEY (scope, name)) WITH (autovacuum_enabled = false)");
      await q("INSERT INTO parent SELECT 'raw', 'p' || i FROM generate_series(1, 12) i");
      await q("ANALYZE parent");
      expect(await estimate()).toBe(12);
      await q("INSERT INTO parent SELECT 'raw', 'p' || i FROM generate_series(13, 50000) i");
      await analyzeAfterBulkWrite(db.dataSource.manager, "parent", 49988);
      expect(await estimate()).toBe(50000);
      await q("INSERT INTO parent SELECT 'raw', 'q' || i FROM generate_series(1, 2000) i");
      await analyzeAfterBulkWrite(db.dataSource.manager, "parent", 2000);
      expect(await estimate()).toBe(50000);
      await analyzeAfterBulkWrite(db.dataSource.manager, "parent", 999);
      expect(await estimate()).toBe(50000);
    } finally {
      await db.close();
      await target.drop();
    }
  });

  it("fails the start within the connect timeout when the server accepts connections and never answers", async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const err = await failure(() =>
        openDatabase({ url: `postgres://postgres@127.0.0.1:${port}/x`, dataDir: tempDir(), name: "x", poolSize: 1, migrations: [], connectTimeoutMs: 500 }),
      );
      expect(err.message).toMatch(/cannot connect to the database at postgres:\/\/postgres@127\.0\.0\.1:\d+\/x/);
      expect(err.message).toMatch(/timeout/i);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  }, 20000);

  it("says what is wrong with a database URL that is not one", () => {
    expect(() => loadConfig(undefined, { DBB_DATABASE_URL: "not-a-url" })).toThrow(/database\.url must be a Postgres URL such as postgres:\/\/user@host:5432\/dbname/);
    expect(() => loadConfig(undefined, { DBB_DATABASE_URL: "mysql://h/db" })).toThrow(/database\.url must be a Postgres URL/);
    expect(loadConfig(undefined, { DBB_DATABASE_URL: "postgresql://u@db.example:5432/dbb" }).database.url).toBe("postgresql://u@db.example:5432/dbb");
  });
});
