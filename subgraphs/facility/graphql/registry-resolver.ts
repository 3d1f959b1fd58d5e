import { invalidInput } from "../../../lib/errors";
import { Arg, Ctx, Int, Mutation, Resolver } from "type-graphql";
import { requireAgentOrScope } from "../../../lib/auth";
import { associate, certify, CollectionType as CollectionTypeName, disassociate, listCollections, registerCollections, setCollectionChain } from "../collection";
import { registerDatasetTypes, requiredDimensions } from "../dataset-type";
import { ingestDatasets } from "../ingest";
import type { FacilityContext } from "./context";
import { DatasetTypeInput, IngestDatasetsInput } from "./inputs";
import { ButlerCollection, CollectionType, DatasetType, IngestResult } from "./types";

/** Registry writes need a token with agent:<FACILITY> (this facility's agents) or butler:admin. */
/** The description of the `facility` argument every registry mutation takes. */
export const FACILITY_ARGUMENT =
  "The facility whose registry to change; required through the gateway (which routes on it), optional at a facility's own service, where it must name that facility.";

/**
 * Registry writes need `agent:<FACILITY>` or `butler:admin`. A `facility` argument, when given,
 * must name the facility this service serves (the gateway routes mutations on it).
 */
export function requireWriter(ctx: FacilityContext, facility?: string | null) {
  checkFacilityArgument(ctx, facility);
  return requireAgentOrScope(ctx.caller, ctx.facility, "butler:admin");
}

/** A `facility` argument, when given, must name the facility this service serves (INVALID_INPUT otherwise). */
export function checkFacilityArgument(ctx: FacilityContext, facility?: string | null): void {
  if (facility != null && facility.toLowerCase() !== ctx.facility.toLowerCase()) {
    throw invalidInput(`this service holds the registry of ${ctx.facility}, not of ${facility}`, { argument: "facility", facility: ctx.facility });
  }
}

async function collectionView(ctx: FacilityContext, name: string): Promise<ButlerCollection> {
  const all = await listCollections(ctx.db);
  const names = new Map(all.map((c) => [c.id, c.name]));
  const c = all.find((x) => x.name === name)!;
  return { name: c.name, type: c.type as CollectionType, doc: c.doc, children: c.children.map((id) => names.get(id)!) };
}

@Resolver()
export class RegistryResolver {
  @Mutation(() => IngestResult, {
    nullable: true,
    description:
      "Ingests datasets with their file records and the dimension records they need, in bulk and idempotently, in one transaction (scope agent:<FACILITY> or butler:admin).",
  })
  async ingestDatasets(@Arg("input") input: IngestDatasetsInput, @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext) {
    requireWriter(ctx, facility);
    const result = await ingestDatasets(ctx.db, input);
    const rows = await ctx.loaders.dataset.loadMany(result.ids);
    return {
      ...result,
      datasets: rows.map((r) => {
        if (r instanceof Error || !r) throw r ?? new Error("an ingested dataset vanished");
        return { ...r, facility: ctx.facility };
      }),
    };
  }

  @Mutation(() => DatasetType, { nullable: true, description: "Registers a dataset type; the same definition again is a no-op (scope agent:<FACILITY> or butler:admin)." })
  async registerDatasetType(@Arg("input") input: DatasetTypeInput, @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext) {
    requireWriter(ctx, facility);
    const [t] = await ctx.db.transaction((tx) => registerDatasetTypes(tx, [input], "input"));
    return { ...t, requiredDimensions: requiredDimensions(t) };
  }

  @Mutation(() => ButlerCollection, { nullable: true, description: "Registers a collection; an existing one of the same type is kept (scope agent:<FACILITY> or butler:admin)." })
  async registerCollection(
    @Arg("name") name: string,
    @Arg("type", () => CollectionType) type: CollectionType,
    @Arg("doc", () => String, { nullable: true }) doc: string | null,
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    requireWriter(ctx, facility);
    await registerCollections(ctx.db, [{ name, type: type as CollectionTypeName, doc }], "name");
    return collectionView(ctx, name);
  }

  @Mutation(() => ButlerCollection, { nullable: true, description: "Sets the children of a CHAINED collection, in search order (scope agent:<FACILITY> or butler:admin)." })
  async setCollectionChain(@Arg("parent") parent: string, @Arg("children", () => [String]) children: string[], @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext) {
    requireWriter(ctx, facility);
    await ctx.db.transaction((tx) => setCollectionChain(tx, parent, children));
    return collectionView(ctx, parent);
  }

  @Mutation(() => Int, { nullable: true, description: "Adds datasets to a TAGGED collection; returns how many were added (scope agent:<FACILITY> or butler:admin)." })
  associate(@Arg("collection") collection: string, @Arg("datasetIds", () => [String]) datasetIds: string[], @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext) {
    requireWriter(ctx, facility);
    return ctx.db.transaction((tx) => associate(tx, collection, datasetIds));
  }

  @Mutation(() => Int, { nullable: true, description: "Removes datasets from a TAGGED collection (scope agent:<FACILITY> or butler:admin)." })
  disassociate(@Arg("collection") collection: string, @Arg("datasetIds", () => [String]) datasetIds: string[], @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext) {
    requireWriter(ctx, facility);
    return disassociate(ctx.db, collection, datasetIds);
  }

  @Mutation(() => Int, {
    nullable: true,
    description: "Certifies calibration datasets into a CALIBRATION collection for [begin, end) (ISO 8601; null = unbounded) (scope agent:<FACILITY> or butler:admin).",
  })
  certify(
    @Arg("collection") collection: string,
    @Arg("datasetIds", () => [String]) datasetIds: string[],
    @Arg("begin", () => String, { nullable: true }) begin: string | null,
    @Arg("end", () => String, { nullable: true }) end: string | null,
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    requireWriter(ctx, facility);
    return ctx.db.transaction((tx) => certify(tx, collection, datasetIds, begin, end));
  }
}
