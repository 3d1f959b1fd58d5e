import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { assumedListSize, LIMIT_LIST_SIZE, PAGE_LIST_SIZE } from "../../../lib/list-size";
import { agentFacilities, requireAgent, requireAnyAgent, requireScope } from "../../../lib/auth";
import { toConnection } from "../../../lib/connection";
import { claimDeletions, deletionFacility, DeletionRow, reportDeletion } from "../deletion";
import { canonicalFacility } from "../facility";
import { claimTransfers, heartbeat, heldTransfers, listTransfers, MAX_REPORTS_PER_CALL, reportTransfer, reportTransfers, transferFacility, TransferRow } from "../transfer";
import type { ReplicasContext } from "./context";
import { DeletionOutcomeInput, TransferFilterInput, TransferOutcomeInput, TransferReportInput } from "./inputs";
import { Deletion, Did, Rse, Rule, TransferReportResult, TransferRequest, TransferRequestConnection } from "./types";

@Resolver(() => TransferRequest)
export class TransferResolver {
  @Query(() => TransferRequest, { nullable: true, description: "A transfer request by id (null when unknown)." })
  transfer(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.transfer.load(id);
  }

  @Directive(PAGE_LIST_SIZE)
  @Query(() => TransferRequestConnection, { description: "Transfer requests by state, RSEs, facility, DID and rule; newest first." })
  async transfers(
    @Arg("filter", () => TransferFilterInput, { nullable: true }) filter: TransferFilterInput | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    return toConnection(await listTransfers(ctx.db, { ...(filter ?? {}), first, after }));
  }

  @Query(() => [TransferRequest], {
    nullable: "items",
    description:
      "The requests among `ids` the calling agent holds now (claimed by it, lease unexpired), in the order asked; null for any other id. A source facility asks this, with the agent's token, before it signs a read URL (scope agent:<FACILITY>).",
  })
  transfersHeld(@Arg("ids", () => [String]) ids: string[], @Ctx() ctx: ReplicasContext) {
    const who = requireAnyAgent(ctx.caller);
    return heldTransfers(ctx.db, ids, who.subject, agentFacilities(who));
  }

  @FieldResolver(() => Did)
  file(@Root() t: TransferRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.did.load({ scope: t.scope, name: t.name });
  }

  @FieldResolver(() => Rse, { nullable: true, description: "Chosen when an agent claims the request." })
  source(@Root() t: TransferRow, @Ctx() ctx: ReplicasContext) {
    return t.sourceRseId ? ctx.loaders.rseById.load(t.sourceRseId) : null;
  }

  @FieldResolver(() => Rse)
  destination(@Root() t: TransferRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.rseById.load(t.destRseId);
  }

  @FieldResolver(() => Rule, { nullable: true, description: "The rule that first asked for this copy (null once deleted); `rules` lists every rule it serves." })
  rule(@Root() t: TransferRow, @Ctx() ctx: ReplicasContext) {
    return t.ruleId ? ctx.loaders.rule.load(t.ruleId) : null;
  }

  @Directive(assumedListSize(4))
  @FieldResolver(() => [Rule], { description: "Every rule this copy serves: the rules holding a lock on the destination replica, oldest first." })
  rules(@Root() t: TransferRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.rulesOfReplica.load({ scope: t.scope, name: t.name, rseId: t.destRseId });
  }

  @FieldResolver(() => String, { nullable: true })
  lease(@Root() t: TransferRow): string | null {
    return t.lease ?? null;
  }

  @Directive(LIMIT_LIST_SIZE)
  @Mutation(() => [TransferRequest], {
    description: "Hands up to `limit` due requests for the facility's RSEs to the calling agent, each with a lease (scope agent:<FACILITY>).",
  })
  async claimTransfers(@Arg("facility") facility: string, @Arg("limit", () => Int) limit: number, @Ctx() ctx: ReplicasContext) {
    requireAnyAgent(ctx.caller);
    const code = await canonicalFacility(ctx.db, facility);
    const who = requireAgent(ctx.caller, code);
    return claimTransfers(ctx.db, code, limit, who.subject, ctx.settings);
  }

