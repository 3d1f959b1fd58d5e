import { DEFAULT_PAGE_SIZE } from "./pagination";

/**
 * How long the lists of the schema are, for the gateway's cost estimate: the demand-control
 * spec's `@listSize` (Apollo Federation's cost spec), carried from the subgraphs' SDL into the
 * supergraph, where `gateway/limits.ts` reads it.
 */

/** A connection's `edges` and `nodes` hold `first` items, the default page when it is not given. */
export const PAGE_LIST_SIZE = `@listSize(assumedSize: ${DEFAULT_PAGE_SIZE}, slicingArguments: ["first"], sizedFields: ["edges", "nodes"], requireOneSlicingArgument: false)`;

/** A list whose length the data model bounds (a file's replicas: one per RSE at most), assumed to be `n` long. */
export function assumedListSize(n: number): string {
  return `@listSize(assumedSize: ${n})`;
}

/** A list handed out up to its `limit` argument (an agent's claims). */
export const LIMIT_LIST_SIZE = `@listSize(slicingArguments: ["limit"])`;
