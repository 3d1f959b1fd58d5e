import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

/** The two subgraphs of the supergraph: the central catalog and the (per-facility) registry view. */
export interface SubgraphSdl {
  catalog: string;
  facility: string;
}

/**
 * Composes the supergraph (Apollo Federation 2) from the subgraphs' SDL. The gateway composes
 * from the SDL its own code defines, so it starts while subgraphs are down, and checks that
 * every endpoint serves exactly that SDL. Throws with the composition errors when they do not
 * compose.
 */
export function composeSupergraph(sdl: SubgraphSdl, urls: { catalog: string; facility?: string }): string {
  const result = composeServices([
    { name: "catalog", typeDefs: parse(sdl.catalog), url: urls.catalog },
    { name: "facility", typeDefs: parse(sdl.facility), url: urls.facility ?? "http://facility-router.invalid/graphql" },
  ]);
  if (result.errors) {
    throw new Error(`the subgraphs do not compose:\n${result.errors.map((e) => `- ${e.message}`).join("\n")}`);
  }
  return result.supergraphSdl;
}
