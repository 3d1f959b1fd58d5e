import type { EntityManager } from "typeorm";
import type { Logger } from "../../lib/logger";
import { Loop, LoopMetrics, startLoop } from "../../lib/loop";
import { beatWorker, registerWorker, stopWorker } from "./catalog-worker";
import { expireRules } from "./rule";
import { requeueExpiredLeases, TransferSettings } from "./transfer";

export interface JudgeSettings extends TransferSettings {
  tombstoneDelaySeconds: number;
  /** The judge's pace, and the catalog workers' heartbeat. */
  judgeIntervalSeconds: number;
}

export interface JudgeRound {
  expiredRules: number;
  requeued: number;
}

/**
 * One round of the catalog's periodic housekeeping (Rucio's judge-cleaner and the request
 * lease reaper): delete expired rules, return requests with lapsed leases to the queue. Safe to
 * run in several processes at once: both claim their rows with FOR UPDATE SKIP LOCKED.
 */
export async function runJudgeOnce(db: EntityManager, settings: JudgeSettings): Promise<JudgeRound> {
  const expiredRules = await expireRules(db, settings.tombstoneDelaySeconds);
  const requeued = await requeueExpiredLeases(db);
  return { expiredRules, requeued };
}

/**
 * Runs the judge every `settings.judgeIntervalSeconds` (waiting that long after each round ends)
 * and keeps this process's worker row beating at the same pace. The returned function stops both cleanly.
 */
export async function startJudge(db: EntityManager, settings: JudgeSettings, logger: Logger, metrics?: LoopMetrics): Promise<() => Promise<void>> {
  const intervalSeconds = settings.judgeIntervalSeconds;
  const worker = await registerWorker(db);
  const loops: Loop[] = [
    startLoop({ name: "catalog-heartbeat", intervalMs: intervalSeconds * 1000, round: () => beatWorker(db, worker), logger, metrics }),
    startLoop({
      name: "judge",
      intervalMs: intervalSeconds * 1000,
      round: () => runJudgeOnce(db, settings),
      describe: (r) => (r.expiredRules || r.requeued ? "judge round" : undefined),
      logger,
      metrics,
    }),
  ];
  logger.info({ worker }, "catalog worker registered");
  return async () => {
    await Promise.all(loops.map((l) => l.stop()));
    await stopWorker(db, worker).catch((err) => logger.warn({ err }, "could not mark the catalog worker stopped"));
  };
}
