import { Ctx, Directive, Field, FieldResolver, Float, Int, ObjectType, Resolver, Root } from "type-graphql";
import { assumedListSize } from "../../../lib/list-size";
import type { SubscriptionRow } from "../subscription";
import type { ReplicasContext } from "./context";
import { DidSubscription } from "./subscription-types";

@ObjectType({ description: "How far a subscription's rules of one template (one target) are: the rules it made for the DIDs it matched, by state, and their file copies." })
export class SubscriptionTargetProgress {
  @Field(() => Int, { description: "The template's position in the subscription's rules." })
  template: number;

  @Field()
  rseExpression: string;

  @Field(() => Float, { description: "Rules made (one per matched DID, or per dataset or file with splitBy) that still exist." })
  rules: number;

  @Field(() => Float, { description: "Rules OK: complete at the target." })
  ok: number;

  @Field(() => Float)
  replicating: number;

  @Field(() => Float)
  stuck: number;

  @Field(() => Float)
  suspended: number;

  @Field(() => Float, { description: "File copies (locks) OK." })
  locksOk: number;

  @Field(() => Float, { description: "File copies (locks) the rules ask for." })
  locks: number;
}

@Resolver(() => DidSubscription)
export class SubscriptionProgressResolver {
  @Directive(assumedListSize(4))
  @FieldResolver(() => [SubscriptionTargetProgress], { description: "Per rule template, in order: the rules it made and how many are complete." })
  async progress(@Root() sub: SubscriptionRow, @Ctx() ctx: ReplicasContext): Promise<SubscriptionTargetProgress[]> {
    const rows = await ctx.loaders.subscriptionProgress.load(sub.id);
    return sub.rules.map((t, template) => {
      const row = rows.find((r) => r.template === template);
      return { template, rseExpression: t.rseExpression, rules: 0, ok: 0, replicating: 0, stuck: 0, suspended: 0, locksOk: 0, locks: 0, ...(row ?? {}) };
    });
  }
}
