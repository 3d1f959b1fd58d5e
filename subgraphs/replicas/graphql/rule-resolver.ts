import { Arg, Ctx, Directive, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { PAGE_LIST_SIZE } from "../../../lib/list-size";
import { hasScope, requireScope } from "../../../lib/auth";
import { toConnection } from "../../../lib/connection";
import { DbbError, ErrorCode } from "../../../lib/errors";
import { pageSize, toPage } from "../../../lib/pagination";
import type { LockRow } from "../lock";
import { addRule, deleteRule, getRule, listRules, resumeRule, retryRule, RuleRow, suspendRule, updateRule } from "../rule";
import type { ReplicasContext } from "./context";
import { AddRuleInput, RuleFilterInput, UpdateRuleInput } from "./inputs";
import { Did, Lock, LockConnection, Rse, Rule, RuleConnection } from "./types";

/** Rules may be changed by their owner or by catalog:admin. */
async function requireOwner(ctx: ReplicasContext, id: string): Promise<void> {
  const who = requireScope(ctx.caller, "catalog:write");
  if (hasScope(who, "catalog:admin")) return;
  const rule = await getRule(ctx.db, id);
  if (rule.account !== who.subject) {
    throw new DbbError(ErrorCode.FORBIDDEN, `rule ${id} belongs to '${rule.account}'; only its owner or catalog:admin may change it`, { rule: id });
  }
}

@Resolver(() => Rule)
export class RuleResolver {
  @Query(() => Rule, { nullable: true, description: "A rule by id; RULE_NOT_FOUND when there is none." })
  rule(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    return getRule(ctx.db, id);
  }

  @Directive(PAGE_LIST_SIZE)
  @Query(() => RuleConnection, { description: "Rules by state, account, DID and activity; newest first." })
  async rules(
    @Arg("filter", () => RuleFilterInput, { nullable: true }) filter: RuleFilterInput | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    return toConnection(await listRules(ctx.db, { ...(filter ?? {}), first, after }));
  }

  @FieldResolver(() => Did)
  did(@Root() rule: RuleRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.did.load({ scope: rule.scope, name: rule.name });
  }

  @Directive(PAGE_LIST_SIZE)
  @FieldResolver(() => LockConnection, { description: "The rule's locks, by file and RSE." })
  async locks(
    @Root() rule: RuleRow,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: ReplicasContext,
  ) {
    const rows = await ctx.loaders.locksOfRule({ first, after }).load(rule.id);
    return toConnection(
      toPage(rows, pageSize(first), (l) => [l.scope, l.name, l.rseId], async () => rule.locksOk + rule.locksReplicating + rule.locksStuck),
    );
  }

  @Mutation(() => Rule, {
    description: "Adds a replication rule and queues the transfers it needs (scope catalog:write). INSUFFICIENT_TARGET_RSES when the expression selects fewer writable RSEs than copies.",
  })
  addRule(@Arg("input") input: AddRuleInput, @Ctx() ctx: ReplicasContext) {
    const who = requireScope(ctx.caller, "catalog:write");
    return addRule(ctx.db, who.subject, input);
  }

  @Mutation(() => Rule, { description: "Changes lifetime (from now), locked, comment, activity, priority (owner or catalog:admin)." })
  async updateRule(@Arg("id") id: string, @Arg("input") input: UpdateRuleInput, @Ctx() ctx: ReplicasContext) {
    await requireOwner(ctx, id);
    return updateRule(ctx.db, id, input);
  }

  @Mutation(() => Boolean, { description: "Deletes a rule, releasing its locks; RULE_LOCKED for a locked rule (owner or catalog:admin)." })
  async deleteRule(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    await requireOwner(ctx, id);
    return deleteRule(ctx.db, id, { tombstoneDelaySeconds: ctx.settings.tombstoneDelaySeconds });
  }

  @Mutation(() => Rule, { description: "Stops handing the rule's transfers to agents (owner or catalog:admin)." })
  async suspendRule(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    await requireOwner(ctx, id);
    return suspendRule(ctx.db, id);
  }

  @Mutation(() => Rule, { description: "Resumes a suspended rule (owner or catalog:admin)." })
  async resumeRule(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    await requireOwner(ctx, id);
    return resumeRule(ctx.db, id);
  }

  @Mutation(() => Rule, { description: "Re-queues the rule's STUCK locks with fresh transfer requests (owner or catalog:admin)." })
  async retryRule(@Arg("id") id: string, @Ctx() ctx: ReplicasContext) {
    await requireOwner(ctx, id);
    return retryRule(ctx.db, id);
  }
}

@Resolver(() => Lock)
export class LockResolver {
  @FieldResolver(() => Rule)
  rule(@Root() lock: LockRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.rule.load(lock.ruleId);
  }

  @FieldResolver(() => Did)
  file(@Root() lock: LockRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.did.load({ scope: lock.scope, name: lock.name });
  }

  @FieldResolver(() => Rse)
  rse(@Root() lock: LockRow, @Ctx() ctx: ReplicasContext) {
    return ctx.loaders.rseById.load(lock.rseId);
  }
}
