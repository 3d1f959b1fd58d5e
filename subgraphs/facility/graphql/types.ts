import { GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { Connection } from "../../../lib/connection";

export enum CollectionType {
  RUN = "RUN",
  TAGGED = "TAGGED",
  CHAINED = "CHAINED",
  CALIBRATION = "CALIBRATION",
}
registerEnumType(CollectionType, {
  name: "CollectionType",
  description: "RUN: where datasets are written. TAGGED: a chosen set. CHAINED: an ordered search path. CALIBRATION: datasets certified with validity ranges.",
});

export enum IdGenerationMode {
  UNIQUE = "UNIQUE",
  DATAID_TYPE = "DATAID_TYPE",
  DATAID_TYPE_RUN = "DATAID_TYPE_RUN",
}
registerEnumType(IdGenerationMode, {
  name: "IdGenerationMode",
  description: "How a dataset ID is made when none is given, as daf_butler's DatasetIdGenEnum: a random UUID4, or a UUID5 of the dataset type and data ID (and run).",
});

@Directive('@key(fields: "code")')
@ObjectType({ description: "A data facility; this subgraph adds the facility's Butler registry view." })
export class Facility {
  @Field()
  code: string;
}

@ObjectType({ description: "A dataset type: the dimensions of its data IDs, its storage class, whether it is a calibration." })
export class DatasetType {
  @Field()
  name: string;

  @Field(() => [String], { description: "The full dimension group (required and implied), in universe order." })
  dimensions: string[];

  @Field(() => [String], { description: "The dimensions a data ID must give (the group's required dimensions)." })
  requiredDimensions: string[];

  @Field()
  storageClass: string;

  @Field()
  isCalibration: boolean;

  @Field(() => [String])
  components: string[];
}

@ObjectType({ description: "A Butler collection." })
export class ButlerCollection {
  @Field()
  name: string;

  @Field(() => CollectionType)
  type: CollectionType;

  @Field(() => String, { nullable: true })
  doc: string | null;

  @Field(() => [String], { description: "Children of a CHAINED collection, in search order (empty otherwise)." })
  children: string[];
}

@ObjectType({ description: "A file of a dataset: where the Butler datastore keeps it, and the replicated file (DID) it came from." })
export class ButlerFileRecord {
  @Field()
  path: string;

  @Field()
  formatter: string;

  @Field()
  storageClass: string;

  @Field(() => String, { nullable: true, description: "The component this file holds, null for the whole dataset." })
  component: string | null;

  @Field(() => String, { nullable: true })
  checksum: string | null;

  @Field(() => Float, { nullable: true, description: "Size in bytes." })
  fileSize: number | null;

  @Field(() => String, { nullable: true, description: "Scope of the DID the file came from." })
  scope: string | null;

  @Field(() => String, { nullable: true, description: "Name of the DID the file came from." })
  name: string | null;
}

@Directive('@key(fields: "facility id")')
@ObjectType({ description: "A dataset of a facility's Butler registry." })
export class ButlerDataset {
  @Field({ description: "Code of the facility whose registry holds the dataset." })
  facility: string;

  @Field(() => ID, { description: "The dataset ID (a UUID)." })
  id: string;

  @Field({ description: "Name of the dataset type." })
  datasetType: string;

  @Field({ description: "The RUN collection the dataset was written to." })
  run: string;

  @Field(() => GraphQLJSONObject, { description: "The data ID: required and implied dimension values, in universe order." })
  dataId: Record<string, unknown>;

  @Field()
  ingestDate: Date;
}

@ObjectType({ description: "A dimension record (exposure, visit, detector, …), as daf_butler's DimensionRecord.toDict." })
export class DimensionRecord {
  @Field()
  element: string;

  @Field(() => GraphQLJSONObject, { description: "The record's data ID: its required dimensions and its own key." })
  dataId: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, { description: "All fields; timespan as {begin, end} (UTC, null = unbounded); regions as stored text." })
  record: Record<string, unknown>;
}

@Directive('@key(fields: "scope name facilityCode")')
@ObjectType({ description: "A replica of a file at a facility (the catalog owns it); this subgraph adds what the file became in the facility's Butler." })
export class Replica {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Field()
  facilityCode: string;
}

@ObjectType({
  description:
    "A dimension record that differed from the stored record with its key; the stored record was kept (an import, or ingestDatasets with keepStoredRecords).",
})
export class KeptRecordConflict {
  @Field()
  element: string;

  @Field(() => GraphQLJSONObject, { description: "The record's primary key values (its required dimensions and its own key)." })
  key: Record<string, unknown>;

