import { printSubgraphSchema } from "@apollo/subgraph";
import { localSubgraphSdl } from "../gateway/local-sdl";
import { composeSupergraph } from "../gateway/supergraph";
import { buildFacilitySchema } from "../subgraphs/facility/schema";
import { buildReplicasSchema } from "../subgraphs/replicas/schema";

/**
 * The SDL of each subgraph and the composed supergraph, as checked in under schema/ (a test
 * fails when they drift, or when the subgraphs no longer compose).
 */
export async function subgraphSdl(): Promise<Record<string, string>> {
  return {
    "replicas.graphql": printSubgraphSchema(await buildReplicasSchema()),
    "facility.graphql": printSubgraphSchema(await buildFacilitySchema()),
    "supergraph.graphql": composeSupergraph(await localSubgraphSdl(), { catalog: "http://127.0.0.1:4001/graphql" }),
  };
}
