import type { GraphQLSchema } from "graphql";
import { buildFederatedSchema } from "../../lib/federation";
import type { FacilityContext } from "./graphql/context";
import { AgentResolver } from "./graphql/agent-resolver";
import { ArrivalResolver } from "./graphql/arrival-resolver";
import { ArrivalSummaryResolver } from "./graphql/arrival-summary-resolver";
import { CampaignRemovalResolver } from "./graphql/campaign-removal-resolver";
import { DatasetResolver } from "./graphql/dataset-resolver";
import { FacilityResolver } from "./graphql/facility-resolver";
import { ReadUrlResolver } from "./graphql/read-url-resolver";
import { RegistryResolver } from "./graphql/registry-resolver";
import { RemovalResolver } from "./graphql/removal-resolver";
import { ReplicaResolver, sameFacility } from "./graphql/replica-resolver";
import { TransferResolver } from "./graphql/transfer-resolver";
import { Replica } from "./graphql/types";

/**
 * The facility subgraph's schema (Apollo Federation 2). Every facility serves this same schema over
 * its own data; every entity carries the facility code in its key, so the gateway's router can send
 * each representation to its facility. A representation of another facility resolves to null.
 */
export function buildFacilitySchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema(
    {
      resolvers: [
        FacilityResolver,
        DatasetResolver,
        ReplicaResolver,
        ArrivalResolver,
        RegistryResolver,
        RemovalResolver,
        TransferResolver,
        AgentResolver,
        ReadUrlResolver,
        CampaignRemovalResolver,
        ArrivalSummaryResolver,
      ],
      orphanedTypes: [Replica],
    },
    {
      Facility: {
        __resolveReference: (ref: { code: string }, ctx: FacilityContext) => (sameFacility(ref.code, ctx.facility) ? { code: ref.code } : null),
      },
      ButlerDataset: {
        __resolveReference: async (ref: { facility: string; id: string }, ctx: FacilityContext) => {
          if (!sameFacility(ref.facility, ctx.facility)) return null;
          const row = await ctx.loaders.dataset.load(ref.id);
          return row ? { ...row, facility: ref.facility } : null;
        },
      },
      Replica: {
        __resolveReference: (ref: { scope: string; name: string; facilityCode: string }) => ref,
      },
    },
  );
}
