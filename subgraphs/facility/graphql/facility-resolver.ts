import { Arg, Ctx, Directive, FieldResolver, Int, Query, Resolver, Root } from "type-graphql";
import { PAGE_LIST_SIZE } from "../../../lib/list-size";
import { toConnection } from "../../../lib/connection";
import { CollectionType as CollectionTypeName, listCollections } from "../collection";
import { getDataset, queryDatasets } from "../dataset";
import { listDatasetTypes, requiredDimensions } from "../dataset-type";
import { listDimensionRecords } from "../dimension-record";
import type { FacilityContext } from "./context";
import { ButlerCollection, ButlerDataset, ButlerDatasetConnection, CollectionType, DatasetType, DimensionRecordConnection, Facility, GraphQLJSONObject } from "./types";

/** A dataset row as the ButlerDataset entity (the facility code is part of its key). */
export function asEntity<T extends object>(ctx: FacilityContext, row: T): T & { facility: string } {
  return { ...row, facility: ctx.facility };
}

@Resolver(() => Facility)
export class FacilityResolver {
  /** A facility service's own entry point: the gateway has no single facility to give, so it hides the field (@inaccessible). */
  @Directive("@inaccessible")
  @Query(() => Facility, { nullable: true, description: "The facility this service serves (not at the gateway: ask for facility(code) there)." })
  localFacility(@Ctx() ctx: FacilityContext): Facility {
    return { code: ctx.facility };
  }

  @FieldResolver(() => [DatasetType], { nullable: true, description: "Registered dataset types, all or by name globs (calexp, *Coadd*), by name." })
  async datasetTypes(
    @Arg("pattern", () => [String], { nullable: true }) pattern: string[] | null,
    @Ctx() ctx: FacilityContext,
  ): Promise<DatasetType[]> {
    const rows = await listDatasetTypes(ctx.db, pattern);
    return rows.map((t) => ({ ...t, requiredDimensions: requiredDimensions(t) }));
  }

  @FieldResolver(() => [ButlerCollection], { nullable: true, description: "Collections by name or glob (HSC/runs/*) and type, by name." })
  async collections(
    @Arg("pattern", () => [String], { nullable: true }) pattern: string[] | null,
    @Arg("types", () => [CollectionType], { nullable: true }) types: CollectionType[] | null,
    @Ctx() ctx: FacilityContext,
  ): Promise<ButlerCollection[]> {
    const all = await listCollections(ctx.db, {});
    const names = new Map(all.map((c) => [c.id, c.name]));
    const rows = await listCollections(ctx.db, { patterns: pattern, types: types as CollectionTypeName[] | null });
    return rows.map((c) => ({ name: c.name, type: c.type as CollectionType, doc: c.doc, children: c.children.map((id) => names.get(id)!) }));
  }

  @Directive(PAGE_LIST_SIZE)
  @FieldResolver(() => ButlerDatasetConnection, {
    nullable: true,
    description:
      "Datasets as Butler.query_datasets finds them: of a dataset type (name or glob; all when null), in collections (names or globs, in search order; all when null), " +
      "matching a daf_butler where expression with bind values; findFirst keeps, per dataset type and data ID, the dataset of the first collection that has one. Ordered by ID.",
  })
  async datasets(
    @Root() _facility: Facility,
    @Arg("datasetType", () => String, { nullable: true }) datasetType: string | null,
    @Arg("collections", () => [String], { nullable: true }) collections: string[] | null,
    @Arg("where", () => String, { nullable: true }) where: string | null,
    @Arg("bind", () => GraphQLJSONObject, { nullable: true }) bind: Record<string, unknown> | null,
    @Arg("findFirst", () => Boolean, { nullable: true }) findFirst: boolean | null,
    @Arg("validAt", () => String, {
      nullable: true,
      description:
        "Calibration lookup time (ISO 8601, UTC unless an offset is given; e.g. the exposure's timespan begin): CALIBRATION collections contribute only " +
        "certifications valid then. Without it, find-first takes, per data ID, the certification with the latest validity start.",
    })
    validAt: string | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    const page = await queryDatasets(ctx.db, { datasetType, collections, where, bind, findFirst, validAt, first, after });
    return toConnection({ ...page, nodes: page.nodes.map((n) => asEntity(ctx, n)) });
  }

  @FieldResolver(() => ButlerDataset, { nullable: true, description: "A dataset by ID; DATASET_NOT_FOUND when there is none." })
  async dataset(@Arg("id") id: string, @Ctx() ctx: FacilityContext) {
    return asEntity(ctx, await getDataset(ctx.db, id));
  }

  @Directive(PAGE_LIST_SIZE)
  @FieldResolver(() => DimensionRecordConnection, {
    nullable: true,
    description: "Records of a dimension element (exposure, visit, detector, physical_filter, …) matching a where expression, by key.",
  })
  async dimensionRecords(
    @Arg("element") element: string,
    @Arg("where", () => String, { nullable: true }) where: string | null,
    @Arg("bind", () => GraphQLJSONObject, { nullable: true }) bind: Record<string, unknown> | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    return toConnection(await listDimensionRecords(ctx.db, element, { where, bind, first, after }));
  }
}