  @Field(() => [String], { description: "The fields that differ (timespan and region count as one field each)." })
  fields: string[];

  @Field(() => GraphQLJSONObject, { description: "Those fields as stored, and kept." })
  stored: Record<string, unknown>;

  @Field(() => GraphQLJSONObject, { description: "Those fields as given, and not written." })
  given: Record<string, unknown>;
}

@ObjectType({ description: "What ingestDatasets did." })
export class IngestResult {
  @Field(() => [ButlerDataset], { description: "The datasets, in input order (a repeated dataset appears again)." })
  datasets: ButlerDataset[];

  @Field(() => Int)
  datasetsInserted: number;

  @Field(() => Int)
  dimensionRecordsInserted: number;

  @Field(() => Int)
  fileRecordsInserted: number;

  @Field(() => Int, { description: "Given dimension records that differed from the stored ones with their keys; the stored ones were kept (always 0 unless keepStoredRecords)." })
  conflictingRecordsKept: number;

  @Field(() => [KeptRecordConflict], { description: "The first five of those, in input order." })
  conflictingRecordExamples: KeptRecordConflict[];
}

@ObjectType({ description: "What an import did." })
export class ImportResult {
  @Field({ description: "YAML (daf_butler export) or ZIP_INDEX (Butler zip index JSON)." })
  format: string;

  @Field(() => Int)
  datasetTypes: number;

  @Field(() => Int)
  collections: number;

  @Field(() => Int)
  dimensionRecordsInserted: number;

  @Field(() => Int, { description: "Datasets in the file." })
  datasets: number;

  @Field(() => Int, { description: "Datasets that were new." })
  datasetsInserted: number;

  @Field(() => Int)
  associations: number;

  @Field(() => Int, { description: "Given dimension records that differed from the stored ones with their keys; the stored ones were kept." })
  conflictingRecordsKept: number;

  @Field(() => [KeptRecordConflict], { description: "The first five of those, in input order." })
  conflictingRecordExamples: KeptRecordConflict[];
}

export const ButlerDatasetConnection = Connection(ButlerDataset, "ButlerDataset");
export const DimensionRecordConnection = Connection(DimensionRecord, "DimensionRecord");

export { GraphQLJSON, GraphQLJSONObject };

export enum AgentState {
  ALIVE = "ALIVE",
  LATE = "LATE",
  STOPPED = "STOPPED",
}
registerEnumType(AgentState, {
  name: "AgentState",
  description: "ALIVE: reported within three report intervals. LATE: silent longer (stuck or dead; its leases lapse and others take its work). STOPPED: stopped cleanly.",
});

@ObjectType({ description: "An error an agent met recently, newest first." })
export class AgentError {
  @Field({ description: "SOURCE_MISSING, SOURCE_DENIED, DESTINATION_DENIED, DESTINATION_FULL, CHECKSUM_MISMATCH, NETWORK, TIMEOUT, LEASE_LOST, …" })
  code: string;

  @Field()
  message: string;

  @Field()
  at: Date;
}

@ObjectType({ description: "A transfer agent of the facility, as it last reported itself." })
export class Agent {
  @Field({ description: "`<token subject>@<host>:<pid>`." })
  id: string;

  @Field({ description: "The token subject it acts as (TransferRequest.claimedBy)." })
  subject: string;

  @Field()
  host: string;

  @Field(() => Int)
  pid: number;

  @Field()
  version: string;

  @Field(() => AgentState)
  state: AgentState;

  @Field(() => Int, { description: "Copies it runs at once at most (agent.streams)." })
  streams: number;

  @Field(() => Int)
  activeTransfers: number;

  @Field(() => Float, { description: "Bytes written per second over the last report interval." })
  bytesPerSecond: number;

  @Field(() => Float, { description: "Bytes written since it started." })
  bytesTotal: number;

  @Field(() => Float)
  transfersDone: number;

  @Field(() => Float)
  transfersFailed: number;

  @Field(() => Float)
  deletionsDone: number;

  @Field(() => [AgentError])
  recentErrors: AgentError[];

  @Field()
  startedAt: Date;

  @Field()
  lastSeen: Date;
}

@ObjectType({ description: "Why no read URL was signed for a request." })
export class ReadUrlError {
  @Field({ description: "FORBIDDEN (not a request the catalog handed to the caller's facility with this facility as source), OBJECT_NOT_FOUND, STORAGE_DENIED, STORAGE_ERROR." })
  code: string;

  @Field()
  message: string;
}

