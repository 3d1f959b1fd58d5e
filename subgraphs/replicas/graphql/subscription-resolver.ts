import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { assumedListSize } from "../../../lib/list-size";
import { hasScope, requireScope } from "../../../lib/auth";
import { DbbError, ErrorCode } from "../../../lib/errors";
import type { RuleRow } from "../rule";
import {
  addSubscription,
  deleteSubscription,
  dryRunSubscription,
  getSubscription,
  getSubscriptionJob,
  listSubscriptions,
  reevaluateSubscription,
  SubscriptionJobRow,
  SubscriptionRow,
  updateSubscription,
} from "../subscription";
import type { ReplicasContext } from "./context";
import { AddSubscriptionInput, DidSubscription, SubscriptionDryRun, SubscriptionJob, SubscriptionRuleInput, UpdateSubscriptionInput } from "./subscription-types";
import { Rule } from "./types";

/** Subscriptions may be changed by their owner or by catalog:admin. */
async function requireOwner(ctx: ReplicasContext, name: string): Promise<string> {
  const who = requireScope(ctx.caller, "catalog:write");
  if (hasScope(who, "catalog:admin")) return who.subject;
  const sub = await getSubscription(ctx.db, name);
  if (sub.account !== who.subject) {
    throw new DbbError(ErrorCode.FORBIDDEN, `subscription '${name}' belongs to '${sub.account}'; only its owner or catalog:admin may change it`, { subscription: name });
  }
  return who.subject;
}

@Resolver(() => DidSubscription)
export class SubscriptionResolver {
  @Query(() => DidSubscription, { nullable: true, description: "A subscription by name; SUBSCRIPTION_NOT_FOUND when there is none." })
  subscription(@Arg("name") name: string, @Ctx() ctx: ReplicasContext) {
    return getSubscription(ctx.db, name);
  }

  @Directive(assumedListSize(100))
  @Query(() => [DidSubscription], { description: "Every subscription (or one account's), by name." })
  subscriptions(@Arg("account", () => String, { nullable: true }) account: string | null, @Ctx() ctx: ReplicasContext) {
    return listSubscriptions(ctx.db, { account });
  }

  @Query(() => SubscriptionJob, { nullable: true, description: "A re-evaluation job by id, with its progress." })
  subscriptionJob(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    return getSubscriptionJob(ctx.db, id);
  }

  @Directive(`@listSize(assumedSize: 100, slicingArguments: ["first"], sizedFields: ["dids", "rules"], requireOneSlicingArgument: false)`)
  @Query(() => SubscriptionDryRun, { description: "What a filter matches now and the rules the templates would create, without writing anything." })
  async dryRun(
    @Arg("filter", () => GraphQLJSONObject) filter: Record<string, unknown>,
    @Arg("rules", () => [SubscriptionRuleInput], { nullable: true }) rules: SubscriptionRuleInput[] | null,
    @Arg("first", () => Int, { nullable: true, description: "DIDs listed, default 100, at most 1000." }) first: number | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    const r = await dryRunSubscription(ctx.db, filter, rules?.map((t) => ({ ...t })), first ?? 100);
    return { matchedCount: r.matchedCount, dids: r.dids, rules: r.rules.map((x) => ({ ...x, did: { scope: x.scope, name: x.name } })) };
  }

  @Mutation(() => DidSubscription, { description: "Adds a subscription (scope catalog:write); it matches DIDs registered or changed from now on." })
  addSubscription(@Arg("input") input: AddSubscriptionInput, @Ctx() ctx: ReplicasContext) {
    const who = requireScope(ctx.caller, "catalog:write");
    return addSubscription(ctx.db, who.subject, { ...input, rules: input.rules?.map((t) => ({ ...t })) });
  }

  @Mutation(() => DidSubscription, { description: "Changes a subscription's filter, templates, comment or active flag (owner or catalog:admin)." })
  async updateSubscription(@Arg("name") name: string, @Arg("input") input: UpdateSubscriptionInput, @Ctx() ctx: ReplicasContext) {
    await requireOwner(ctx, name);
    return updateSubscription(ctx.db, name, { ...input, rules: input.rules?.map((t) => ({ ...t })) ?? undefined });
  }

  @Mutation(() => Boolean, { description: "Deletes a subscription; the rules it made stay (owner or catalog:admin)." })
  async deleteSubscription(@Arg("name") name: string, @Ctx() ctx: ReplicasContext) {
    await requireOwner(ctx, name);
    return deleteSubscription(ctx.db, name);
  }

  @Mutation(() => SubscriptionJob, { description: "Applies the subscription to the DIDs already registered, as a background job (owner or catalog:admin)." })
  async reevaluateSubscription(@Arg("name") name: string, @Ctx() ctx: ReplicasContext) {
    const who = await requireOwner(ctx, name);
    return reevaluateSubscription(ctx.db, who, name);
  }
}

@Resolver(() => SubscriptionJob)
export class SubscriptionJobResolver {
  @FieldResolver(() => DidSubscription, { nullable: true })
  subscription(@Root() job: SubscriptionJobRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.subscription.load(job.subscriptionId);
  }

  @FieldResolver(() => Number)
  progress(@Root() job: SubscriptionJobRow) {
    if (job.state === "DONE") return 1;
    if (!job.total) return 0;
    return Math.min(1, job.processed / job.total);
  }
}

@Resolver(() => Rule)
export class RuleSubscriptionResolver {
  @FieldResolver(() => DidSubscription, { nullable: true, description: "The subscription that created the rule, if one did (and still exists)." })
  subscription(@Root() rule: RuleRow, @Ctx() ctx: ReplicasContext): Promise<SubscriptionRow | null> | null {
    return rule.subscriptionId ? ctx.loaders.subscription.load(rule.subscriptionId) : null;
  }
}
