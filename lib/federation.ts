import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper";
import { printSchemaWithDirectives } from "@graphql-tools/utils";
import { GraphQLSchema, parse } from "graphql";
import { buildSchema, BuildSchemaOptions, createResolversMap, getMetadataStorage } from "type-graphql";

/** The Federation 2 spec version our subgraphs link to, and the directives they use. */
export const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@external", "@requires", "@inaccessible", "@listSize"])';

/**
 * Builds an Apollo Federation 2 subgraph schema from type-graphql resolvers: type-graphql makes
 * the schema (entities carry `@key` through `@Directive`), it is printed with its directives and
 * handed to @apollo/subgraph together with the resolvers and the entities' reference resolvers.
 */
export async function buildFederatedSchema(
  options: Omit<BuildSchemaOptions, "skipCheck">,
  referenceResolvers: GraphQLResolverMap<any> = {},
): Promise<GraphQLSchema> {
  const schema = await buildSchema({ ...options, skipCheck: true });
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<any>;
  dropPlainFieldResolvers(resolvers);
  for (const [typeName, extra] of Object.entries(referenceResolvers)) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), ...(extra as object) } as any;
  }
  return buildSubgraphSchema({ typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`), resolvers });
}

/**
 * Removes the resolvers type-graphql gives plain `@Field` properties (fields without a
 * `@FieldResolver`): each only returns `root[property]`, through a middleware chain and a new
 * object per call, which graphql-js's default resolver does without either. A status answer of
 * 10,000 DIDs has about 400,000 such fields. A field whose GraphQL name differs from its property,
 * or that has middlewares or roles, keeps its resolver. type-graphql's metadata is one per process
 * (both subgraphs' classes when a process builds both), so a field keeps its resolver too when any
 * class of the same GraphQL type name resolves a field of that name.
 */
function dropPlainFieldResolvers(resolvers: GraphQLResolverMap<any>): void {
  const storage = getMetadataStorage();
  const classes = [...storage.objectTypes, ...storage.interfaceTypes];
  const resolvedByName = new Set<string>();
  for (const r of storage.fieldResolvers) {
    const target = r.getObjectType?.();
    for (const t of classes) if (t.target === target) resolvedByName.add(`${t.name}.${r.schemaName}`);
  }
  for (const type of storage.objectTypes) {
    const map = resolvers[type.name] as Record<string, unknown> | undefined;
    if (!map) continue;
    const fields = [
      ...storage.interfaceTypes.filter((it) => type.interfaceClasses?.includes(it.target)).flatMap((it) => it.fields ?? []),
      ...(type.fields ?? []),
    ];
    for (const field of fields) {
      // As type-graphql matches a field to its resolver (schema-generator): by the declaring class and the property.
      const resolved = storage.fieldResolvers.some((r) => r.getObjectType?.() === field.target && r.methodName === field.name);
      if (resolved || resolvedByName.has(`${type.name}.${field.schemaName}`)) continue;
      if (field.name !== field.schemaName || field.middlewares?.length || field.roles) continue;
      delete map[field.schemaName];
    }
  }
}
