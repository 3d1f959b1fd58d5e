import type { EntityManager } from "typeorm";
import type { Logger } from "../../lib/logger";
import { expireRules } from "./rule";
import { requeueExpiredLeases, TransferSettings } from "./transfer";

export interface JudgeSettings extends TransferSettings {
  tombstoneDelaySeconds: number;
}

/**
 * One round of the catalog's periodic housekeeping (Rucio's judge-cleaner and the request
 * lease reaper): delete expired rules, return requests with lapsed leases to the queue.
 */
export async function runJudgeOnce(db: EntityManager, settings: JudgeSettings): Promise<{ expiredRules: number; requeued: number }> {
  const expiredRules = await expireRules(db, settings.tombstoneDelaySeconds);
  const requeued = await requeueExpiredLeases(db);
  return { expiredRules, requeued };
}

/** Runs the judge every `intervalSeconds` until stopped; a failed round is logged and retried. */
export function startJudge(db: EntityManager, settings: JudgeSettings, intervalSeconds: number, logger: Logger): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(() => runJudgeOnce(db, settings))
      .then((r) => {
        if (r.expiredRules || r.requeued) logger.info(r, "judge round");
      })
      .catch((err) => logger.error({ err }, "judge round failed"));
  }, intervalSeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
