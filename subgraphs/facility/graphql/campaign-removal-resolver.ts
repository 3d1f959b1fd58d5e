import { Arg, Ctx, Directive, Int, Mutation, Query, Resolver } from "type-graphql";
import { requireAgent } from "../../../lib/auth";
import { PAGE_LIST_SIZE } from "../../../lib/list-size";
import { finishRemoval, obsoleteFiles } from "../campaign-removal";
import type { FacilityContext } from "./context";
import { DepartureInput } from "./inputs";
import { checkFacilityArgument, FACILITY_ARGUMENT } from "./registry-resolver";
import { ObsoleteFilePage, RemovalTotals } from "./types";

const NAMES = "Collection names or globs; a name this facility does not have selects nothing.";

/** This facility's side of the catalog's campaign removals (nullable, as every facility root field). */
@Resolver()
export class CampaignRemovalResolver {
  @Directive(PAGE_LIST_SIZE.replace(`sizedFields: ["edges", "nodes"]`, `sizedFields: ["nodes"]`))
  @Query(() => ObsoleteFilePage, {
    nullable: true,
    description:
      "The files (catalog DIDs) of the datasets that the runs and collections (CHAINED ones through their children) select in this facility's Butler registry, and the datasets recorded for `files`, by (scope, name, dataset): what the catalog's markObsolete plans with. Up to `first` (10,000) a page.",
  })
  obsoleteFiles(
    @Arg("runs", () => [String], { nullable: true, description: NAMES }) runs: string[] | null,
    @Arg("collections", () => [String], { nullable: true, description: NAMES }) collections: string[] | null,
    @Arg("files", () => [DepartureInput], { nullable: true, description: "Files whose datasets are wanted (up to 10,000)." }) files: DepartureInput[] | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("facility", () => String, { nullable: true, description: "The facility to ask; required through the gateway, which routes on it." }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    checkFacilityArgument(ctx, facility);
    return obsoleteFiles(ctx.db, { runs, collections, files, first, after });
  }

  @Mutation(() => RemovalTotals, {
    nullable: true,
    description:
      "Finishes this facility's part of a catalog removal once its deletions are done: the named runs and collections left empty are removed (from their chains too); returns what this registry removed for the removal in all. Idempotent (scope agent:<FACILITY> of this facility).",
  })
  finishRemoval(
    @Arg("removal") removal: string,
    @Arg("runs", () => [String], { description: NAMES }) runs: string[],
    @Arg("collections", () => [String], { description: NAMES }) collections: string[],
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    checkFacilityArgument(ctx, facility);
    requireAgent(ctx.caller, ctx.facility);
    return finishRemoval(ctx.db, removal, runs, collections);
  }
}
