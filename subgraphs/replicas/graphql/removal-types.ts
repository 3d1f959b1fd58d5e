import { Field, Float, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { Connection } from "../../../lib/connection";
import { DidRefInput } from "./inputs";

/** The GraphQL types of campaign removals: kept apart from types.ts, one concept per file. */

export enum RemovalState {
  PLANNED = "PLANNED",
  RUNNING = "RUNNING",
  DONE = "DONE",
  CANCELLED = "CANCELLED",
}
registerEnumType(RemovalState, {
  name: "RemovalState",
  description: "PLANNED: recorded, not yet planned (or a dry run); RUNNING: rules removed, replicas being deleted; DONE: every facility finished; CANCELLED: stopped, pending files kept.",
});

export enum RemovalFacilityState {
  DELETING = "DELETING",
  FINISHING = "FINISHING",
  DONE = "DONE",
  CANCELLED = "CANCELLED",
}
registerEnumType(RemovalFacilityState, {
  name: "RemovalFacilityState",
  description: "DELETING: planned copies are being deleted (or a facility has not yet said what its runs hold); FINISHING: its agent removes what is left in its Butler; DONE; CANCELLED.",
});

export enum RemovalFileState {
  PLANNED = "PLANNED",
  DELETED = "DELETED",
  KEPT = "KEPT",
  CANCELLED = "CANCELLED",
}
registerEnumType(RemovalFileState, { name: "RemovalFileState", description: "A replica's fate in a removal; KEPT carries the reason." });

@ObjectType({ description: "A removal at one facility: its files (copies there), its Butler datasets, the bytes freed." })
export class RemovalFacility {
  @Field()
  facility: string;

  @Field(() => RemovalFacilityState)
  state: RemovalFacilityState;

  @Field({ description: "Whether the facility said which files the removal's runs and collections hold there (retried while it does not answer)." })
  resolved: boolean;

  @Field(() => Int, { description: "Copies at the facility the removal deletes (deleted ones included)." })
  filesPlanned: number;

  @Field(() => Int)
  filesDeleted: number;

  @Field(() => Int, { nullable: true, description: "Butler datasets the facility's registry removed for it (null: not known, e.g. the facility did not answer a dry run)." })
  datasetsRemoved: number | null;

  @Field(() => Int, { description: "Runs and named collections the facility's registry removed once empty." })
  collectionsRemoved: number;

  @Field(() => Float)
  bytesFreed: number;

  @Field(() => Int, { description: "Copies kept because something still wants them (see Removal.files(state: KEPT))." })
  kept: number;

  @Field(() => Int, { description: "Failed deletion attempts and failed questions to the facility." })
  errors: number;

  @Field(() => String, { nullable: true })
  lastError: string | null;
}

@ObjectType({ description: "One copy (replica) in a removal: planned, deleted, or kept and why." })
export class RemovalFile {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Field()
  facility: string;

  @Field(() => Float)
  bytes: number;

  @Field(() => RemovalFileState)
  state: RemovalFileState;

  @Field(() => String, { nullable: true, description: "Why a KEPT copy is kept: attached to a kept dataset, wanted or protected by a rule." })
  reason: string | null;

  @Field(() => Int, { description: "Failed deletion attempts." })
  attempts: number;

  @Field(() => String, { nullable: true })
  lastError: string | null;

  @Field()
  updatedAt: Date;
}
export const RemovalFileConnection = Connection(RemovalFile, "RemovalFile");

@ObjectType({ description: "A campaign removal: obsolete runs, collections and DIDs retired from every replica and every Butler registry." })
export class Removal {
  @Field(() => String, { nullable: true, description: "Null for a dry run (nothing was stored)." })
  id: string | null;

  @Field(() => RemovalState)
  state: RemovalState;

  @Field({ description: "True for a dry run: what would happen; nothing was written." })
  dryRun: boolean;

  @Field({ description: "The token subject that asked (`judge` for DIDs past their lifetime)." })
  requestedBy: string;

  @Field()
  reason: string;

  @Field({ description: "`request` (markObsolete) or `expiry` (DIDs past their lifetime)." })
  origin: string;

  @Field(() => [String], { description: "Butler RUN collections named." })
  runs: string[];

  @Field(() => [String], { description: "Butler collections named." })
  collections: string[];

  @Field(() => [String], { nullable: true, description: "The facilities it acts at; null: every facility." })
  facilities: string[] | null;

  @Field(() => Int, { description: "Rules it removed." })
  rulesRemoved: number;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;

  @Field(() => Date, { nullable: true })
  finishedAt: Date | null;
}
export const RemovalConnection = Connection(Removal, "Removal");

@ObjectType({ description: "A facility's part of a removal that waits for its agent (state FINISHING)." })
export class RemovalWork {
  @Field()
  id: string;

  @Field(() => [String])
  runs: string[];

  @Field(() => [String])
  collections: string[];
}

@InputType({ description: "What to retire, where, and why." })
export class MarkObsoleteInput {
  @Field(() => [String], { nullable: true, description: "Butler RUN collections (names or globs); each facility says which files they hold." })
  runs?: string[] | null;

  @Field(() => [String], { nullable: true, description: "Butler collections of any type (names or globs; CHAINED through their children)." })
  collections?: string[] | null;

  @Field(() => [DidRefInput], { nullable: true, description: "Catalog DIDs (files, datasets, containers; up to 10,000)." })
  dids?: DidRefInput[] | null;

  @Field(() => [String], { nullable: true, description: "Limit the removal to these facilities (default: every facility)." })
  facilities?: string[] | null;

  @Field({ description: "Why the data is no longer needed; recorded with the removal and in its events." })
  reason: string;

  @Field(() => Boolean, { nullable: true, description: "Return what would happen and write nothing." })
  dryRun?: boolean | null;
}

@InputType({ description: "What a facility's registry removed for a removal so far (totals)." })
export class RemovalProgressInput {
  @Field(() => Int)
  datasetsRemoved: number;

  @Field(() => Int)
  collectionsRemoved: number;

  @Field({ description: "The facility's part is finished (only once nothing planned is left there)." })
  finished: boolean;
}