@ObjectType({ description: "A signed URL of a place where a sidecar of the file may be (a GET answers 404 when there is none)." })
export class SidecarUrl {
  @Field({ description: "The sidecar's path at the source, beside the file." })
  path: string;

  @Field({ description: "file: NAME.json or NAME.yaml of this file; index: its folder's _index.json." })
  kind: string;

  @Field()
  url: string;
}

@ObjectType({ description: "A short-lived URL to read one file from this facility's storage, for an agent of another facility." })
export class ReadUrl {
  @Field({ description: "The transfer request it is for." })
  request: string;

  @Field(() => String, { nullable: true, description: "GET it (range requests supported) until expiresAt; null with an error." })
  url: string | null;

  @Field(() => Date, { nullable: true })
  expiresAt: Date | null;

  @Field(() => ReadUrlError, { nullable: true })
  error: ReadUrlError | null;

  @Field(() => [SidecarUrl], { nullable: true, description: "With readUrls(sidecars: true): where the file's sidecars may be, signed alike." })
  sidecars?: SidecarUrl[] | null;
}

export enum IngestState {
  PENDING = "PENDING",
  INGESTED = "INGESTED",
  FAILED = "FAILED",
  NOT_A_DATASET = "NOT_A_DATASET",
}
registerEnumType(IngestState, {
  name: "IngestState",
  description:
    "What an arrived file became in the facility's Butler: PENDING (taken by a retry round, being ingested again), INGESTED, FAILED (the error is kept; retried with backoff), NOT_A_DATASET (no Butler dataset: replicated without ingest).",
});

@ObjectType({ description: "Why an ingest failed: a stable code (BAD_FITS_HEADER, BAD_HEADER_CARD, BAD_SIDECAR, BAD_BUTLER_METADATA, UNSUPPORTED_INSTRUMENT, DIMENSION_RECORD_MISSING, …) and a message." })
export class IngestError {
  @Field()
  code: string;

  @Field()
  message: string;
}

@ObjectType({ description: "The ingest of a replica's file into its facility's Butler registry." })
export class ReplicaIngest {
  @Field(() => IngestState)
  state: IngestState;

  @Field(() => IngestError, { nullable: true })
  error: IngestError | null;

  @Field(() => Int, { description: "Ingest attempts so far." })
  attempts: number;

  @Field(() => String, { nullable: true, description: "The dataset the file became (for a zip, its first dataset); null until ingested, and for NOT_A_DATASET." })
  datasetId: string | null;

  @Field(() => String, { nullable: true, description: "Where the metadata came from: rubin_sidecar, zip_index, dim_file, header, sidecar, none." })
  source: string | null;

  @Field(() => String, { nullable: true, description: "When the next retry is due (ISO 8601); null when none is." })
  nextAttemptAt: string | null;
}

@ObjectType({ description: "What recordArrivals did with one file." })
export class ArrivalResult extends ReplicaIngest {
  @Field()
  scope: string;

  @Field()
  name: string;
}

@ObjectType({ description: "What recordDepartures removed." })
export class DepartureResult {
  @Field(() => Int, { description: "Files told." })
  files: number;

  @Field(() => Int, { description: "Butler datasets removed (those ingested from the files, or recorded with them)." })
  datasetsRemoved: number;

  @Field(() => [RemovalTotals], { description: "Per campaign removal named in the call: what this registry removed for it so far." })
  removals: RemovalTotals[];
}

@ObjectType({ description: "What a facility's registry removed for one campaign removal of the catalog, in all." })
export class RemovalTotals {
  @Field({ description: "The catalog's removal id." })
  removal: string;

  @Field(() => Int)
  datasetsRemoved: number;

  @Field(() => Int, { description: "RUN collections it emptied and removed." })
  runsRemoved: number;

  @Field(() => Int, { description: "Named TAGGED, CHAINED and CALIBRATION collections it left empty and removed." })
  collectionsRemoved: number;
}

@ObjectType({ description: "A file (a catalog DID) of a dataset at this facility, as a campaign removal plans with it." })
export class ObsoleteFile {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Field()
  datasetId: string;

  @Field({ description: "The dataset's RUN collection." })
  run: string;
}

@ObjectType({ description: "A page of files for a campaign removal." })
export class ObsoleteFilePage {
  @Field(() => [ObsoleteFile])
  nodes: ObsoleteFile[];

  @Field()
  hasNextPage: boolean;

  @Field(() => String, { nullable: true, description: "Pass as `after` to get the next page." })
  endCursor: string | null;
}
