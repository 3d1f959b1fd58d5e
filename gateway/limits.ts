import type { ApolloServerPlugin } from "@apollo/server";
import {
  ConstDirectiveNode,
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  OperationDefinitionNode,
  parse,
  SelectionSetNode,
  valueFromASTUntyped,
} from "graphql";
import { DEFAULT_PAGE_SIZE } from "../lib/pagination";

/**
 * Query limits of the public endpoint: depth, aliases and an estimated cost (document size and
 * batch size are refused before parsing, by lib/http-server.ts).
 * Each refusal is a GraphQL error with a stable code and a message that says the limit.
 * Introspection (`__schema`, `__type`) is not counted for depth and cost (GraphiQL needs it);
 * its aliases are.
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

/**
 * The length of a list field, as the demand-control spec's `@listSize` says it: from slicing
 * arguments (`first`, `limit`), else an assumed size; `sizedFields` name the lists of an object
 * (a connection's `edges` and `nodes`) that the slicing argument sizes.
 */
export interface ListSize {
  assumedSize?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
}

/** `@listSize` of each field, by `Type.field`. */
export type ListSizes = ReadonlyMap<string, ListSize>;

/** A list that says nothing of its length counts as this long (the default page size). */
export const DEFAULT_LIST_SIZE = DEFAULT_PAGE_SIZE;

/** Reads the `@listSize` directives of a (super)graph's SDL. */
export function listSizesOf(sdl: string): ListSizes {
  const sizes = new Map<string, ListSize>();
  for (const def of parse(sdl).definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION && def.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const field of def.fields ?? []) {
      const directive = field.directives?.find((d: ConstDirectiveNode) => d.name.value === "listSize");
      if (!directive) continue;
      const args = Object.fromEntries((directive.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
      sizes.set(`${def.name.value}.${field.name.value}`, {
        assumedSize: typeof args.assumedSize === "number" ? args.assumedSize : undefined,
        slicingArguments: Array.isArray(args.slicingArguments) ? (args.slicingArguments as string[]) : undefined,
        sizedFields: Array.isArray(args.sizedFields) ? (args.sizedFields as string[]) : undefined,
      });
    }
  }
  return sizes;
}

export interface QueryMeasure {
  depth: number;
  aliases: number;
  cost: number;
}

export interface CostModel {
  schema: GraphQLSchema;
  listSizes: ListSizes;
}

interface Walked {
  depth: number;
  cost: number;
  aliases: number;
}

const NOTHING: Walked = { depth: 0, cost: 0, aliases: 0 };

/** The values the operation's variables will have: those sent, else their defaults. */
function variableValues(operation: OperationDefinitionNode, sent: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const def of operation.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    if (sent[name] !== undefined) values[name] = sent[name];
    else if (def.defaultValue) values[name] = valueFromASTUntyped(def.defaultValue);
  }
  return values;
}

/**
 * Measures an operation: its depth (nested fields), aliases (every use, also inside fragments
 * spread several times and inside introspection) and estimated cost, as the demand-control spec
 * counts it: 1 for every object a field returns, 0 for scalars and enums, times the length of
 * each list above it. A list's length comes from its `@listSize`: the value of a slicing argument
 * (`first`, `limit`, from a literal or the variable's value), else its assumed size; a list that
 * answers one item per element of a required list argument (`didsByRefs(refs:)`) is as long as
 * that argument; any other list counts DEFAULT_LIST_SIZE. Fragments are measured once each, so
 * no document makes the measure itself slow.
 */
