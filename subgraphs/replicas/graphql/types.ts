import { GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { Directive, Field, Float, Int, ObjectType, registerEnumType } from "type-graphql";
import { Connection } from "../../../lib/connection";

export enum DidType {
  FILE = "FILE",
  DATASET = "DATASET",
  CONTAINER = "CONTAINER",
}
registerEnumType(DidType, { name: "DidType", description: "A file, a dataset of files, or a container of datasets and containers." });

export enum RseKind {
  S3 = "S3",
  POSIX = "POSIX",
}
registerEnumType(RseKind, { name: "RseKind", description: "How an RSE stores its files: an S3 object store or a POSIX file system." });

export enum ReplicaState {
  AVAILABLE = "AVAILABLE",
  COPYING = "COPYING",
  UNAVAILABLE = "UNAVAILABLE",
  BEING_DELETED = "BEING_DELETED",
  BAD = "BAD",
}
registerEnumType(ReplicaState, { name: "ReplicaState" });

@Directive('@key(fields: "code")')
@ObjectType({ description: "A data facility (USDF, FrDF, UKDF, SUMMIT, …): it runs its own Butler registry and storage." })
export class Facility {
  @Field()
  code: string;

  @Field()
  description: string;
}

@ObjectType({ description: "Where an RSE keeps its files: endpoint, bucket and prefix for S3; root for POSIX." })
export class RseProtocol {
  @Field(() => String, { nullable: true })
  endpoint: string | null;

  @Field(() => String, { nullable: true })
  bucket: string | null;

  @Field()
  prefix: string;

  @Field(() => String, { nullable: true, description: "S3: the region requests are signed for (null: us-east-1)." })
  region: string | null;

  @Field(() => String, { nullable: true })
  root: string | null;
}

@Directive('@key(fields: "name")')
@ObjectType({ description: "A Rucio Storage Element: one storage endpoint of a facility." })
export class Rse {
  @Field()
  name: string;

  @Field(() => RseKind)
  kind: RseKind;

  @Field(() => GraphQLJSONObject, { description: "Attribute key → string, number or boolean, as RSE expressions see them." })
  attributes: Record<string, unknown>;

  @Field()
  availabilityRead: boolean;

  @Field()
  availabilityWrite: boolean;

  @Field()
  availabilityDelete: boolean;

  @Field()
  deleted: boolean;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

@Directive('@key(fields: "scope name")')
@ObjectType({ description: "A data identifier: a file, dataset or container, named by scope and name." })
export class Did {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Field(() => DidType)
  type: DidType;

  @Field({ description: "The account (token subject) that registered it." })
  account: string;

  @Field(() => Float, { nullable: true, description: "Size in bytes (files only)." })
  bytes: number | null;

  @Field(() => String, { nullable: true })
  adler32: string | null;

  @Field(() => String, { nullable: true })
  md5: string | null;

  @Field(() => GraphQLJSONObject)
  metadata: Record<string, unknown>;

  @Field(() => String, {
    nullable: true,
    description: "The path the file's replicas take on every RSE, relative to its root or bucket prefix: a Large File Annex object keeps its object key. Null: Rucio's deterministic path <scope>/<md5[0:2]>/<md5[2:4]>/<name>.",
  })
  path: string | null;

  @Field({ description: "Whether a dataset or container still takes attachments (files are always closed)." })
  isOpen: boolean;

  @Field(() => Date, { nullable: true })
  expiredAt: Date | null;

  @Field()
  obsolete: boolean;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

@Directive('@key(fields: "scope name rse { name }")')
@ObjectType({ description: "A copy of a file on an RSE." })
export class Replica {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Directive("@shareable")
  @Field({ description: "Code of the facility that holds the replica (its RSE's facility); facility subgraphs route on it." })
  facilityCode: string;

  @Field(() => ReplicaState)
  state: ReplicaState;

  @Field(() => Float)
  bytes: number;

  @Field({ description: "Path of the file relative to the RSE's root or bucket prefix." })
  path: string;

  @Field(() => Int, { description: "How many replication-rule locks protect this replica." })
  lockCount: number;

  @Field(() => Date, { nullable: true, description: "When set, the replica may be deleted from that time on." })
  tombstone: Date | null;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

@ObjectType({ description: "A namespace for DIDs." })
export class Scope {
  @Field()
  name: string;

  @Field()
  account: string;

  @Field()
  createdAt: Date;
}

@ObjectType({ description: "What a bulk mutation did." })
export class BulkResult {
  @Field(() => Int, { description: "How many items were written." })
  count: number;
}

@ObjectType({ description: "Why reportTransfers did not take one report." })
export class TransferReportError {
  @Field({ description: "TRANSFER_NOT_FOUND (no such request at the agent's facilities) or LEASE_LOST (drop the work: the request is, or will be, handed out again)." })
  code: string;

  @Field()
  message: string;
}

@ObjectType({ description: "What announceLargeFile did with a largeFileObjectAvailable event." })
export class LargeFileAnnouncement {
  @Field({ description: "False when the same event was announced before: nothing changed." })
  created: boolean;

  @Field(() => Did, { description: "The file: scope lfa, named by its object key, the event as its metadata, its object key as its path." })
  did: unknown;

  @Field(() => Replica, { nullable: true, description: "Its replica on the Large File Annex RSE; null when that copy was deleted since." })
  replica: unknown;
}

export const DidConnection = Connection(Did, "Did");
export const ReplicaConnection = Connection(Replica, "Replica");

export { GraphQLJSON, GraphQLJSONObject };

export enum RuleGrouping {
  ALL = "ALL",
  DATASET = "DATASET",
  NONE = "NONE",
}
registerEnumType(RuleGrouping, {
  name: "RuleGrouping",
  description: "ALL: the same RSEs for all files; DATASET: the same RSEs per dataset; NONE: chosen per file.",
});

export enum RuleState {
  OK = "OK",
  REPLICATING = "REPLICATING",
  STUCK = "STUCK",
  SUSPENDED = "SUSPENDED",
}
registerEnumType(RuleState, { name: "RuleState" });

export enum LockState {
  OK = "OK",
  REPLICATING = "REPLICATING",
  STUCK = "STUCK",
}
registerEnumType(LockState, { name: "LockState" });

export enum RequestState {
  QUEUED = "QUEUED",
  SUBMITTED = "SUBMITTED",
  DONE = "DONE",
  FAILED = "FAILED",
}
registerEnumType(RequestState, { name: "RequestState" });

export enum TransferOutcomeKind {
  DONE = "DONE",
  FAILED = "FAILED",
}
registerEnumType(TransferOutcomeKind, { name: "TransferOutcomeKind" });

@Directive('@key(fields: "id")')
@ObjectType({ description: "A replication rule: `copies` copies of a DID's files on RSEs an expression selects, until it expires." })
export class Rule {
  @Field()
  id: string;

  @Field({ description: "The token subject that made the rule." })
  account: string;

  @Field()
  rseExpression: string;

  @Field(() => Int)
  copies: number;

  @Field(() => RuleGrouping)
  grouping: RuleGrouping;

  @Field(() => String, { nullable: true })
  sourceReplicaExpression: string | null;

  @Field(() => Date, { nullable: true })
  expiresAt: Date | null;

  @Field()
  activity: string;

  @Field(() => Int, { description: "1 (lowest) to 5 (highest)." })
  priority: number;

  @Field()
  purgeReplicas: boolean;

  @Field({ description: "A locked rule cannot be deleted and does not expire." })
  locked: boolean;

  @Field(() => String, { nullable: true })
  comment: string | null;

  @Field(() => RuleState)
  state: RuleState;

  @Field(() => Int)
  locksOk: number;

  @Field(() => Int)
  locksReplicating: number;

  @Field(() => Int)
  locksStuck: number;

  @Field(() => String, { nullable: true, description: "The last transfer error that made a lock STUCK." })
  error: string | null;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

@Directive('@key(fields: "ruleId scope name rse { name }")')
@ObjectType({ description: "A rule's claim on one file's copy at one RSE." })
export class Lock {
  @Field()
  ruleId: string;

  @Field()
  scope: string;

  @Field()
  name: string;

  @Field(() => LockState)
  state: LockState;

  @Field(() => Float)
  bytes: number;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

@Directive('@key(fields: "id")')
@ObjectType({ description: "A file to copy to a destination RSE; the source is chosen when an agent claims it." })
export class TransferRequest {
  @Field()
  id: string;

  @Field(() => RequestState)
  state: RequestState;

  @Field(() => Int, { description: "Failed attempts so far." })
  attempts: number;

  @Field()
  nextAttemptAt: Date;

  @Field(() => String, { nullable: true })
  lastError: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "Why the last attempt failed: the agent's reason (SOURCE_MISSING, SOURCE_DENIED, DESTINATION_DENIED, DESTINATION_FULL, CHECKSUM_MISMATCH, NETWORK, TIMEOUT), TRANSFER_ERROR when it gave none, or CANCELLED.",
  })
  errorCode: string | null;

  @Field(() => Float)
  bytes: number;

  @Field()
  activity: string;

  @Field(() => Int)
  priority: number;

  @Field(() => String, { nullable: true, description: "The agent (token subject) holding it." })
  claimedBy: string | null;

  @Field(() => Date, { nullable: true })
  leaseExpiresAt: Date | null;

  @Field(() => String, { nullable: true, description: "The lease, shown only to the agent that just claimed the request." })
  lease: string | null;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;

  @Field(() => Date, { nullable: true })
  finishedAt: Date | null;

  @Field(() => Date, { nullable: true, description: "When an agent last claimed it." })
  submittedAt: Date | null;

  @Field(() => String, { nullable: true, description: "The file's path on the destination RSE, relative to its root or bucket prefix." })
  destinationPath: string | null;

  @Field(() => String, { nullable: true, description: "The file's path on the source RSE, once an agent claimed the request." })
  sourcePath: string | null;
}

@ObjectType({ description: "A replica handed to an agent for deletion." })
export class Deletion {
  @Field({ description: "The replica's id; report with it." })
  id: string;

  @Field()
  lease: string;

  @Field({ description: "Path of the object relative to the RSE root or bucket prefix." })
  path: string;

  @Field(() => Float)
  bytes: number;

  @Field(() => String, { nullable: true, description: "The campaign removal that planned this deletion, if one did (tell it to the facility with the departure)." })
  removal: string | null;
}

@ObjectType({ description: "A state change in the catalog." })
export class CatalogEvent {
  @Field({ description: "Increasing; also the cursor." })
  id: string;

  @Field()
  type: string;

  @Field(() => String, { nullable: true })
  facility: string | null;

  @Field(() => GraphQLJSONObject, { description: "Names the DID, RSE, facility, rule or request concerned." })
  payload: Record<string, unknown>;

  @Field()
  createdAt: Date;
}

export const RuleConnection = Connection(Rule, "Rule");
export const LockConnection = Connection(Lock, "Lock");
export const TransferRequestConnection = Connection(TransferRequest, "TransferRequest");
export const EventConnection = Connection(CatalogEvent, "CatalogEvent");

export enum CatalogWorkerState {
  ALIVE = "ALIVE",
  LATE = "LATE",
  STOPPED = "STOPPED",
}
registerEnumType(CatalogWorkerState, {
  name: "CatalogWorkerState",
  description: "ALIVE: beat within three judge intervals. LATE: silent longer (crashed or hung; its work is taken by the others). STOPPED: stopped cleanly.",
});

@ObjectType({ description: "A catalog process sharing the catalog's database, with its last heartbeat." })
export class CatalogWorker {
  @Field()
  id: string;

  @Field()
  host: string;

  @Field(() => Int)
  pid: number;

  @Field({ description: "The code version it runs." })
  version: string;

  @Field(() => CatalogWorkerState)
  state: CatalogWorkerState;

  @Field()
  startedAt: Date;

  @Field()
  lastBeat: Date;

  @Field(() => Date, { nullable: true })
  stoppedAt: Date | null;
}

@ObjectType({ description: "What reportTransfers did with one report: the request as it is now, or why the report was not taken." })
export class TransferReportResult {
  @Field({ description: "The request reported, as given." })
  id: string;

  @Field(() => TransferRequest, { nullable: true, description: "The request after the report (null when it was not taken)." })
  request: TransferRequest | null;

  @Field(() => TransferReportError, { nullable: true })
  error: TransferReportError | null;
}
