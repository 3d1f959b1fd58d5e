import { GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, InputType, Int } from "type-graphql";
import { DidType, ReplicaState, RequestState, RseKind, RuleGrouping, RuleState, TransferOutcomeKind } from "./types";

@InputType({ description: "S3: endpoint (http(s) URL), bucket, optional prefix and region. POSIX: root (absolute path)." })
export class RseProtocolInput {
  @Field(() => String, { nullable: true })
  endpoint?: string | null;

  @Field(() => String, { nullable: true })
  bucket?: string | null;

  @Field(() => String, { nullable: true })
  prefix?: string | null;

  @Field(() => String, { nullable: true, description: "S3 only: the region to sign requests for, e.g. us-east-1 (the default)." })
  region?: string | null;

  @Field(() => String, { nullable: true })
  root?: string | null;
}

@InputType()
export class AddRseInput {
  @Field({ description: "Upper case, e.g. FRDF_DISK." })
  name: string;

  @Field({ description: "Facility code; an unknown code creates the facility." })
  facility: string;

  @Field(() => String, { nullable: true, description: "Description of the facility, used when the facility is new." })
  facilityDescription?: string | null;

  @Field(() => RseKind)
  kind: RseKind;

  @Field(() => RseProtocolInput)
  protocol: RseProtocolInput;

  @Field(() => GraphQLJSONObject, { nullable: true, description: 'Attribute key → string, number or boolean, e.g. {"tier": 1, "istape": false}.' })
  attributes?: Record<string, unknown> | null;

  @Field(() => Boolean, { nullable: true })
  availabilityRead?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  availabilityWrite?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  availabilityDelete?: boolean | null;
}

@InputType()
export class DidRefInput {
  @Field()
  scope: string;

  @Field()
  name: string;
}

@InputType()
export class AddDidInput {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Field(() => DidType)
  type: DidType;

  @Field(() => Float, { nullable: true, description: "Size in bytes; required for files." })
  bytes?: number | null;

  @Field(() => String, { nullable: true, description: "8 hex digits." })
  adler32?: string | null;

  @Field(() => String, { nullable: true, description: "32 hex digits." })
  md5?: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true })
  metadata?: Record<string, unknown> | null;

  @Field(() => Boolean, { nullable: true, description: "Datasets and containers start open unless false." })
  open?: boolean | null;
}

@InputType()
export class AddReplicaInput {
  @Field()
  scope: string;

  @Field()
  name: string;

  @Field(() => Float, { nullable: true, description: "When given, must equal the file's size." })
  bytes?: number | null;

  @Field(() => String, { nullable: true, description: "Relative to the RSE root/prefix; defaults to the deterministic path." })
  path?: string | null;

  @Field(() => ReplicaState, { nullable: true, description: "Defaults to AVAILABLE." })
  state?: ReplicaState | null;
}

export { GraphQLJSON };

@InputType()
export class AddRuleInput {
  @Field(() => DidRefInput)
  did: DidRefInput;

  @Field()
  rseExpression: string;

  @Field(() => Int, { nullable: true, description: "Default 1." })
  copies?: number | null;

  @Field(() => RuleGrouping, { nullable: true, description: "Default DATASET." })
  grouping?: RuleGrouping | null;

  @Field(() => String, { nullable: true, description: "Copy only from AVAILABLE replicas on these RSEs." })
  sourceReplicaExpression?: string | null;

  @Field(() => Int, { nullable: true, description: "Seconds until the rule expires; none = forever." })
  lifetime?: number | null;

  @Field(() => String, { nullable: true })
  activity?: string | null;

  @Field(() => Int, { nullable: true, description: "1 (lowest) to 5 (highest), default 3." })
  priority?: number | null;

  @Field(() => Boolean, { nullable: true, description: "On deletion, make unprotected replicas due for deletion at once." })
  purgeReplicas?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  locked?: boolean | null;

  @Field(() => String, { nullable: true })
  comment?: string | null;
}

@InputType()
export class UpdateRuleInput {
  @Field(() => Int, { nullable: true, description: "New lifetime in seconds, from now." })
  lifetime?: number | null;

