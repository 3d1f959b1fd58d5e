import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from "type-graphql";
import { requireAgent } from "../../../lib/auth";
import { ArrivalResult as ArrivalOutcome, ingestArrivals } from "../arrival/arrival";
import { MAX_DEPARTURES_PER_CALL, recordDepartures } from "../arrival/departure";
import type { FacilityContext } from "./context";
import { ArrivalInput, DepartureInput } from "./inputs";
import { checkFacilityArgument, FACILITY_ARGUMENT } from "./registry-resolver";
import { sameFacility } from "./replica-resolver";
import { ArrivalResult, DepartureResult, Replica, ReplicaIngest } from "./types";

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
    checkFacilityArgument(ctx, facility);
    requireAgent(ctx.caller, ctx.facility);
    return (await ingestArrivals(ctx.db, arrivals)).map(ingestView);
  }

  @Mutation(() => DepartureResult, {
    nullable: true,
    description: `Files the facility's agent deleted (up to ${MAX_DEPARTURES_PER_CALL}): the Butler datasets ingested from them are removed with their file records and associations, and their arrival records forgotten, so registry and storage agree. Idempotent (scope agent:<FACILITY> of this facility).`,
  })
  async recordDepartures(
    @Arg("files", () => [DepartureInput]) files: DepartureInput[],
    @Arg("facility", () => String, { nullable: true, description: FACILITY_ARGUMENT }) facility: string | null,
    @Ctx() ctx: FacilityContext,
  ) {
    checkFacilityArgument(ctx, facility);
    requireAgent(ctx.caller, ctx.facility);
    return recordDepartures(ctx.db, files);
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
