import { GraphqlClient } from "../../lib/graphql-client";
import type { DidKey } from "./did";
import type { ButlerFile, ButlerLookup } from "./removal";

/**
 * The catalog asks facilities' Butler registries through the gateway, which routes a root field
 * on its `facility` argument (`obsoleteFiles` is a read: no token needed). A facility that is down
 * answers FACILITY_UNAVAILABLE, which the client throws as a DbbError; the caller retries later.
 */
const PAGE = 10_000;
const QUERY = `query ($facility: String!, $runs: [String!], $collections: [String!], $files: [DepartureInput!], $first: Int, $after: String) {
  obsoleteFiles(facility: $facility, runs: $runs, collections: $collections, files: $files, first: $first, after: $after) {
    nodes { scope name datasetId } hasNextPage endCursor } }`;

type Page = { obsoleteFiles: { nodes: ButlerFile[]; hasNextPage: boolean; endCursor: string | null } | null };

export function gatewayButlerLookup(options: { gateway: string; timeoutMs: number }): ButlerLookup {
  const client = new GraphqlClient({ url: options.gateway, timeoutMs: options.timeoutMs, userAgent: "dbb-catalog (removals)" });
  const pages = async (facility: string, vars: Record<string, unknown>): Promise<ButlerFile[]> => {
    const out: ButlerFile[] = [];
    let after: string | null = null;
    for (;;) {
      const data: Page = await client.request<Page>(QUERY, { facility, ...vars, first: PAGE, after });
      const page = data.obsoleteFiles;
      if (!page) break;
      out.push(...page.nodes);
      if (!page.hasNextPage || !page.endCursor) break;
      after = page.endCursor;
    }
    return out;
  };
  return {
    filesOf: (facility, runs, collections) => pages(facility, { runs, collections }),
    async datasetsOf(facility, files: DidKey[]) {
      const out: ButlerFile[] = [];
      for (let i = 0; i < files.length; i += PAGE) {
        out.push(...(await pages(facility, { files: files.slice(i, i + PAGE).map((f) => ({ scope: f.scope, name: f.name })) })));
      }
      return out;
    },
  };
}
