import { GraphQLJSON } from "graphql-scalars";
import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { PAGE_LIST_SIZE } from "../../../lib/list-size";
import { requireScope } from "../../../lib/auth";
import { addRse, deleteRse, getRse, listRses, RseRow, setRseAttribute, setRseAvailability } from "../rse";
import type { ReplicasContext } from "./context";
import { AddRseInput } from "./inputs";
import { toConnection } from "../../../lib/connection";
import { pageSize, toPage } from "../../../lib/pagination";
import { Facility, RequestState, Rse, RseProtocol, TransferRequestConnection } from "./types";

@Resolver(() => Rse)
export class RseResolver {
  @Query(() => [Rse], {
    description:
      "All RSEs, or those an RSE expression selects (Rucio syntax: names, key=value, key<n, key>n, *, bare attribute keys; | union, & intersection, \\ complement, left to right; parentheses).",
  })
  rses(@Arg("expression", () => String, { nullable: true }) expression: string | null, @Ctx() ctx: ReplicasContext) {
    return listRses(ctx.db, expression);
  }

  @Query(() => Rse, { nullable: true, description: "An RSE by name; RSE_NOT_FOUND when there is none." })
  rse(@Arg("name") name: string, @Ctx() ctx: ReplicasContext) {
    return getRse(ctx.db, name);
  }

  @FieldResolver(() => Facility)
  facility(@Root() rse: RseRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.facilityRows.get(rse.facility) ?? ctx.loaders.facility.load(rse.facility);
  }

  @FieldResolver(() => RseProtocol)
  protocol(@Root() rse: RseRow): RseProtocol {
    return { endpoint: rse.endpoint, bucket: rse.bucket, prefix: rse.prefix, region: rse.region, root: rse.rootPath };
  }

  @Directive(PAGE_LIST_SIZE)
  @FieldResolver(() => TransferRequestConnection, { description: "Transfer requests to this RSE, newest first." })
  async transfers(
    @Root() rse: RseRow,
    @Arg("state", () => RequestState, { nullable: true }) state: RequestState | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    const rows = await ctx.loaders.transfersToRse({ first, after, state }).load(rse.id);
    return toConnection(
      toPage(rows, pageSize(first), (t) => [t.cursorAt, t.id], async () => {
        const [count] = await ctx.loaders.transferCountToRse(state).load(rse.id);
        return count?.n ?? 0;
      }),
    );
  }

  @Mutation(() => Rse, { description: "Adds an RSE (scope catalog:admin). An unknown facility code creates the facility." })
  addRse(@Arg("input") input: AddRseInput, @Ctx() ctx: ReplicasContext) {
    const who = requireScope(ctx.caller, "catalog:admin");
    return addRse(ctx.db, who.subject, input);
  }

  @Mutation(() => Rse, { description: "Sets an attribute to a string, number or boolean; null removes it (scope catalog:admin)." })
  setRseAttribute(
    @Arg("rse") rse: string,
    @Arg("key") key: string,
    @Arg("value", () => GraphQLJSON, { nullable: true }) value: unknown,
    @Ctx() ctx: ReplicasContext,
  ) {
    requireScope(ctx.caller, "catalog:admin");
    return setRseAttribute(ctx.db, rse, key, value);
  }

  @Mutation(() => Rse, { description: "Changes read/write/delete availability; omitted ones stay (scope catalog:admin)." })
  setRseAvailability(
    @Arg("rse") rse: string,
    @Arg("read", () => Boolean, { nullable: true }) read: boolean | null,
    @Arg("write", () => Boolean, { nullable: true }) write: boolean | null,
    @Arg("delete", () => Boolean, { nullable: true }) del: boolean | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    requireScope(ctx.caller, "catalog:admin");
    return setRseAvailability(ctx.db, rse, { read, write, delete: del });
  }

  @Mutation(() => Boolean, { description: "Marks an RSE deleted; refused (RSE_NOT_EMPTY) while it holds replicas (scope catalog:admin)." })
  deleteRse(@Arg("name") name: string, @Ctx() ctx: ReplicasContext) {
    requireScope(ctx.caller, "catalog:admin");
    return deleteRse(ctx.db, name);
  }
}
