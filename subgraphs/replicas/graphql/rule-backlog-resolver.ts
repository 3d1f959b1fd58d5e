import { Arg, Ctx, Directive, Int, Query, Resolver } from "type-graphql";
import { PAGE_LIST_SIZE } from "../../../lib/list-size";
import { toConnection } from "../../../lib/connection";
import { listRuleBacklog } from "../rule-backlog";
import type { ReplicasContext } from "./context";
import { Rule, RuleConnection, RuleState } from "./types";

@Resolver(() => Rule)
export class RuleBacklogResolver {
  @Directive(PAGE_LIST_SIZE)
  @Query(() => RuleConnection, { description: "Rules still waiting in a state (REPLICATING, STUCK or SUSPENDED), oldest first: what has waited longest." })
  async ruleBacklog(
    @Arg("state", () => RuleState) state: RuleState,
    @Arg("subscription", () => String, { nullable: true, description: "Only the rules this subscription (by name) created." }) subscription: string | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    return toConnection(await listRuleBacklog(ctx.db, { state, subscription, first, after }));
  }
}
