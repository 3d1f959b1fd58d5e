import { GraphQLJSON, GraphQLJSONObject } from "graphql-scalars";
import { Field, Float, InputType } from "type-graphql";
import { DidType, ReplicaState, RseKind } from "./types";

@InputType({ description: "S3: endpoint (http(s) URL), bucket and optional prefix. POSIX: root (absolute path)." })
export class RseProtocolInput {
  @Field(() => String, { nullable: true })
  endpoint?: string | null;

  @Field(() => String, { nullable: true })
  bucket?: string | null;

  @Field(() => String, { nullable: true })
  prefix?: string | null;

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
