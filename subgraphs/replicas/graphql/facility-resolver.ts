import { Arg, Ctx, Directive, FieldResolver, Query, Resolver, Root } from "type-graphql";
import { assumedListSize } from "../../../lib/list-size";
import { listFacilities } from "../facility";
import type { RseRow } from "../rse";
import type { ReplicasContext } from "./context";
import { Facility, Rse } from "./types";

@Resolver(() => Facility)
export class FacilityResolver {
  @Directive(assumedListSize(10))
  @Query(() => [Facility], { description: "All facilities, by code." })
  facilities(@Ctx() ctx: ReplicasContext) {
    return listFacilities(ctx.db);
  }

  @Query(() => Facility, { nullable: true, description: "A facility by code (null when unknown)." })
  facility(@Arg("code") code: string, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.facility.load(code);
  }

  @Directive(assumedListSize(10))
  @FieldResolver(() => [Rse], { description: "The facility's RSEs (deleted ones excluded)." })
  rses(@Root() facility: Facility, @Ctx() ctx: ReplicasContext): Promise<RseRow[]> {
    return ctx.loaders.rsesOfFacility.load(facility.code);
  }
}