  @Mutation(() => [String], { description: "Extends the given transfer and deletion leases; returns those still held (scope agent:<FACILITY>)." })
  heartbeat(@Arg("leases", () => [String]) leases: string[], @Ctx() ctx: ReplicasContext) {
    const who = requireAnyAgent(ctx.caller);
    return heartbeat(ctx.db, leases, agentFacilities(who), who.subject, ctx.settings);
  }

  @Mutation(() => TransferRequest, {
    description:
      "Reports a claimed request: DONE makes the replica AVAILABLE when size and checksums match (else CHECKSUM_MISMATCH counts as a failure); FAILED retries with backoff, then STUCK (scope agent:<FACILITY>).",
  })
  async reportTransfer(
    @Arg("id") id: string,
    @Arg("lease") lease: string,
    @Arg("outcome", () => TransferOutcomeInput) outcome: TransferOutcomeInput,
    @Ctx() ctx: ReplicasContext,
  ) {
    const agent = requireAnyAgent(ctx.caller);
    const who = requireAgent(ctx.caller, await transferFacility(ctx.db, id, agentFacilities(agent)));
    return reportTransfer(ctx.db, id, lease, who.subject, outcome, ctx.settings);
  }

  @Directive(assumedListSize(MAX_REPORTS_PER_CALL))
  @Mutation(() => [TransferReportResult], {
    description:
      `Reports many claimed requests at once (up to ${MAX_REPORTS_PER_CALL}), in one transaction, each under the rules of reportTransfer: a malformed item (outcome, errorCode) or a request given twice refuses the whole call (INVALID_INPUT naming the item); otherwise each item is taken or refused on its own, in the order given, with error TRANSFER_NOT_FOUND (not a request at the agent's facilities) or LEASE_LOST (scope agent:<FACILITY>).`,
  })
  async reportTransfers(@Arg("reports", () => [TransferReportInput]) reports: TransferReportInput[], @Ctx() ctx: ReplicasContext) {
    const who = requireAnyAgent(ctx.caller);
    return reportTransfers(ctx.db, reports, who.subject, agentFacilities(who), ctx.settings);
  }

  @Directive(LIMIT_LIST_SIZE)
  @Mutation(() => [Deletion], { description: "Hands up to `limit` due, unlocked replicas at the facility to the agent for deletion (scope agent:<FACILITY>)." })
  async claimDeletions(@Arg("facility") facility: string, @Arg("limit", () => Int) limit: number, @Ctx() ctx: ReplicasContext) {
    requireAnyAgent(ctx.caller);
    const code = await canonicalFacility(ctx.db, facility);
    const who = requireAgent(ctx.caller, code);
    return claimDeletions(ctx.db, code, limit, who.subject, ctx.settings);
  }

  @Mutation(() => Boolean, { description: "Reports a deletion; success removes the replica (scope agent:<FACILITY>)." })
  async reportDeletion(
    @Arg("id") id: string,
    @Arg("lease") lease: string,
    @Arg("outcome", () => DeletionOutcomeInput) outcome: DeletionOutcomeInput,
    @Ctx() ctx: ReplicasContext,
  ) {
    const agent = requireAnyAgent(ctx.caller);
    const who = requireAgent(ctx.caller, await deletionFacility(ctx.db, id, agentFacilities(agent)));
    return reportDeletion(ctx.db, id, lease, who.subject, outcome, ctx.settings);
  }
}

@Resolver(() => Deletion)
export class DeletionResolver {
  @FieldResolver(() => Did)
  file(@Root() d: DeletionRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.did.load({ scope: d.scope, name: d.name });
  }

  @FieldResolver(() => Rse)
  rse(@Root() d: DeletionRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.rseById.load(d.rseId);
  }
}
