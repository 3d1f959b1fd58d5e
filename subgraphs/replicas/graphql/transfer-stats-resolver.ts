import { Arg, Ctx, Directive, Field, FieldResolver, Float, Int, ObjectType, Query, Resolver, Root } from "type-graphql";
import { assumedListSize } from "../../../lib/list-size";
import { checkWindowHours, FacilityTransferCounts, transferLinks } from "../transfer-stats";
import type { ReplicasContext } from "./context";
import { Facility } from "./types";

@ObjectType({ description: "Transfer requests to a facility's RSEs: waiting and running now, finished within the window asked." })
export class TransferCounts {
  @Field(() => Int, { description: "The window of done, bytes and failed, in hours." })
  hours: number;

  @Field(() => Int, { description: "QUEUED, never attempted." })
  queued: number;

  @Field(() => Int, { description: "QUEUED again after a failed attempt, waiting out the backoff." })
  retrying: number;

  @Field(() => Int, { description: "SUBMITTED: an agent is copying it." })
  active: number;

  @Field(() => Int, { description: "DONE within the window." })
  done: number;

  @Field(() => Float, { description: "Bytes of the requests DONE within the window." })
  bytes: number;

  @Field(() => Int, { description: "FAILED for good (attempts exhausted) within the window." })
  failed: number;
}

@ObjectType({ description: "Failed transfer attempts with one reason." })
export class TransferErrorCount {
  @Field({ description: "The agent's reason (CHECKSUM_MISMATCH, SOURCE_MISSING, NETWORK, …), TRANSFER_ERROR when it gave none." })
  code: string;

  @Field(() => Int)
  count: number;
}

@ObjectType({ description: "Transfer attempts from one facility to another over the window: totals, failures by reason, and one value per time bucket." })
export class TransferLink {
  @Field(() => String, { nullable: true, description: "Source facility (null when the attempt had no source or its RSE is gone)." })
  source: string | null;

  @Field()
  destination: string;

  @Field(() => Int, { description: "Attempts DONE." })
  done: number;

  @Field(() => Float, { description: "Bytes of the attempts DONE." })
  bytes: number;

  @Field(() => Int, { description: "Attempts FAILED (each retry counts)." })
  failed: number;

  @Directive(assumedListSize(10))
  @Field(() => [TransferErrorCount], { description: "Failed attempts by reason, most first." })
  errors: TransferErrorCount[];

  @Field(() => [Int], { description: "Attempts DONE per bucket, oldest first (TransferLinks.buckets values)." })
  doneSeries: number[];

  @Field(() => [Float], { description: "Bytes DONE per bucket, oldest first." })
  bytesSeries: number[];

  @Field(() => [Int], { description: "Attempts FAILED per bucket, oldest first." })
  failedSeries: number[];
}

@ObjectType({ description: "Transfer attempts per link (source facility → destination facility) over the last hours, in time buckets." })
export class TransferLinks {
  @Field({ description: "Start of the first bucket." })
  since: Date;

  @Field({ description: "End of the last bucket (the bucket that holds now)." })
  until: Date;

  @Field(() => Int)
  bucketSeconds: number;

  @Field(() => Int)
  buckets: number;

  @Directive(assumedListSize(30))
  @Field(() => [TransferLink], { description: "Links with at least one attempt in the window, by source and destination." })
  links: TransferLink[];
}

@Resolver(() => Facility)
export class TransferStatsResolver {
  @FieldResolver(() => TransferCounts, { description: "Transfer requests to the facility's RSEs: waiting and running now, finished in the last `hours` (default 24, at most 168)." })
  async transferCounts(
    @Root() facility: Facility,
    @Arg("hours", () => Int, { defaultValue: 24 }) hours: number,
    @Ctx() ctx: ReplicasContext,
  ): Promise<TransferCounts> {
    checkWindowHours(hours);
    const [row]: Array<FacilityTransferCounts | undefined> = await ctx.loaders.facilityTransferCounts(hours).load(facility.code);
    if (!row) return { hours, queued: 0, retrying: 0, active: 0, done: 0, bytes: 0, failed: 0 };
    return { hours, queued: row.queued, retrying: row.retrying, active: row.active, done: row.done, bytes: row.bytes, failed: row.failed };
  }

  @Query(() => TransferLinks, {
    description:
      "Transfer attempts per link, source facility → destination facility, over the last `hours` (default 24, at most 168) in buckets of `bucketMinutes` (default 60; at most 500 buckets), from the transfer-done and transfer-failed events.",
  })
  transferLinks(
    @Arg("hours", () => Int, { defaultValue: 24 }) hours: number,
    @Arg("bucketMinutes", () => Int, { defaultValue: 60 }) bucketMinutes: number,
    @Ctx() ctx: ReplicasContext,
  ) {
    return transferLinks(ctx.db, { hours, bucketMinutes });
  }
}
