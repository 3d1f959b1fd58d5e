import { Arg, Ctx, Directive, Field, FieldResolver, Float, Int, ObjectType, Resolver, Root } from "type-graphql";
import { assumedListSize } from "../../../lib/list-size";
import type { FacilityContext } from "./context";
import { Facility } from "./types";

@ObjectType({ description: "Failed ingests with one error code." })
export class IngestFailureCount {
  @Field({ description: "BAD_FITS_HEADER, BAD_SIDECAR, UNSUPPORTED_INSTRUMENT, DIMENSION_RECORD_MISSING, INGEST_FAILED, …" })
  code: string;

  @Field(() => Float)
  count: number;
}

@ObjectType({ description: "How ingest on arrival is going at a facility: files waiting or failed now, files ingested within the window." })
export class IngestSummary {
  @Field(() => Int, { description: "The window of ingested and notADataset, in hours." })
  hours: number;

  @Field(() => Float, { description: "Files PENDING: a retry round is ingesting them." })
  pending: number;

  @Field(() => Float, { description: "Files FAILED (retried with backoff, or given up)." })
  failed: number;

  @Field(() => Float, { description: "Of the failed, those with no attempt left." })
  givenUp: number;

  @Field(() => Float, { description: "Files INGESTED within the window." })
  ingested: number;

  @Field(() => Float, { description: "Files found not to be Butler datasets within the window (replicated without ingest)." })
  notADataset: number;

  @Directive(assumedListSize(10))
  @Field(() => [IngestFailureCount], { description: "The failed files by error code, most first." })
  failures: IngestFailureCount[];

  @Field(() => Date, { nullable: true, description: "When the longest-waiting pending or failed file arrived." })
  oldestOpen: Date | null;
}

@Resolver(() => Facility)
export class ArrivalSummaryResolver {
  @FieldResolver(() => IngestSummary, {
    nullable: true,
    description: "Ingest on arrival at this facility: files pending and failed (by error code) now, files ingested in the last `hours` (default 24, at most 168).",
  })
  ingestSummary(@Root() _facility: Facility, @Arg("hours", () => Int, { defaultValue: 24 }) hours: number, @Ctx() ctx: FacilityContext) {
    return ctx.loaders.arrivalSummary.load(hours);
  }
}
