import { GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Did, RuleGrouping } from "./types";

/** The GraphQL types of subscriptions (policies): kept apart from types.ts, one concept per file. */

export enum SplitBy {
  DATASET = "DATASET",
  FILE = "FILE",
}
registerEnumType(SplitBy, { name: "SplitBy", description: "DATASET: one rule per dataset of a matched container; FILE: one rule per file below a matched DID." });

export enum SubscriptionState {
  ACTIVE = "ACTIVE",
  INACTIVE = "INACTIVE",
  REEVALUATING = "REEVALUATING",
  FAILING = "FAILING",
}
registerEnumType(SubscriptionState, {
  name: "SubscriptionState",
  description: "INACTIVE: switched off; REEVALUATING: a re-evaluation job is open; FAILING: its last batch failed (lastError); else ACTIVE.",
});

export enum SubscriptionJobState {
  QUEUED = "QUEUED",
  RUNNING = "RUNNING",
  DONE = "DONE",
  FAILED = "FAILED",
}
registerEnumType(SubscriptionJobState, { name: "SubscriptionJobState" });

@ObjectType({ description: "A rule a subscription makes for each DID it matches (Rucio's replication_rules entry)." })
export class SubscriptionRuleTemplate {
  @Field()
  rseExpression: string;

  @Field(() => Int)
  copies: number;

  @Field(() => Int, { nullable: true, description: "Seconds until each rule expires; none = forever." })
  lifetime: number | null;

  @Field(() => String, { nullable: true })
  sourceReplicaExpression: string | null;

  @Field()
  activity: string;

  @Field(() => Int)
  priority: number;

  @Field(() => RuleGrouping)
  grouping: RuleGrouping;

  @Field()
  locked: boolean;

  @Field()
  purgeReplicas: boolean;

  @Field(() => String, { nullable: true })
  comment: string | null;

  @Field(() => SplitBy, { nullable: true, description: "None: one rule on the matched DID itself." })
  splitBy: SplitBy | null;
}

@InputType()
export class SubscriptionRuleInput {
  @Field()
  rseExpression: string;

  @Field(() => Int, { nullable: true, description: "Default 1." })
  copies?: number | null;

  @Field(() => Int, { nullable: true, description: "Seconds until each rule expires; none = forever." })
  lifetime?: number | null;

  @Field(() => String, { nullable: true, description: "Copy only from AVAILABLE replicas on these RSEs." })
  sourceReplicaExpression?: string | null;

  @Field(() => String, { nullable: true })
  activity?: string | null;

  @Field(() => Int, { nullable: true, description: "1 (lowest) to 5 (highest), default 3." })
  priority?: number | null;

  @Field(() => RuleGrouping, { nullable: true, description: "Default DATASET." })
  grouping?: RuleGrouping | null;

  @Field(() => Boolean, { nullable: true })
  locked?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  purgeReplicas?: boolean | null;

  @Field(() => String, { nullable: true })
  comment?: string | null;

  @Field(() => SplitBy, { nullable: true })
  splitBy?: SplitBy | null;
}

@ObjectType({
  description:
    "A subscription (policy): every DID its filter takes gets one rule per template, once. (Named DidSubscription: GraphQL reserves `Subscription` for the subscription root type.)",
})
export class DidSubscription {
  @Field()
  name: string;

  @Field({ description: "The token subject that owns it; its rules are made in this account." })
  account: string;

  @Field(() => GraphQLJSONObject, { description: "{scopes, namePattern, excludedPattern, didTypes, account, minBytes, maxBytes, metadata, sky}." })
  filter: Record<string, unknown>;

  @Field(() => [SubscriptionRuleTemplate])
  rules: SubscriptionRuleTemplate[];

  @Field(() => String, { nullable: true })
  comment: string | null;

  @Field()
  active: boolean;

  @Field(() => SubscriptionState)
  state: SubscriptionState;

  @Field(() => Date, { nullable: true, description: "When the matcher last applied it to new or changed DIDs." })
  lastProcessed: Date | null;

  @Field(() => Float, { description: "DIDs that got rules from it." })
  matchedDids: number;

  @Field(() => Float)
  rulesCreated: number;

  @Field(() => String, { nullable: true, description: "Why its last batch made no rules (e.g. INSUFFICIENT_TARGET_RSES); cleared by the next success." })
  lastError: string | null;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

@ObjectType({ description: "A re-evaluation of a subscription over the DIDs already registered, worked off in batches." })
export class SubscriptionJob {
  @Field()
  id: string;

  @Field(() => DidSubscription, { nullable: true })
  subscription?: DidSubscription | null;

  @Field(() => SubscriptionJobState)
  state: SubscriptionJobState;

  @Field(() => Float, { nullable: true, description: "DIDs the filter's SQL part selects (with a footprint: the candidates in its band)." })
  total: number | null;

  @Field(() => Float)
  processed: number;

  @Field(() => Float, { description: "processed / total, 0 to 1 (1 when done)." })
  progress: number;

  @Field(() => Float)
  matched: number;

  @Field(() => Float)
  rulesCreated: number;

  @Field(() => String, { nullable: true })
  error: string | null;

  @Field()
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  finishedAt: Date | null;
}

@ObjectType({ description: "A rule a dry run would create: a DID and a template (by position)." })
export class DryRunRule {
  @Field(() => Did)
  did: Did;

  @Field(() => Int)
  template: number;

  @Field()
  rseExpression: string;

  @Field(() => String, { nullable: true })
  sourceReplicaExpression: string | null;

  @Field(() => Int)
  copies: number;
}

@ObjectType()
export class SubscriptionDryRun {
  @Field(() => Float, { description: "How many DIDs the filter takes now." })
  matchedCount: number;

  @Field(() => [Did], { description: "The first of them, by scope and name." })
  dids: Did[];

  @Field(() => [DryRunRule])
  rules: DryRunRule[];
}

@InputType()
export class AddSubscriptionInput {
  @Field()
  name: string;

  @Field(() => GraphQLJSONObject)
  filter: Record<string, unknown>;

  @Field(() => [SubscriptionRuleInput])
  rules: SubscriptionRuleInput[];

  @Field(() => String, { nullable: true })
  comment?: string | null;

  @Field(() => Boolean, { nullable: true, description: "Default true." })
  active?: boolean | null;
}

@InputType()
export class UpdateSubscriptionInput {
  @Field(() => GraphQLJSONObject, { nullable: true })
  filter?: Record<string, unknown> | null;

  @Field(() => [SubscriptionRuleInput], { nullable: true })
  rules?: SubscriptionRuleInput[] | null;

  @Field(() => String, { nullable: true })
  comment?: string | null;

  @Field(() => Boolean, { nullable: true })
  active?: boolean | null;
}
