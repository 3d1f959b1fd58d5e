import { graphql, GraphQLSchema } from "graphql";
import { buildFacilitySchema } from "../subgraphs/facility/schema";
import { buildReplicasSchema } from "../subgraphs/replicas/schema";
import type { SubgraphSdl } from "./supergraph";

/** What a subgraph answers to `{ _service { sdl } }`, computed from its schema here. */
export async function serviceSdl(schema: GraphQLSchema): Promise<string> {
  const res = await graphql({ schema, source: "{ _service { sdl } }" });
  const sdl = (res.data as { _service?: { sdl?: string } } | null)?._service?.sdl;
  if (!sdl) throw new Error(`the subgraph schema has no _service.sdl: ${JSON.stringify(res.errors)}`);
  return sdl;
}

/**
 * The SDL this code version's subgraphs serve: the gateway composes from it, and expects every
 * endpoint to serve exactly it.
 */
export async function localSubgraphSdl(): Promise<SubgraphSdl> {
  return { catalog: await serviceSdl(await buildReplicasSchema()), facility: await serviceSdl(await buildFacilitySchema()) };
}
