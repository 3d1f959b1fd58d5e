import os from "node:os";
import type { EntityManager } from "typeorm";
import { codeVersion } from "../../lib/version";

/**
 * Liveness of the catalog processes that share one database (Rucio's heartbeats): each process
 * records itself when it starts, beats while it runs, and marks itself stopped when it stops
 * cleanly. A process that died keeps its last beat: it shows as LATE, and the periodic work it
 * was doing is taken by the others, because every round claims its rows with SKIP LOCKED and a
 * dead process's transaction rolls back.
 */
export interface CatalogWorkerRow {
  id: string;
  host: string;
  pid: number;
  version: string;
  startedAt: Date;
  lastBeat: Date;
  stoppedAt: Date | null;
  state: "ALIVE" | "LATE" | "STOPPED";
}


export async function registerWorker(db: EntityManager): Promise<string> {
  const [row] = await db.query(`INSERT INTO catalog_workers (host, pid, version) VALUES ($1, $2, $3) RETURNING id`, [os.hostname(), process.pid, codeVersion()]);
  return row.id;
}

/** Records a beat; also forgets workers that stopped or went silent more than a day ago. */
export async function beatWorker(db: EntityManager, id: string): Promise<void> {
  await db.query(`UPDATE catalog_workers SET last_beat = now() WHERE id = $1`, [id]);
  await db.query(`DELETE FROM catalog_workers WHERE last_beat < now() - interval '1 day'`);
}

export async function stopWorker(db: EntityManager, id: string): Promise<void> {
  await db.query(`UPDATE catalog_workers SET stopped_at = now(), last_beat = now() WHERE id = $1`, [id]);
}

/** Every known worker, newest first; LATE when it has not beaten for three beat intervals. */
export async function listWorkers(db: EntityManager, beatSeconds: number): Promise<CatalogWorkerRow[]> {
  return db.query(
    `SELECT id, host, pid, version, started_at AS "startedAt", last_beat AS "lastBeat", stopped_at AS "stoppedAt",
       CASE WHEN stopped_at IS NOT NULL THEN 'STOPPED' WHEN last_beat < now() - make_interval(secs => $1) THEN 'LATE' ELSE 'ALIVE' END AS state
     FROM catalog_workers ORDER BY started_at DESC, id`,
    [3 * beatSeconds],
  );
}
