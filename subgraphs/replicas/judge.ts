import type { EntityManager } from "typeorm";
import type { Logger } from "../../lib/logger";
import { Loop, LoopMetrics, startLoop } from "../../lib/loop";
import type { Config } from "../../lib/config";
import { beatWorker, registerWorker, stopWorker } from "./catalog-worker";
import { advanceRemovals, ButlerLookup } from "./removal";
import { gatewayButlerLookup } from "./removal-lookup";
import { expireRules } from "./rule";
import { requeueExpiredLeases, TransferSettings } from "./transfer";

export interface JudgeSettings extends TransferSettings {
  tombstoneDelaySeconds: number;
  /** The judge's pace, and the catalog workers' heartbeat. */
  judgeIntervalSeconds: number;
  /** Campaign removals: how the catalog asks the facilities' Butlers (absent: removals naming runs or collections cannot be planned). */
  removals?: { lookup: ButlerLookup; resolveRetrySeconds: number };
}

/** The judge's settings from the configuration: transfers, and the facilities reached through the gateway for removals. */
export function judgeSettings(config: Config): JudgeSettings {
  return {
    ...config.transfers,
    removals: { lookup: gatewayButlerLookup(config.removals), resolveRetrySeconds: config.removals.resolveRetrySeconds },
  };
}

export interface JudgeRound {
  expiredRules: number;
  requeued: number;
  /** Facilities that answered a removal's question late, and DIDs past their lifetime now being removed. */
  removalsResolved: number;
  didsExpired: number;
}

/**
 * One round of the catalog's periodic housekeeping (Rucio's judge-cleaner and the request
 * lease reaper, and its undertaker): delete expired rules, return requests with lapsed leases to
 * the queue, move campaign removals on (facilities asked again, DIDs past their lifetime removed).
 * Safe to run in several processes at once: each claims its rows with FOR UPDATE SKIP LOCKED.
 */
export async function runJudgeOnce(db: EntityManager, settings: JudgeSettings): Promise<JudgeRound> {
  const expiredRules = await expireRules(db, settings.tombstoneDelaySeconds);
  const requeued = await requeueExpiredLeases(db);
  const removals = settings.removals
    ? await advanceRemovals(db, settings.removals.lookup, { tombstoneDelaySeconds: settings.tombstoneDelaySeconds, resolveRetrySeconds: settings.removals.resolveRetrySeconds })
    : { resolved: 0, expired: 0 };
  return { expiredRules, requeued, removalsResolved: removals.resolved, didsExpired: removals.expired };
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
      describe: (r) => (r.expiredRules || r.requeued || r.removalsResolved || r.didsExpired ? "judge round" : undefined),
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
