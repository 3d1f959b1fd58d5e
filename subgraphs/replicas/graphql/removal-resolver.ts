import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { requireAgent, requireAnyAgent, requireScope } from "../../../lib/auth";
import { toConnection } from "../../../lib/connection";
import { DbbError, ErrorCode } from "../../../lib/errors";
import { assumedListSize, PAGE_LIST_SIZE } from "../../../lib/list-size";
import { canonicalFacility } from "../facility";
import {
  cancelRemoval,
  getRemoval,
  listRemovalFiles,
  listRemovals,
  markObsolete,
  RemovalFileState as FileState,
  RemovalView,
  removalWork,
  reportRemovalProgress,
} from "../removal";
import type { ReplicasContext } from "./context";
import {
  MarkObsoleteInput,
  Removal,
  RemovalConnection,
  RemovalFacility,
  RemovalFileConnection,
  RemovalFileState,
  RemovalProgressInput,
  RemovalState,
  RemovalWork,
} from "./removal-types";
import { Did } from "./types";

function settingsOf(ctx: ReplicasContext) {
  if (!ctx.settings.removals) throw new DbbError(ErrorCode.OPERATION_NOT_SUPPORTED, "this catalog process was started without a gateway to ask the facilities (removals.gateway)");
  return ctx.settings.removals;
}

/** Campaign removals: retire obsolete runs, collections and DIDs at every facility (scope catalog:remove). */
@Resolver(() => Removal)
export class RemovalResolver {
  @Mutation(() => Removal, {
    description:
      "Marks Butler runs and collections (each facility says which files they hold) and catalog DIDs obsolete, at some or every facility, and starts their removal: the rules that keep them go (a locked rule is reported and untouched), their copies are tombstoned as OBSOLETE and deleted by the facilities' agents, which also remove the Butler datasets and the runs left empty. A copy something still wants is kept, with the reason. With dryRun, returns the same shape and writes nothing (scope catalog:remove).",
  })
  async markObsolete(@Arg("input", () => MarkObsoleteInput) input: MarkObsoleteInput, @Ctx() ctx: ReplicasContext) {
    const who = requireScope(ctx.caller, "catalog:remove");
    const removals = settingsOf(ctx);
    return markObsolete(ctx.db, who.subject, input, removals.lookup, { tombstoneDelaySeconds: ctx.settings.tombstoneDelaySeconds, resolveRetrySeconds: removals.resolveRetrySeconds });
  }

  @Mutation(() => Removal, {
    description: "Cancels a removal while files are still pending: copies no agent has taken yet are kept; REMOVAL_FINISHED once it is DONE (scope catalog:remove).",
  })
  cancelRemoval(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    const who = requireScope(ctx.caller, "catalog:remove");
    return cancelRemoval(ctx.db, id, who.subject);
  }

  @Query(() => Removal, { nullable: true, description: "A removal by id; REMOVAL_NOT_FOUND when there is none." })
  removal(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    return getRemoval(ctx.db, id);
  }

  @Directive(PAGE_LIST_SIZE)
  @Query(() => RemovalConnection, { description: "Removals, newest first, by state and by who asked." })
  async removals(
    @Arg("state", () => RemovalState, { nullable: true }) state: RemovalState | null,
    @Arg("requestedBy", () => String, { nullable: true }) requestedBy: string | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    return toConnection(await listRemovals(ctx.db, { state, requestedBy, first, after }));
  }

  @Directive(assumedListSize(10))
  @FieldResolver(() => [RemovalFacility], { description: "Per facility: copies planned, deleted and kept, Butler datasets removed, bytes freed, errors." })
  async perFacility(@Root() r: RemovalView, @Ctx() ctx: ReplicasContext) {
    if (r.perFacility) return r.perFacility;
    return ctx.loaders.removalFacilities.load(r.id!);
  }

  @Directive(assumedListSize(10))
  @FieldResolver(() => [Did], { description: "The DIDs named (files, datasets, containers)." })
  async dids(@Root() r: RemovalView, @Ctx() ctx: ReplicasContext) {
    return (await Promise.all(r.dids.map((d) => ctx.loaders.did.load(d)))).filter(Boolean);
  }

  @Directive(PAGE_LIST_SIZE)
  @FieldResolver(() => RemovalFileConnection, {
    description: "Its copies, per replica: planned, deleted, kept with the reason (a dry run lists them too), by facility and state.",
  })
  async files(
    @Root() r: RemovalView,
    @Arg("facility", () => String, { nullable: true }) facility: string | null,
    @Arg("state", () => RemovalFileState, { nullable: true }) state: RemovalFileState | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    if (r.dryRunFiles) {
      const rows = r.dryRunFiles.filter((f) => (!facility || f.facility.toLowerCase() === facility.toLowerCase()) && (!state || f.state === (state as FileState)));
      const n = Math.min(first ?? 100, 10000);
      return toConnection({ nodes: rows.slice(0, n), cursors: rows.slice(0, n).map(() => ""), hasNextPage: rows.length > n, totalCount: async () => rows.length });
    }
    return toConnection(await listRemovalFiles(ctx.db, r.id!, { facility, state: state as FileState | null, first, after }));
  }
}

/** What the facilities' agents ask and report about removals. */
@Resolver()
export class RemovalWorkResolver {
  @Directive(assumedListSize(100))
  @Query(() => [RemovalWork], { description: "Removals whose part at the facility waits for its agent to finish the Butler side (state FINISHING), oldest first." })
  async removalWork(@Arg("facility") facility: string, @Ctx() ctx: ReplicasContext) {
    return removalWork(ctx.db, await canonicalFacility(ctx.db, facility));
  }

  @Mutation(() => Removal, {
    description:
      "A facility's agent reports what its Butler registry removed for a removal so far (totals); with finished, the facility's part is DONE (REMOVAL_NOT_READY while copies are still to be deleted there), and the removal is DONE when every part is (scope agent:<FACILITY>).",
  })
  async reportRemovalProgress(
    @Arg("removal") removal: string,
    @Arg("facility") facility: string,
    @Arg("progress", () => RemovalProgressInput) progress: RemovalProgressInput,
    @Ctx() ctx: ReplicasContext,
  ) {
    requireAnyAgent(ctx.caller);
    const code = await canonicalFacility(ctx.db, facility);
    requireAgent(ctx.caller, code);
    return reportRemovalProgress(ctx.db, removal, code, progress);
  }
}
