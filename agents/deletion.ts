import type { DbbError } from "../lib/errors";
import { ErrorCode } from "../lib/errors";
import type { Logger } from "../lib/logger";
import type { StorageDriver } from "../lib/storage/driver";
import type { AgentState } from "./agent-state";
import { AgentApi, Departure, locationOf } from "./api";

/**
 * The agent's deletions (claim, work, report): claims replicas of its facility that are due and
 * unprotected, deletes each object (one already gone counts as deleted), and reports. A failed
 * delete is reported with the store's message; the catalog retries it after the backoff.
 */
export interface DeletionWorkOptions {
  api: AgentApi;
  batch: number;
  /** Deletions run at once. */
  concurrency: number;
  destination: (location: ReturnType<typeof locationOf>) => StorageDriver;
  state: AgentState;
  logger: Logger;
}

export async function runDeletionsOnce(o: DeletionWorkOptions): Promise<{ claimed: number; deleted: number; failed: number; datasetsRemoved: number }> {
  const claimed = await o.api.claimDeletions(o.batch);
  const gone: Departure[] = [];
  let deleted = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < claimed.length) {
      const d = claimed[next++];
      let error: string | undefined;
      try {
        await o.destination(locationOf(d.rse)).delete(d.path);
      } catch (err) {
        const e = err as DbbError;
        error = `${e.code ?? ErrorCode.STORAGE_ERROR}: ${e.message}`;
      }
      try {
        await o.api.reportDeletion(d.id, d.lease, !error, error);
        if (error) {
          failed++;
          o.state.deletions.inc({ outcome: "failed" });
          o.state.error(ErrorCode.STORAGE_ERROR, `deleting ${d.rse.name}:${d.path} failed: ${error}`);
        } else {
          deleted++;
          gone.push({ ...d.file, removal: d.removal });
          o.state.deletionsDone++;
          o.state.deletions.inc({ outcome: "done" });
        }
      } catch (err) {
        const e = err as DbbError;
        o.state.error(e.code ?? ErrorCode.NETWORK, `reporting deletion ${d.id} failed: ${e.message}`);
        o.logger.warn({ replica: d.id, code: e.code, err: e.message }, "reporting a deletion failed; it will be handed out again");
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, claimed.length) }, worker));
  // The facility's Butler forgets what was ingested from the deleted files (registry and storage agree).
  let datasetsRemoved = 0;
  if (gone.length) {
    try {
      const told = await o.api.recordDepartures(gone);
      datasetsRemoved = told.datasetsRemoved;
      // Campaign removals show what the registry removed for them as it happens.
      for (const totals of told.removals) await o.api.reportRemovalProgress(totals, false);
    } catch (err) {
      const e = err as DbbError;
      o.state.error(e.code ?? ErrorCode.NETWORK, `removing the Butler datasets of ${gone.length} deleted files failed: ${e.message}`);
      o.logger.warn({ code: e.code, err: e.message, files: gone.length }, "the facility did not remove the datasets of deleted files");
    }
  }
  return { claimed: claimed.length, deleted, failed, datasetsRemoved };
}
