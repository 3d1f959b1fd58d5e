import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import type { FacilityContext } from "./context";
import { asEntity } from "./facility-resolver";
import { ButlerDataset, Replica } from "./types";

export function sameFacility(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

@Resolver(() => Replica)
export class ReplicaResolver {
  @FieldResolver(() => ButlerDataset, {
    nullable: true,
    description: "The dataset the replica's file became in this facility's Butler (found through the file record's DID); null when not ingested.",
  })
  async butlerDataset(@Root() replica: Replica, @Ctx() ctx: FacilityContext) {
    if (!sameFacility(replica.facilityCode, ctx.facility)) return null;
    const row = await ctx.loaders.datasetOfDid.load({ scope: replica.scope, name: replica.name });
    return row ? asEntity(ctx, row) : null;
  }
}