export function measure(document: DocumentNode, operation: OperationDefinitionNode, model: CostModel, sent: Record<string, unknown> = {}): QueryMeasure {
  const variables = variableValues(operation, sent);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const memo = new Map<string, Walked>();

  const argumentValue = (sel: FieldNode, name: string): unknown => {
    const arg = sel.arguments?.find((a) => a.name.value === name);
    return arg ? valueFromASTUntyped(arg.value, variables) : undefined;
  };

  /** How many items a list field yields (for a connection: how many its `sizedFields` hold). */
  const listLength = (declared: ListSize | undefined, field: GraphQLField<unknown, unknown>, sel: FieldNode): number => {
    if (declared) {
      const sliced = (declared.slicingArguments ?? []).map((a) => argumentValue(sel, a)).filter((v): v is number => typeof v === "number" && v >= 0);
      return sliced.length ? Math.max(...sliced) : (declared.assumedSize ?? DEFAULT_LIST_SIZE);
    }
    for (const arg of field.args) {
      if (isNonNullType(arg.type) && isListType(arg.type.ofType)) {
        const value = argumentValue(sel, arg.name);
        if (Array.isArray(value)) return value.length;
      }
    }
    return DEFAULT_LIST_SIZE;
  };

  const walk = (set: SelectionSetNode | undefined, parent: GraphQLNamedType | undefined, sized: ReadonlyMap<string, number> | undefined, introspection: boolean, visiting: Set<string>): Walked => {
    if (!set) return NOTHING;
    let depth = 0;
    let cost = 0;
    let aliases = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.alias) aliases++;
        const name = sel.name.value;
        const inIntrospection = introspection || name.startsWith("__");
        const field = !inIntrospection && parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
        const type = field ? getNamedType(field.type) : undefined;
        let multiplier = 1;
        let childSized: Map<string, number> | undefined;
        if (field && parent) {
          const declared = model.listSizes.get(`${parent.name}.${field.name}`);
          const ownSize = sized?.get(name);
          if (ownSize !== undefined) multiplier = ownSize;
          else if (isListType(getNullableType(field.type))) multiplier = listLength(declared, field, sel);
          else if (declared?.sizedFields) {
            // A connection: its `first` sizes its `edges` and `nodes`.
            const length = listLength(declared, field, sel);
            childSized = new Map(declared.sizedFields.map((f) => [f, length]));
          }
        }
        const child = walk(sel.selectionSet, type, childSized, inIntrospection, visiting);
        aliases += child.aliases;
        if (inIntrospection) continue;
        const weight = type ? (isCompositeType(type) ? 1 : 0) : sel.selectionSet ? 1 : 0;
        cost += multiplier * (weight + child.cost);
        depth = Math.max(depth, 1 + child.depth);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? model.schema.getType(sel.typeCondition.name.value) : parent;
        const child = walk(sel.selectionSet, type ?? undefined, sized, introspection, visiting);
        depth = Math.max(depth, child.depth);
        cost += child.cost;
        aliases += child.aliases;
      } else {
        const name = sel.name.value;
        const fragment = fragments.get(name);
        if (!fragment || visiting.has(name)) continue;
        const key = JSON.stringify([name, introspection, sized ? [...sized] : null]);
        let child = memo.get(key);
        if (!child) {
          visiting.add(name);
          child = walk(fragment.selectionSet, model.schema.getType(fragment.typeCondition.name.value) ?? undefined, sized, introspection, visiting);
          visiting.delete(name);
          memo.set(key, child);
        }
        depth = Math.max(depth, child.depth);
        cost += child.cost;
        aliases += child.aliases;
      }
    }
    return { depth, cost, aliases };
  };
  const root = operation.operation === "mutation" ? model.schema.getMutationType() : operation.operation === "subscription" ? model.schema.getSubscriptionType() : model.schema.getQueryType();
  return walk(operation.selectionSet, root ?? undefined, undefined, false, new Set());
}

/** The limits of the gateway; `listSizes` come from the supergraph (`listSizesOf`). */
export function limitsPlugin(limits: QueryLimits, listSizes: ListSizes): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request: req, schema }) {
          if (!operation) return;
          const m = measure(document, operation, { schema, listSizes }, req.variables ?? {});
          if (m.depth > limits.maxDepth) {
            throw refuse(LimitCode.QUERY_TOO_DEEP, `the query nests ${m.depth} levels deep; the limit is ${limits.maxDepth}`, { depth: m.depth, limit: limits.maxDepth });
          }
          if (m.aliases > limits.maxAliases) {
            throw refuse(LimitCode.TOO_MANY_ALIASES, `the query uses ${m.aliases} aliases; the limit is ${limits.maxAliases}`, { aliases: m.aliases, limit: limits.maxAliases });
          }
          if (m.cost > limits.maxCost) {
            throw refuse(
              LimitCode.QUERY_TOO_COSTLY,
              `the query's estimated cost is ${m.cost} (1 per object returned, times the length of the lists above it: a page's \`first\` or \`limit\`, ` +
                `${DEFAULT_LIST_SIZE} when not given); the limit is ${limits.maxCost}: ask for smaller pages or fewer fields`,
              { cost: m.cost, limit: limits.maxCost },
            );
          }
        },
      };
    },
  };
}
