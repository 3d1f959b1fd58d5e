import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { requireScope } from "../../../lib/auth";
import { addScope, listScopes } from "../scope";
import type { ReplicasContext } from "./context";
import { Scope } from "./types";

@Resolver(() => Scope)
export class ScopeResolver {
  @Query(() => [Scope])
  scopes(@Ctx() ctx: ReplicasContext) {
    return listScopes(ctx.db);
  }

  @Mutation(() => Scope, { description: "Adds a scope (scope catalog:admin)." })
  addScope(@Arg("name") name: string, @Ctx() ctx: ReplicasContext) {
    const who = requireScope(ctx.caller, "catalog:admin");
    return addScope(ctx.db, who.subject, name);
  }
}
