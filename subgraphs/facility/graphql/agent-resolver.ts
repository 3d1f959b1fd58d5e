import { Arg, Ctx, Directive, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import { requireAgent } from "../../../lib/auth";
import { assumedListSize } from "../../../lib/list-size";
import { listAgents, reportAgentStatus } from "../agent-status";
import type { FacilityContext } from "./context";
import { AgentStatusInput } from "./inputs";
import { checkFacilityArgument, FACILITY_ARGUMENT } from "./registry-resolver";
import { Agent, Facility } from "./types";

@Resolver(() => Facility)
export class AgentResolver {
  @Directive(assumedListSize(8))
  @FieldResolver(() => [Agent], { nullable: true, description: "The facility's transfer agents that reported in the last day, newest first." })
  agents(@Root() _facility: Facility, @Ctx() ctx: FacilityContext) {
    return listAgents(ctx.db);
  }

  @Mutation(() => Agent, { nullable: true, description: "An agent reports its state (scope agent:<FACILITY> of this facility)." })
  reportAgentStatus(
    @Arg("status", () => AgentStatusInput) status: AgentStatusInput,
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    checkFacilityArgument(ctx, facility);
    const who = requireAgent(ctx.caller, ctx.facility);
    return reportAgentStatus(ctx.db, who.subject, status);
  }
}
