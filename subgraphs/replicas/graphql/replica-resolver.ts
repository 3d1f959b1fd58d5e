import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { PAGE_LIST_SIZE } from "../../../lib/list-size";
import { requireScope } from "../../../lib/auth";
import { toConnection } from "../../../lib/connection";
import { addReplicas, listReplicas, ReplicaRow, setReplicaState } from "../replica";
import type { ReplicasContext } from "./context";
import { AddReplicaInput } from "./inputs";
import { BulkResult, Did, Replica, ReplicaConnection, ReplicaState, Rse } from "./types";

@Resolver(() => Replica)
export class ReplicaResolver {
  @Directive(PAGE_LIST_SIZE)
  @Query(() => ReplicaConnection, { description: "Replicas by RSE, state, scope and name pattern (* and ?), ordered by RSE, scope, name." })
  replicas(
    @Arg("rse", () => String, { nullable: true }) rse: string | null,
    @Arg("state", () => ReplicaState, { nullable: true }) state: ReplicaState | null,
    @Arg("scope", () => String, { nullable: true }) scope: string | null,
    @Arg("namePattern", () => String, { nullable: true }) namePattern: string | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    return listReplicas(ctx.db, { rse, state, scope, namePattern, first, after }).then(toConnection);
  }

  @FieldResolver(() => Rse)
  rse(@Root() replica: ReplicaRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.rseRows.get(replica.rseId) ?? ctx.loaders.rseById.load(replica.rseId);
  }

  @FieldResolver(() => Did)
  did(@Root() replica: ReplicaRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.did.load({ scope: replica.scope, name: replica.name });
  }

  @Mutation(() => BulkResult, {
    description:
      "Registers replicas of existing files on an RSE, all or nothing (scope catalog:write). An RSE not available for writing refuses them (RSE_WRITE_BLOCKED).",
  })
  async addReplicas(
    @Arg("rse") rse: string,
    @Arg("replicas", () => [AddReplicaInput]) replicas: AddReplicaInput[],
    @Arg("ignoreAvailability", () => Boolean, {
      nullable: true,
      description: "Registers them even on an RSE not available for writing (files already there); needs catalog:admin.",
    })
    ignoreAvailability: boolean | null,
    @Ctx() ctx: ReplicasContext,
  ): Promise<BulkResult> {
    const who = ignoreAvailability ? requireScope(ctx.caller, "catalog:admin") : requireScope(ctx.caller, "catalog:write");
    return { count: await addReplicas(ctx.db, who.subject, rse, replicas, { ignoreAvailability: ignoreAvailability ?? false }) };
  }

  @Mutation(() => Replica, { description: "Sets a replica's state (scope catalog:write)." })
  setReplicaState(
    @Arg("scope") scope: string,
    @Arg("name") name: string,
    @Arg("rse") rse: string,
    @Arg("state", () => ReplicaState) state: ReplicaState,
    @Ctx() ctx: ReplicasContext,
  ) {
    requireScope(ctx.caller, "catalog:write");
    return setReplicaState(ctx.db, { scope, name }, rse, state);
  }
}
