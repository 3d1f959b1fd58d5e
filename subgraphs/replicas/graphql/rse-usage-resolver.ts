import { Ctx, Field, FieldResolver, Float, ObjectType, Resolver, Root } from "type-graphql";
import type { RseRow } from "../rse";
import type { ReplicasContext } from "./context";
import { Rse } from "./types";

@ObjectType({ description: "What an RSE holds: AVAILABLE replicas, and those being copied there." })
export class RseUsage {
  @Field(() => Float)
  files: number;

  @Field(() => Float)
  bytes: number;

  @Field(() => Float, { description: "Replicas COPYING to the RSE." })
  copyingFiles: number;

  @Field(() => Float)
  copyingBytes: number;
}

@Resolver(() => Rse)
export class RseUsageResolver {
  @FieldResolver(() => RseUsage, { description: "Files and bytes the RSE holds (computed when asked, from its replicas)." })
  async usage(@Root() rse: RseRow, @Ctx() ctx: ReplicasContext): Promise<RseUsage> {
    return (await ctx.loaders.rseUsage.load(rse.id)) ?? { files: 0, bytes: 0, copyingFiles: 0, copyingBytes: 0 };
  }
}
