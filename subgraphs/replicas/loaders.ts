import DataLoader from "dataloader";
import type { EntityManager } from "typeorm";
import { ChildPageArgs, childrenOf, ChildRow, countChildren, countFiles, filesOf, FileRow, parentsOf, ParentRow } from "./attachment";
import { DidKey, didKey, DidRow, didsByKey } from "./did";
import { FacilityRow, facilitiesByCode } from "./facility";
import { ReplicaKey, replicasByKey, replicasOfDids, ReplicaRow } from "./replica";
import { LockRow, locksByKey, locksOfDids, locksOfRules } from "./lock";
import { decodeCursor, pageSize } from "../../lib/pagination";
import { RseRow, rsesByFacility, rsesById, rsesByName } from "./rse";
import { AssociatedRuleRow, ReplicaRuleRow, RuleRow, rulesById, rulesOfDids, rulesOfReplicas } from "./rule";
import { removalFacilities, RemovalFacilityView } from "./removal";
import { SubscriptionRow, subscriptionsById } from "./subscription";
import { countTransfersToRses, RequestState, TransferRow, transfersById, transfersToRses } from "./transfer";
import { FacilityTransferCounts, transferCountsOfFacilities } from "./transfer-stats";
import { RseUsageRow, rseUsages } from "./rse-usage";
import { SubscriptionProgressRow, subscriptionProgress } from "./subscription-progress";

/**
 * Every relation a GraphQL query can follow goes through one of these per-request DataLoaders,
 * so a query's SQL statement count depends on its shape, never on how many rows it returns.
 */
/**
 * Batches are dispatched after pending I/O callbacks rather than on the next microtask, so that
 * sibling resolvers that resolve in slightly different ticks still share one statement.
 */
const batchScheduleFn = (callback: () => void) => setImmediate(callback);

function byKey<K, V, C = string>(fetch: (keys: readonly K[]) => Promise<V[]>, keyOfRow: (v: V) => C, cacheKey: (k: K) => C) {
  return new DataLoader<K, V | null, C>(
    async (keys) => {
      const rows = await fetch(keys);
      const map = new Map(rows.map((r) => [keyOfRow(r), r]));
      return keys.map((k) => map.get(cacheKey(k)) ?? null);
    },
    { cacheKeyFn: cacheKey, batchScheduleFn },
  );
}

function groupBy<K, V, C = string>(fetch: (keys: readonly K[]) => Promise<V[]>, groupOfRow: (v: V) => C, cacheKey: (k: K) => C) {
  return new DataLoader<K, V[], C>(
    async (keys) => {
      const rows = await fetch(keys);
      const groups = new Map<C, V[]>();
      for (const r of rows) {
        const g = groupOfRow(r);
        if (!groups.has(g)) groups.set(g, []);
        groups.get(g)!.push(r);
      }
      return keys.map((k) => groups.get(cacheKey(k)) ?? []);
    },
    { cacheKeyFn: cacheKey, batchScheduleFn },
  );
}

const identity = (s: string) => s;

