import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import { applyImport, planImport } from "../transfers/import";
import { exportButlerYaml } from "../transfers/export";
import type { FacilityContext } from "./context";
import { FACILITY_ARGUMENT, requireWriter } from "./registry-resolver";
import { Facility, GraphQLJSONObject, ImportResult } from "./types";

@Resolver(() => Facility)
export class TransferResolver {
  @Mutation(() => ImportResult, {
    nullable: true,
    description:
      "Imports a daf_butler YAML export, or a Butler zip index (_butler_zip_index.json), in one transaction; idempotent. didScope records each file's path as the DID (didScope, path) it came from (scope agent:<FACILITY> or butler:admin).",
  })
  async importButlerData(
    @Arg("content") content: string,
    @Arg("didScope", () => String, { nullable: true }) didScope: string | null,
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    requireWriter(ctx, facility);
    return applyImport(ctx.db, planImport(content, didScope));
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: "The datasets a query selects, with their dimension records, collections and associations, in daf_butler's YAML export format (butler import reads it).",
  })
  exportButlerData(
    @Root() _facility: Facility,
    @Arg("datasetType", () => String, { nullable: true }) datasetType: string | null,
    @Arg("collections", () => [String], { nullable: true }) collections: string[] | null,
    @Arg("where", () => String, { nullable: true }) where: string | null,
    @Arg("bind", () => GraphQLJSONObject, { nullable: true }) bind: Record<string, unknown> | null,
    @Ctx() ctx: FacilityContext,
  ) {
    return exportButlerYaml(ctx.db, { datasetType, collections, where, bind });
  }
}
