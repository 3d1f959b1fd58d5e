import type { GraphQLSchema } from "graphql";
import { buildFederatedSchema } from "../../lib/federation";
import type { ReplicasContext } from "./graphql/context";
import { CatalogWorkerResolver } from "./graphql/catalog-worker-resolver";
import { DidResolver } from "./graphql/did-resolver";
import { FacilityResolver } from "./graphql/facility-resolver";
import { RemovalResolver, RemovalWorkResolver } from "./graphql/removal-resolver";
import { LfaResolver } from "./graphql/lfa-resolver";
import { ReplicaResolver } from "./graphql/replica-resolver";
import { RseResolver } from "./graphql/rse-resolver";
import { EventResolver } from "./graphql/event-resolver";
import { LockResolver, RuleResolver } from "./graphql/rule-resolver";
import { ScopeResolver } from "./graphql/scope-resolver";
import { RuleSubscriptionResolver, SubscriptionJobResolver, SubscriptionResolver } from "./graphql/subscription-resolver";
import { DeletionResolver, TransferResolver } from "./graphql/transfer-resolver";
import { RseUsageResolver } from "./graphql/rse-usage-resolver";
import { RuleBacklogResolver } from "./graphql/rule-backlog-resolver";
import { SkyMapResolver } from "./graphql/sky-map-resolver";
import { SubscriptionProgressResolver } from "./graphql/subscription-progress-resolver";
import { TransferStatsResolver } from "./graphql/transfer-stats-resolver";

/** The central replica catalog's subgraph schema (Apollo Federation 2). */
export function buildReplicasSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    {
      resolvers: [
        FacilityResolver,
        RseResolver,
        ScopeResolver,
        DidResolver,
        ReplicaResolver,
        LfaResolver,
        RuleResolver,
        LockResolver,
        TransferResolver,
        DeletionResolver,
        EventResolver,
        CatalogWorkerResolver,
        SubscriptionResolver,
        SubscriptionJobResolver,
        RuleSubscriptionResolver,
        RemovalResolver,
        RemovalWorkResolver,
        TransferStatsResolver,
        RseUsageResolver,
        SubscriptionProgressResolver,
        RuleBacklogResolver,
        SkyMapResolver,
      ],
    },
    {
      Facility: { __resolveReference: (ref: { code: string }, ctx: ReplicasContext) => ctx.loaders.facility.load(ref.code) },
      Rse: { __resolveReference: (ref: { name: string }, ctx: ReplicasContext) => ctx.loaders.rseByName.load(ref.name) },
      Did: {
        __resolveReference: (ref: { scope: string; name: string }, ctx: ReplicasContext) =>
          ctx.loaders.did.load({ scope: ref.scope, name: ref.name }),
      },
      Lock: {
        __resolveReference: (ref: { ruleId: string; scope: string; name: string; rse: { name: string } }, ctx: ReplicasContext) =>
          ctx.loaders.lock.load({ ruleId: ref.ruleId, scope: ref.scope, name: ref.name, rse: ref.rse.name }),
      },
      Rule: { __resolveReference: (ref: { id: string }, ctx: ReplicasContext) => ctx.loaders.rule.load(ref.id) },
      TransferRequest: { __resolveReference: (ref: { id: string }, ctx: ReplicasContext) => ctx.loaders.transfer.load(ref.id) },
      Replica: {
        __resolveReference: (ref: { scope: string; name: string; rse: { name: string } }, ctx: ReplicasContext) =>
          ctx.loaders.replica.load({ scope: ref.scope, name: ref.name, rse: ref.rse.name }),
      },
    },
  );
}
