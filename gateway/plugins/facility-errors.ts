import type { ApolloServerPlugin } from "@apollo/server";
import type { GraphQLFormattedError } from "graphql";
import { FACILITY_UNAVAILABLE } from "../facility-router";

type Path = ReadonlyArray<string | number>;

/**
 * One FACILITY_UNAVAILABLE error per facility and request. A dead facility fails every entity
 * and every fetch the query plan sends it, so without this a list of 1,000 DIDs would carry
 * 1,000 copies of "facility FrDF is unavailable". The first error of each facility stays (its
 * message and path); `extensions.paths` lists every path that facility left null. Other errors
 * pass unchanged, in order.
 */
export function collapseFacilityErrors(errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] {
  const out: GraphQLFormattedError[] = [];
  const byFacility = new Map<string, { error: GraphQLFormattedError; paths: Path[] }>();
  for (const error of errors) {
    const ext = error.extensions ?? {};
    if (ext.code !== FACILITY_UNAVAILABLE || typeof ext.facility !== "string") {
      out.push(error);
      continue;
    }
    const key = ext.facility.toLowerCase();
    let entry = byFacility.get(key);
    if (!entry) {
      entry = { error, paths: [] };
      byFacility.set(key, entry);
      out.push(error);
    }
    if (error.path) entry.paths.push(error.path);
  }
  return out.map((error) => {
    const ext = error.extensions ?? {};
    const entry = ext.code === FACILITY_UNAVAILABLE && typeof ext.facility === "string" ? byFacility.get(ext.facility.toLowerCase()) : undefined;
    if (!entry || entry.error !== error) return error;
    return { ...error, extensions: { ...ext, paths: entry.paths } };
  });
}

export function facilityErrorsPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== "single") return;
          const errors = response.body.singleResult.errors;
          if (errors?.length) response.body.singleResult.errors = collapseFacilityErrors(errors);
        },
      };
    },
  };
}