  @Field(() => Boolean, { nullable: true })
  locked?: boolean | null;

  @Field(() => String, { nullable: true })
  comment?: string | null;

  @Field(() => String, { nullable: true })
  activity?: string | null;

  @Field(() => Int, { nullable: true })
  priority?: number | null;
}

@InputType()
export class RuleFilterInput {
  @Field(() => RuleState, { nullable: true })
  state?: RuleState | null;

  @Field(() => String, { nullable: true })
  account?: string | null;

  @Field(() => String, { nullable: true })
  scope?: string | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  activity?: string | null;

  @Field(() => String, { nullable: true, description: "Only the rules this subscription (by name) created." })
  subscription?: string | null;
}

@InputType()
export class TransferFilterInput {
  @Field(() => RequestState, { nullable: true })
  state?: RequestState | null;

  @Field(() => String, { nullable: true })
  destinationRse?: string | null;

  @Field(() => String, { nullable: true })
  sourceRse?: string | null;

  @Field(() => String, { nullable: true, description: "The destination's facility." })
  facility?: string | null;

  @Field(() => String, { nullable: true })
  scope?: string | null;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true })
  ruleId?: string | null;
}

@InputType()
export class TransferOutcomeInput {
  @Field(() => TransferOutcomeKind)
  outcome: TransferOutcomeKind;

  @Field(() => Float, { nullable: true, description: "Bytes written at the destination (required for DONE)." })
  bytes?: number | null;

  @Field(() => String, { nullable: true })
  adler32?: string | null;

  @Field(() => String, { nullable: true })
  md5?: string | null;

  @Field(() => String, { nullable: true })
  error?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "Why a FAILED copy failed: SOURCE_MISSING, SOURCE_DENIED, DESTINATION_DENIED, DESTINATION_FULL, CHECKSUM_MISMATCH, NETWORK or TIMEOUT.",
  })
  errorCode?: string | null;
}

@InputType({ description: "One report of reportTransfers: a claimed request, its lease, and what became of the copy." })
export class TransferReportInput {
  @Field({ description: "The transfer request's id." })
  id: string;

  @Field({ description: "The lease the claim handed out." })
  lease: string;

  @Field(() => TransferOutcomeInput)
  outcome: TransferOutcomeInput;
}

@InputType()
export class DeletionOutcomeInput {
  @Field({ description: "true when the object is gone (or was already gone)." })
  ok: boolean;

  @Field(() => String, { nullable: true })
  error?: string | null;
}

@InputType({
  description:
    "A largeFileObjectAvailable event as ts_xml defines it (SALGenerics), with the CSC that published it. Fields left out take SAL's defaults (\"\" and 0), as CSCs that set only url and generator send them.",
})
export class LargeFileObjectAvailableInput {
  @Field({ description: "The SAL component (CSC) that published the event, e.g. Electrometer, ATHeaderService." })
  csc: string;

  @Field(() => Int, { nullable: true, description: "Its SAL index (salIndex); 0 or absent for a CSC that is not indexed." })
  salIndex?: number | null;

  @Field({ description: "Where the file is: <S3_ENDPOINT_URL>/<bucket>/<key> (ts_salobj AsyncS3Bucket.upload), or s3://<bucket>/<key>." })
  url: string;

  @Field(() => String, { nullable: true, description: "Name of the package that generated the file." })
  generator?: string | null;

  @Field(() => Float, { nullable: true, description: "The file format's x.y version." })
  version?: number | null;

  @Field(() => Float, { nullable: true, description: "Size of the file in bytes; 0 when the CSC did not say." })
  byteSize?: number | null;

  @Field(() => String, { nullable: true, description: "The file's md5 as 32 hex digits; empty when the CSC did not say." })
  checkSum?: string | null;

  @Field(() => String, { nullable: true, description: "The file's MIME type code, e.g. FITS, YAML." })
  mimeType?: string | null;

  @Field(() => String, { nullable: true, description: "A generic identifier (the HeaderService and ts_electrometer put the image name or group there)." })
  id?: string | null;
}
