import type { DbbError } from "../lib/errors";
import { ErrorCode } from "../lib/errors";
import type { Logger } from "../lib/logger";
import type { AgentState } from "./agent-state";
import type { AgentApi } from "./api";

/**
 * The agent's part of campaign removals (claim, work, report): when the catalog says every copy a
 * removal planned at this facility is gone, the agent tells its facility once more which files
 * went (idempotent; it catches departures a crash or an unreachable facility lost), asks it to
 * remove the named runs and collections left empty, and reports the facility's totals to the
 * catalog, which closes the facility's part. A removal that fails here is taken again next round.
 */
export interface RemovalWorkOptions {
  api: AgentApi;
  state: AgentState;
  logger: Logger;
}

export async function runRemovalsOnce(o: RemovalWorkOptions): Promise<{ finished: number; failed: number }> {
  const work = await o.api.removalWork();
  let finished = 0;
  let failed = 0;
  for (const item of work) {
    try {
      let after: string | null = null;
      for (;;) {
        const page = await o.api.removalDeletedFiles(item.id, after);
        if (page.files.length) await o.api.recordDepartures(page.files);
        if (!page.hasNextPage || !page.endCursor) break;
        after = page.endCursor;
      }
      const totals = await o.api.finishRemoval(item);
      await o.api.reportRemovalProgress(totals, true);
      finished++;
      o.logger.info({ ...totals }, "finished this facility's part of a removal");
    } catch (err) {
      failed++;
      const e = err as DbbError;
      o.state.error(e.code ?? ErrorCode.NETWORK, `finishing removal ${item.id} failed: ${e.message}`);
      o.logger.warn({ removal: item.id, code: e.code, err: e.message }, "finishing a removal failed; it is taken again next round");
    }
  }
  return { finished, failed };
}
