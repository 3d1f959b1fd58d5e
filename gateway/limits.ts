import type { ApolloServerPlugin } from "@apollo/server";
import {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLError,
  Kind,
  OperationDefinitionNode,
  SelectionSetNode,
  valueFromASTUntyped,
} from "graphql";

/**
 * Query limits of the public endpoint: depth, aliases and an estimated cost (document size and
 * batch size are refused before parsing, by lib/http-server.ts).
 * Each refusal is a GraphQL error with a stable code and a message that says the limit.
 * Introspection (`__schema`, `__type`) is not counted: GraphiQL needs it.
 */
export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  maxDocumentBytes: number;
  maxAliases: number;
  maxBatch: number;
}

export const LimitCode = {
  DOCUMENT_TOO_LARGE: "DOCUMENT_TOO_LARGE",
  QUERY_TOO_DEEP: "QUERY_TOO_DEEP",
  QUERY_TOO_COSTLY: "QUERY_TOO_COSTLY",
  TOO_MANY_ALIASES: "TOO_MANY_ALIASES",
  BATCH_TOO_LARGE: "BATCH_TOO_LARGE",
} as const;

function refuse(code: string, message: string, details: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...details, http: { status: 400 } } });
}

/** Page sizes multiply the cost of what is selected below them. */
const PAGE_ARGUMENTS = ["first", "limit"];
const DEFAULT_PAGE = 100;

export interface QueryMeasure {
  depth: number;
  aliases: number;
  cost: number;
}

/** Measures an operation: depth of nested fields, aliases, and cost (1 a field, times page sizes). */
export function measure(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> = {}): QueryMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let aliases = 0;
  const seenAliases = new Set<FieldNode>();

  const walk = (set: SelectionSetNode | undefined, depth: number, visiting: Set<string>): { depth: number; cost: number } => {
    if (!set) return { depth, cost: 0 };
    let maxDepth = depth;
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith("__")) continue;
        if (sel.alias && !seenAliases.has(sel)) {
          seenAliases.add(sel);
          aliases++;
        }
        const child = walk(sel.selectionSet, depth + 1, visiting);
        let multiplier = 1;
        for (const arg of sel.arguments ?? []) {
          if (!PAGE_ARGUMENTS.includes(arg.name.value)) continue;
          const v = valueFromASTUntyped(arg.value, variables);
          multiplier = typeof v === "number" && v > 0 ? v : DEFAULT_PAGE;
        }
        cost += 1 + child.cost * multiplier;
        maxDepth = Math.max(maxDepth, sel.selectionSet ? child.depth : depth + 1);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const child = walk(sel.selectionSet, depth, visiting);
        cost += child.cost;
        maxDepth = Math.max(maxDepth, child.depth);
      } else {
        const name = sel.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue;
        const child = walk(fragment.selectionSet, depth, new Set([...visiting, name]));
        cost += child.cost;
        maxDepth = Math.max(maxDepth, child.depth);
      }
    }
    return { depth: maxDepth, cost };
  };
  const { depth, cost } = walk(operation.selectionSet, 0, new Set());
  return { depth, aliases, cost };
}

export function limitsPlugin(limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request: req }) {
          if (!operation) return;
          const m = measure(document, operation, req.variables ?? {});
          if (m.depth > limits.maxDepth) {
            throw refuse(LimitCode.QUERY_TOO_DEEP, `the query nests ${m.depth} levels deep; the limit is ${limits.maxDepth}`, { depth: m.depth, limit: limits.maxDepth });
          }
          if (m.aliases > limits.maxAliases) {
            throw refuse(LimitCode.TOO_MANY_ALIASES, `the query uses ${m.aliases} aliases; the limit is ${limits.maxAliases}`, { aliases: m.aliases, limit: limits.maxAliases });
          }
          if (m.cost > limits.maxCost) {
            throw refuse(
              LimitCode.QUERY_TOO_COSTLY,
              `the query's estimated cost is ${m.cost} (1 per field, times the page size \`first\` of the lists above it, ${DEFAULT_PAGE} when not given); the limit is ${limits.maxCost}: ask for smaller pages`,
              { cost: m.cost, limit: limits.maxCost },
            );
          }
        },
      };
    },
  };
}
