import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import { requireAgent } from "../../../lib/auth";
import { invalidInput } from "../../../lib/errors";
import { ArrivalResult as ArrivalOutcome, ingestArrivals } from "../arrival/arrival";
import type { FacilityContext } from "./context";
import { ArrivalInput } from "./inputs";
import { FACILITY_ARGUMENT } from "./registry-resolver";
import { sameFacility } from "./replica-resolver";
import { ArrivalResult, Replica, ReplicaIngest } from "./types";

/** An arrival outcome as the API shows it (times as ISO text). */
export function ingestView(r: ArrivalOutcome) {
  return { ...r, nextAttemptAt: r.nextAttemptAt ? r.nextAttemptAt.toISOString() : null };
}

@Resolver(() => Replica)
export class ArrivalResolver {
  @Mutation(() => [ArrivalResult], {
    nullable: true,
    description:
      "Records files that arrived at this facility and ingests them into its Butler registry in one batch, idempotently: a file already ingested is left as it is. Failures are kept per file (error code and message) and retried with backoff (scope agent:<FACILITY> of this facility).",
  })
  async recordArrivals(
    @Arg("arrivals", () => [ArrivalInput]) arrivals: ArrivalInput[],
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    if (facility != null && !sameFacility(facility, ctx.facility)) {
      throw invalidInput(`this service holds the registry of ${ctx.facility}, not of ${facility}`, { argument: "facility", facility: ctx.facility });
    }
    requireAgent(ctx.caller, ctx.facility);
    return (await ingestArrivals(ctx.db, arrivals)).map(ingestView);
  }

  @FieldResolver(() => ReplicaIngest, {
    nullable: true,
    description: "The ingest of this replica's file into this facility's Butler: state, error, attempts, dataset; null when the facility has no record of its arrival.",
  })
  async ingest(@Root() replica: Replica, @Ctx() ctx: FacilityContext) {
    if (!sameFacility(replica.facilityCode, ctx.facility)) return null;
    const r = await ctx.loaders.arrivalOfDid.load({ scope: replica.scope, name: replica.name });
    return r ? ingestView(r) : null;
  }
}