export function createLoaders(db: EntityManager) {
  /** Pages are batched per distinct page shape (kind and arguments): one statement per shape. */
  const pages = new Map<string, DataLoader<any, any[], string>>();
  function pagedBy<K, V>(shape: unknown[], fetch: (keys: readonly K[]) => Promise<V[]>, groupOf: (v: V) => string, keyOf: (k: K) => string) {
    const id = JSON.stringify(shape);
    let loader = pages.get(id);
    if (!loader) {
      loader = groupBy<K, V>(fetch, groupOf, keyOf);
      pages.set(id, loader);
    }
    return loader as DataLoader<K, V[], string>;
  }
  const paged = <V>(kind: string, args: ChildPageArgs, fetch: (keys: readonly DidKey[]) => Promise<V[]>, groupOf: (v: V) => string) =>
    pagedBy<DidKey, V>([kind, args.first ?? null, args.after ?? null], fetch, groupOf, didKey);
  return {
    removalFacilities: new DataLoader<string, RemovalFacilityView[]>(async (ids) => {
      const parts = await removalFacilities(db, ids);
      return ids.map((id) => parts.get(id) ?? []);
    }, { batchScheduleFn }),
    facility: byKey<string, FacilityRow>((codes) => facilitiesByCode(db, codes), (f) => f.code, identity),
    rseById: byKey<string, RseRow>((ids) => rsesById(db, ids), (r) => r.id, identity),
    rseByName: byKey<string, RseRow>((names) => rsesByName(db, names), (r) => r.name, identity),
    rsesOfFacility: groupBy<string, RseRow>((codes) => rsesByFacility(db, codes), (r) => r.facility, identity),
    did: byKey<DidKey, DidRow>((keys) => didsByKey(db, keys), didKey, didKey),
    replicasOfDid: groupBy<DidKey, ReplicaRow>((keys) => replicasOfDids(db, keys), didKey, didKey),
    replica: byKey<ReplicaKey, ReplicaRow>(
      (keys) => replicasByKey(db, keys),
      (r) => `${r.scope}:${r.name}@${r.rseName}`,
      (k) => `${k.scope}:${k.name}@${k.rse}`,
    ),
    parentsOfDid: groupBy<DidKey, ParentRow>((keys) => parentsOf(db, keys), (r) => `${r.childScope}:${r.childName}`, didKey),
    childCount: byKey<DidKey, { scope: string; name: string; n: number }>((keys) => countChildren(db, keys), didKey, didKey),
    fileCount: byKey<DidKey, { scope: string; name: string; n: number }>((keys) => countFiles(db, keys), didKey, didKey),
    childrenOfDid: (args: ChildPageArgs) =>
      paged<ChildRow>("children", args, (keys) => childrenOf(db, keys, args), (r) => `${r.parentScope}:${r.parentName}`),
    rule: byKey<string, RuleRow>((ids) => rulesById(db, ids), (r) => r.id, identity),
    subscription: byKey<string, SubscriptionRow>((ids) => subscriptionsById(db, ids), (r) => r.id, identity),
    rulesOfDid: groupBy<DidKey, AssociatedRuleRow>((keys) => rulesOfDids(db, keys), (r) => `${r.forScope}:${r.forName}`, didKey),
    rulesOfReplica: groupBy<{ scope: string; name: string; rseId: string }, ReplicaRuleRow>(
      (keys) => rulesOfReplicas(db, keys),
      (r) => `${r.forScope}:${r.forName}@${r.forRse}`,
      (k) => `${k.scope}:${k.name}@${k.rseId}`,
    ),
    locksOfDid: groupBy<DidKey, LockRow>((keys) => locksOfDids(db, keys), didKey, didKey),
    lock: byKey<{ ruleId: string; scope: string; name: string; rse: string }, LockRow & { rseName: string }>(
      (keys) => locksByKey(db, keys),
      (l) => `${l.ruleId}/${l.scope}:${l.name}@${l.rseName}`,
      (k) => `${k.ruleId.toLowerCase()}/${k.scope}:${k.name}@${k.rse}`,
    ),
    transfer: byKey<string, TransferRow>((ids) => transfersById(db, ids), (t) => t.id, identity),
    locksOfRule: (args: ChildPageArgs) => {
      const limit = pageSize(args.first);
      const after = args.after ? (decodeCursor(args.after, ["text", "text", "uuid"]) as [string, string, string]) : null;
      return pagedBy<string, LockRow>(["locks", limit, args.after ?? null], (ids) => locksOfRules(db, ids, limit, after), (l) => l.ruleId, identity);
    },
    transfersToRse: (args: ChildPageArgs & { state?: RequestState | null }) => {
      const limit = pageSize(args.first);
      const after = args.after ? (decodeCursor(args.after, ["time", "uuid"]) as [string, string]) : null;
      return pagedBy<string, TransferRow>(
        ["transfers", limit, args.after ?? null, args.state ?? null],
        (ids) => transfersToRses(db, ids, args.state ?? null, limit, after),
        (t) => t.destRseId,
        identity,
      );
    },
    transferCountToRse: (state: RequestState | null) =>
      pagedBy<string, { rseId: string; n: number }>(["transferCount", state], (ids) => countTransfersToRses(db, ids, state), (c) => c.rseId, identity),
    rseUsage: byKey<string, RseUsageRow>((ids) => rseUsages(db, ids), (u) => u.rseId, identity),
    subscriptionProgress: groupBy<string, SubscriptionProgressRow>((ids) => subscriptionProgress(db, ids), (p) => p.subscriptionId, identity),
    /** Per destination facility, by its code in lower case (codes match regardless of case). */
    facilityTransferCounts: (hours: number) =>
      pagedBy<string, FacilityTransferCounts>(["facilityTransferCounts", hours], (codes) => transferCountsOfFacilities(db, codes, hours), (c) => c.facility.toLowerCase(), (c) => c.toLowerCase()),
    filesOfDid: (args: ChildPageArgs) => paged<FileRow>("files", args, (keys) => filesOf(db, keys, args), (r) => `${r.rootScope}:${r.rootName}`),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
