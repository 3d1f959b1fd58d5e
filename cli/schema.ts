import { printSubgraphSchema } from "@apollo/subgraph";
import { buildFacilitySchema } from "../subgraphs/facility/schema";
import { buildReplicasSchema } from "../subgraphs/replicas/schema";

/** The SDL of each subgraph as checked in under schema/ (a test fails when they drift). */
export async function subgraphSdl(): Promise<Record<string, string>> {
  return {
    "replicas.graphql": printSubgraphSchema(await buildReplicasSchema()),
    "facility.graphql": printSubgraphSchema(await buildFacilitySchema()),
  };
}
