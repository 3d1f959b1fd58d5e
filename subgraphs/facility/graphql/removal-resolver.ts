import { Arg, Ctx, Field, Int, Mutation, ObjectType, Resolver } from "type-graphql";
import { removeCollections, removeDatasets, removeRuns } from "../removal";
import type { FacilityContext } from "./context";
import { FACILITY_ARGUMENT, requireWriter } from "./registry-resolver";

@ObjectType({ description: "What a removal removed, or on a dry run would remove." })
export class RemovalResult {
  @Field(() => Int, { description: "Datasets (with their file records, tags and certifications)." })
  datasets: number;

  @Field(() => Int, { description: "RUN collections." })
  runs: number;

  @Field(() => Int, { description: "TAGGED, CHAINED and CALIBRATION collections." })
  collections: number;

  @Field(() => Int, { description: "File records of the removed datasets." })
  fileRecords: number;

  @Field(() => Int, { description: "Tags and certifications." })
  associations: number;

  @Field(() => Int, { description: "Chain links: removed collections dropped from chains, and the children links of removed chains." })
  chainLinks: number;

  @Field(() => [String], { description: "The collections removed, by name." })
  collectionNames: string[];

  @Field({ description: "True when nothing was written." })
  dryRun: boolean;
}

const DRY_RUN = "Count what would be removed and write nothing.";
const FORCE = "Drop the collections from the CHAINED collections that hold them (otherwise COLLECTION_IN_CHAIN).";
const NAMES = "Collection names or globs (`u/alice/DM-1/*`); a name that does not exist counts 0.";

/** Registry removals (scope agent:<FACILITY> or butler:admin); each one transaction, idempotent. Nullable, as every facility root field. */
@Resolver()
export class RemovalResolver {
  @Mutation(() => RemovalResult, {
    nullable: true,
    description:
      "Removes datasets by ID with their file records, tags and certifications, as `butler prune-datasets --purge`; IDs already gone count 0 (scope agent:<FACILITY> or butler:admin).",
  })
  removeDatasets(
    @Arg("ids", () => [String]) ids: string[],
    @Arg("dryRun", () => Boolean, { nullable: true, description: DRY_RUN }) dryRun: boolean | null,
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    requireWriter(ctx, facility);
    return removeDatasets(ctx.db, ids, { dryRun });
  }

  @Mutation(() => RemovalResult, {
    nullable: true,
    description: "Removes RUN collections with all their datasets, as `butler remove-runs` (scope agent:<FACILITY> or butler:admin).",
  })
  removeRuns(
    @Arg("names", () => [String], { description: NAMES }) names: string[],
    @Arg("force", () => Boolean, { nullable: true, description: FORCE }) force: boolean | null,
    @Arg("dryRun", () => Boolean, { nullable: true, description: DRY_RUN }) dryRun: boolean | null,
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    requireWriter(ctx, facility);
    return removeRuns(ctx.db, names, { force, dryRun });
  }

  @Mutation(() => RemovalResult, {
    nullable: true,
    description:
      "Removes TAGGED, CHAINED and CALIBRATION collections with their tags, certifications or chain links (the datasets stay in their runs), as `butler remove-collections` (scope agent:<FACILITY> or butler:admin).",
  })
  removeCollections(
    @Arg("names", () => [String], { description: NAMES }) names: string[],
    @Arg("force", () => Boolean, { nullable: true, description: FORCE }) force: boolean | null,
    @Arg("dryRun", () => Boolean, { nullable: true, description: DRY_RUN }) dryRun: boolean | null,
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    requireWriter(ctx, facility);
    return removeCollections(ctx.db, names, { force, dryRun });
  }
}
