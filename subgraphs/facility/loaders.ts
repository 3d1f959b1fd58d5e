import DataLoader from "dataloader";
import type { EntityManager } from "typeorm";
import { arrivalsByDid } from "./arrival/arrival";
import { ArrivalSummary, arrivalSummary } from "./arrival/arrival-summary";
import { DatasetRow, datasetsByDid, datasetsById, DidKey, fileRecordsOf, FileRecordRow } from "./dataset";

/**
 * Every relation a query can follow goes through one of these per-request DataLoaders, so a
 * query's SQL statement count depends on its shape, not on how many rows it returns. Batches are
 * dispatched after pending I/O callbacks (setImmediate), so sibling resolvers share a statement.
 */
const batchScheduleFn = (callback: () => void) => setImmediate(callback);

export function createLoaders(db: EntityManager) {
  return {
    dataset: new DataLoader<string, DatasetRow | null>(
      async (ids) => {
        const rows = await datasetsById(db, ids);
        const map = new Map(rows.map((r) => [r.id, r]));
        return ids.map((id) => map.get(id.toLowerCase()) ?? null);
      },
      { batchScheduleFn },
    ),
    filesOfDataset: new DataLoader<string, FileRecordRow[]>(
      async (ids) => {
        const rows = await fileRecordsOf(db, ids);
        const groups = new Map<string, FileRecordRow[]>();
        for (const r of rows) {
          if (!groups.has(r.datasetId)) groups.set(r.datasetId, []);
          groups.get(r.datasetId)!.push(r);
        }
        return ids.map((id) => groups.get(id.toLowerCase()) ?? []);
      },
      { batchScheduleFn },
    ),
    datasetOfDid: new DataLoader<DidKey, DatasetRow | null, string>(
      async (keys) => {
        const rows = await datasetsByDid(db, keys);
        const map = new Map(rows.map((r) => [`${r.scope}:${r.name}`, r]));
        return keys.map((k) => map.get(`${k.scope}:${k.name}`) ?? null);
      },
      { batchScheduleFn, cacheKeyFn: (k) => `${k.scope}:${k.name}` },
    ),
    /** The facility's ingest summary by window (one per request however many Facility representations ask). */
    arrivalSummary: new DataLoader<number, ArrivalSummary>((windows) => Promise.all(windows.map((hours) => arrivalSummary(db, hours))), { batchScheduleFn }),
    arrivalOfDid: new DataLoader<DidKey, Awaited<ReturnType<typeof arrivalsByDid>>[number], string>((keys) => arrivalsByDid(db, keys), {
      batchScheduleFn,
      cacheKeyFn: (k) => `${k.scope}:${k.name}`,
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
