import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { assumedListSize, PAGE_LIST_SIZE } from "../../../lib/list-size";
import { requireScope } from "../../../lib/auth";
import { toConnection } from "../../../lib/connection";
import { pageSize, toPage } from "../../../lib/pagination";
import { attachDids, detachDids } from "../attachment";
import { addDids, DidRow, didsByRefs, getDid, listDids, MAX_DID_REFS, setDidLifetime, setDidMetadata, setDidStatus } from "../did";
import type { ReplicasContext } from "./context";
import { AddDidInput, DidRefInput } from "./inputs";
import { BulkResult, Did, DidConnection, DidType, Lock, Replica, Rule } from "./types";

const keyOf = (d: { scope: string; name: string }) => [d.scope, d.name];

@Resolver(() => Did)
export class DidResolver {
  @Query(() => Did, { nullable: true, description: "A DID by scope and name; DID_NOT_FOUND when there is none." })
  did(@Arg("scope") scope: string, @Arg("name") name: string, @Ctx() ctx: ReplicasContext) {
    return getDid(ctx.db, { scope, name });
  }

  @Query(() => [Did], {
    nullable: "items",
    description: `The DIDs of a list of references (up to ${MAX_DID_REFS}), in the order asked; null for one that does not exist. For status checks of many files at once.`,
  })
  async didsByRefs(@Arg("refs", () => [DidRefInput]) refs: DidRefInput[], @Ctx() ctx: ReplicasContext) {
    const rows = await didsByRefs(ctx.db, refs);
    // Nested fields (replicas, rules, parents) load through the per-request DataLoaders; prime the DID one too.
    for (const row of rows) if (row) ctx.loaders.did.prime(row, row);
    return rows;
  }

  @Directive(PAGE_LIST_SIZE)
  @Query(() => DidConnection, {
    description:
      'DIDs of a scope by name pattern (* and ?), type, and metadata filter: {"key": value} for equality, or {"key": {"in": [..]}} / {"gte": n, "lt": m} / {"ne": v} / {"exists": bool}.',
  })
  dids(
    @Arg("scope") scope: string,
    @Arg("namePattern", () => String, { nullable: true }) namePattern: string | null,
    @Arg("type", () => DidType, { nullable: true }) type: DidType | null,
    @Arg("metadata", () => GraphQLJSONObject, { nullable: true }) metadata: Record<string, unknown> | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    return listDids(ctx.db, { scope, namePattern, type, metadata, first, after }).then(toConnection);
  }

  // One replica per RSE at most; a file typically has one at each of a few facilities.
  @Directive(assumedListSize(4))
  @FieldResolver(() => [Replica], { description: "The file's replicas on every RSE, by RSE name." })
  replicas(@Root() did: DidRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.replicasOfDid.load(did);
  }

  // A few policies and campaign rules concern a file.
  @Directive(assumedListSize(4))
  @FieldResolver(() => [Rule], {
    description: "The rules that concern this DID: those made on it, and those holding a lock on it (for a file: also the rules made on its datasets and containers), oldest first.",
  })
  rules(@Root() did: DidRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.rulesOfDid.load(did);
  }

  @Directive(assumedListSize(4))
  @FieldResolver(() => [Lock], { description: "The rules' locks on this file (files only)." })
  locks(@Root() did: DidRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.locksOfDid.load(did);
  }

  @Directive(assumedListSize(4))
  @FieldResolver(() => [Did], { description: "The datasets or containers this DID is attached to." })
  parents(@Root() did: DidRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.parentsOfDid.load(did);
  }

  @Directive(PAGE_LIST_SIZE)
  @FieldResolver(() => DidConnection, { description: "Direct children of a dataset or container, by scope and name." })
  async children(
    @Root() did: DidRow,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    const rows = await ctx.loaders.childrenOfDid({ first, after }).load(did);
    return toConnection(toPage(rows, pageSize(first), keyOf, async () => (await ctx.loaders.childCount.load(did))?.n ?? 0));
  }

  @Directive(PAGE_LIST_SIZE)
  @FieldResolver(() => DidConnection, { description: "All files below a dataset or container, recursively, by scope and name." })
  async files(
    @Root() did: DidRow,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    const rows = await ctx.loaders.filesOfDid({ first, after }).load(did);
    return toConnection(toPage(rows, pageSize(first), keyOf, async () => (await ctx.loaders.fileCount.load(did))?.n ?? 0));
  }

  @Mutation(() => BulkResult, { description: "Registers DIDs with metadata and checksums, all or nothing (scope catalog:write)." })
  async addDids(@Arg("input", () => [AddDidInput]) input: AddDidInput[], @Ctx() ctx: ReplicasContext): Promise<BulkResult> {
    const who = requireScope(ctx.caller, "catalog:write");
    return { count: await addDids(ctx.db, who.subject, input) };
  }

  @Mutation(() => BulkResult, {
    description: "Attaches files to a dataset, or datasets/containers to a container; refuses cycles. count = new attachments (scope catalog:write).",
  })
  async attachDids(
    @Arg("parent") parent: DidRefInput,
    @Arg("children", () => [DidRefInput]) children: DidRefInput[],
    @Ctx() ctx: ReplicasContext,
  ): Promise<BulkResult> {
    const who = requireScope(ctx.caller, "catalog:write");
    return { count: await attachDids(ctx.db, who.subject, parent, children) };
  }

  @Mutation(() => BulkResult, { description: "Detaches children from a dataset or container (scope catalog:write)." })
  async detachDids(
    @Arg("parent") parent: DidRefInput,
    @Arg("children", () => [DidRefInput]) children: DidRefInput[],
    @Ctx() ctx: ReplicasContext,
  ): Promise<BulkResult> {
    requireScope(ctx.caller, "catalog:write");
    return { count: await detachDids(ctx.db, parent, children) };
  }

  @Mutation(() => Did, { description: "Merges metadata keys (null removes a key); replace: true replaces it all (scope catalog:write)." })
  setDidMetadata(
    @Arg("scope") scope: string,
    @Arg("name") name: string,
    @Arg("metadata", () => GraphQLJSONObject) metadata: Record<string, unknown>,
    @Arg("replace", () => Boolean, { nullable: true }) replace: boolean | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    requireScope(ctx.caller, "catalog:write");
    return setDidMetadata(ctx.db, { scope, name }, metadata, replace ?? false);
  }

  @Mutation(() => Did, { description: "Opens or closes a dataset or container (scope catalog:write)." })
  setDidStatus(@Arg("scope") scope: string, @Arg("name") name: string, @Arg("open") open: boolean, @Ctx() ctx: ReplicasContext) {
    requireScope(ctx.caller, "catalog:write");
    return setDidStatus(ctx.db, { scope, name }, open);
  }

  @Mutation(() => Did, {
    description:
      "Sets a DID's lifetime in seconds from now (Rucio's expired_at; null clears it): past it, the catalog's judge removes the DID as obsolete at every facility, as markObsolete does (scope catalog:remove).",
  })
  setDidLifetime(
    @Arg("scope") scope: string,
    @Arg("name") name: string,
    @Arg("lifetime", () => Int, { nullable: true }) lifetime: number | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    requireScope(ctx.caller, "catalog:remove");
    return setDidLifetime(ctx.db, { scope, name }, lifetime);
  }
}
