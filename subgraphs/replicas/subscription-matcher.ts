import type { EntityManager } from "typeorm";
import type { Logger } from "../../lib/logger";
import { LoopMetrics, startLoop } from "../../lib/loop";
import { runSubscriptionsOnce, SubscriptionSettings } from "./subscription";

/**
 * Runs the subscription matcher (new-DID and metadata events, then re-evaluation jobs) every
 * `settings.intervalSeconds` in this catalog process, beside the judge. Several processes may run
 * it on one database: the cursor and each job are claimed with SKIP LOCKED, and the
 * (subscription, template, DID) key makes a rule exactly once. The returned function stops it.
 */
export function startSubscriptionMatcher(db: EntityManager, settings: SubscriptionSettings, logger: Logger, metrics?: LoopMetrics): () => Promise<void> {
  const loop = startLoop({
    name: "subscriptions",
    intervalMs: settings.intervalSeconds * 1000,
    round: () => runSubscriptionsOnce(db, settings),
    describe: (r) => (r.rulesCreated ? `subscriptions created ${r.rulesCreated} rule(s) for ${r.matched} DID(s)` : undefined),
    logger,
    metrics,
  });
  return () => loop.stop();
}
