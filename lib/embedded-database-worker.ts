/**
 * The embedded database's own thread: PGlite (Postgres compiled to WASM) served to the `pg` driver
 * over a loopback socket. PGlite runs a statement synchronously, so in the service's thread one
 * long statement would stop everything (health, other requests, Ctrl-C); here it stops only this
 * thread, and lib/database.ts ends the thread and starts a fresh one when a statement overruns.
 *
 * Messages: the parent sends { stop: true }; this thread answers { ready: { host, port } },
 * { error: message }, { stopped: true }, and { pong: n } to each { ping: n } (a busy thread
 * cannot answer: that is how the parent sees a statement still running).
 */
import { parentPort, workerData } from "node:worker_threads";

interface Start {
  pgdata: string;
  port: number;
}

async function main(): Promise<void> {
  const { pgdata, port } = workerData as Start;
  // PGlite ships as ESM and CJS; load lazily so services on a real server never pay for the WASM.
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create({ dataDir: pgdata });
  // One connection: PGlite is a single session, and interleaving two clients' extended-protocol
  // messages would mix their statements. The pg pool in front of it is sized 1 to match.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 1 });
  await server.start();
  const [host, actual] = server.getServerConn().split(":");
  parentPort!.on("message", async (message: { stop?: boolean; ping?: number }) => {
    if (message.ping !== undefined) {
      parentPort!.postMessage({ pong: message.ping });
      return;
    }
    if (message.stop) {
      try {
        await server.stop();
        await db.close();
      } finally {
        parentPort!.postMessage({ stopped: true });
      }
    }
  });
  parentPort!.postMessage({ ready: { host, port: Number(actual) } });
}

main().catch((err) => parentPort!.postMessage({ error: (err as Error).message ?? String(err) }));
