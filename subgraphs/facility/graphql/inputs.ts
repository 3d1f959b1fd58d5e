import { GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, InputType, Int } from "type-graphql";
import { IdGenerationMode } from "./types";

@InputType({ description: "A dimension record: the element (exposure, visit, detector, …) and its fields as daf_butler's toDict (timespan as {begin, end} or timespan_begin/timespan_end, ISO 8601 UTC)." })
export class DimensionRecordInput {
  @Field()
  element: string;

  @Field(() => GraphQLJSONObject)
  record: Record<string, unknown>;
}

@InputType()
export class DatasetTypeInput {
  @Field()
  name: string;

  @Field(() => [String], { description: "Dimension names; implied ones are added." })
  dimensions: string[];

  @Field()
  storageClass: string;

  @Field(() => Boolean, { nullable: true })
  isCalibration?: boolean | null;

  @Field(() => [String], { nullable: true })
  components?: string[] | null;
}

@InputType({ description: "A file of a dataset." })
export class FileRecordInput {
  @Field({ description: "Path in the Butler datastore (relative to its root), as daf_butler records it." })
  path: string;

  @Field(() => String, { nullable: true, description: "Fully qualified formatter class." })
  formatter?: string | null;

  @Field(() => String, { nullable: true, description: "Defaults to the dataset type's storage class." })
  storageClass?: string | null;

  @Field(() => String, { nullable: true })
  component?: string | null;

  @Field(() => String, { nullable: true })
  checksum?: string | null;

  @Field(() => Float, { nullable: true })
  fileSize?: number | null;

  @Field(() => String, { nullable: true, description: "Scope of the DID (replicated file) this file is." })
  scope?: string | null;

  @Field(() => String, { nullable: true, description: "Name of the DID (replicated file) this file is." })
  name?: string | null;
}

@InputType()
export class IngestDatasetInput {
  @Field()
  datasetType: string;

  @Field()
  run: string;

  @Field(() => GraphQLJSONObject, { description: "Dimension values; the required ones at least." })
  dataId: Record<string, unknown>;

  @Field(() => String, { nullable: true, description: "The dataset ID; made from idGenerationMode when absent." })
  id?: string | null;

  @Field(() => IdGenerationMode, { nullable: true, description: "Default DATAID_TYPE_RUN." })
  idGenerationMode?: IdGenerationMode | null;

  @Field(() => [FileRecordInput], { nullable: true })
  files?: FileRecordInput[] | null;
}

@InputType()
export class IngestDatasetsInput {
  @Field(() => [DimensionRecordInput], { nullable: true, description: "Inserted, or checked against the stored records (DIMENSION_CONFLICT)." })
  dimensionRecords?: DimensionRecordInput[] | null;

  @Field(() => [DatasetTypeInput], { nullable: true, description: "Registered when missing; must match when present." })
  datasetTypes?: DatasetTypeInput[] | null;

  @Field(() => Boolean, { nullable: true, description: "Create missing RUN collections (default false: COLLECTION_NOT_FOUND)." })
  createRuns?: boolean | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      "Keep a stored dimension record that differs from the given one with the same key, as `butler import` does, and report it in conflictingRecordsKept (default false: DIMENSION_CONFLICT).",
  })
  keepStoredRecords?: boolean | null;

  @Field(() => [IngestDatasetInput])
  datasets: IngestDatasetInput[];
}

export { GraphQLJSON };

@InputType()
export class AgentErrorInput {
  @Field()
  code: string;

  @Field()
  message: string;

  @Field({ description: "ISO 8601 time." })
  at: string;
}

@InputType({ description: "What an agent reports of itself every agent.reportSeconds." })
export class AgentStatusInput {
  @Field({ description: "Stable for the process: `<subject>@<host>:<pid>`." })
  id: string;

  @Field()
  host: string;

  @Field(() => Int)
  pid: number;

  @Field()
  version: string;

  @Field(() => Int)
  streams: number;

  @Field(() => Int)
  activeTransfers: number;

  @Field(() => Float)
  bytesPerSecond: number;

  @Field(() => Float)
  bytesTotal: number;

  @Field(() => Float)
  transfersDone: number;

  @Field(() => Float)
  transfersFailed: number;

  @Field(() => Float)
  deletionsDone: number;

  @Field(() => [AgentErrorInput])
  recentErrors: AgentErrorInput[];

  @Field(() => Float)
  reportSeconds: number;

  @Field(() => Boolean, { nullable: true, description: "true in the last report of an agent stopping cleanly." })
  stopped?: boolean | null;
}

@InputType({
  description:
    "A file that arrived at this facility. The metadata is read in this order: the DID's rubin_butler / rubin_sidecar; the raw FITS header; the sidecar. A file with none of them is NOT_A_DATASET.",
})
export class ArrivalInput {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Field({ description: "The RSE the file arrived at." })
  rse: string;

  @Field({ description: "The file's path in the facility's store; becomes the file record's path." })
  path: string;

  @Field(() => Float, { nullable: true })
  bytes?: number | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "The DID's metadata (rubin_butler, rubin_sidecar = DatasetRef.to_json() text or object)." })
  metadata?: Record<string, unknown> | null;

  @Field(() => String, {
    nullable: true,
    description: "A FITS file's primary header as text: its bytes up to and including END read as Latin-1 (80-character cards, no separators), or one card a line.",
  })
  header?: string | null;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description: "The file's astro_metadata_translator sidecar (NAME.json or NAME.yaml, read into an object), or the batch's _index.json (its entry for this file's name is used).",
  })
  sidecar?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true, description: "rubin_butler zip_file: the text of its _butler_zip_index.json; dim_file: the file's text (a Butler YAML export)." })
  butlerFile?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The Butler instrument the agent's configuration gives the file's source (agent.lfaIngest), for products whose header names their device, not a camera (an electrometer's photodiode readings).",
  })
  instrument?: string | null;
}

@InputType({ description: "A file the facility's agent deleted." })
export class DepartureInput {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Field(() => String, { nullable: true, description: "The catalog's campaign removal the file was deleted for: what goes is counted toward it, and runs it empties are removed." })
  removal?: string | null;
}
