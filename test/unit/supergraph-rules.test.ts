import { readFileSync } from "node:fs";
import path from "node:path";
import { ConstDirectiveNode, FieldDefinitionNode, Kind, ObjectTypeDefinitionNode, parse, print, valueFromASTUntyped } from "graphql";

/**
 * Rules of the composed supergraph (schema/supergraph.graphql, which the drift test keeps equal
 * to what the code composes) that keep the federation's promises.
 */
const supergraph = parse(readFileSync(path.resolve(__dirname, "../../../schema/supergraph.graphql"), "utf8"));
const objectTypes = supergraph.definitions.filter((d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION);

const directives = (node: { directives?: readonly ConstDirectiveNode[] }, name: string) => (node.directives ?? []).filter((d) => d.name.value === name);
const arg = (d: ConstDirectiveNode, name: string) => {
  const a = d.arguments?.find((x) => x.name.value === name);
  return a ? valueFromASTUntyped(a.value) : undefined;
};

/** The subgraphs that define a type, with the top-level fields of each one's @key. */
function graphsOfType(type: ObjectTypeDefinitionNode): Map<string, Set<string>> {
  const graphs = new Map<string, Set<string>>();
  for (const d of directives(type, "join__type")) {
    const graph = String(arg(d, "graph"));
    const key = arg(d, "key");
    const fields = graphs.get(graph) ?? new Set<string>();
    if (typeof key === "string") for (const f of key.replace(/\{[^}]*\}/g, "").split(/\s+/).filter(Boolean)) fields.add(f);
    graphs.set(graph, fields);
  }
  return graphs;
}

/** The subgraphs that resolve a field: its @join__field graphs, else every subgraph of its type. */
function graphsOfField(field: FieldDefinitionNode, typeGraphs: Map<string, Set<string>>): string[] {
  const own = directives(field, "join__field").map((d) => arg(d, "graph")).filter((g): g is string => typeof g === "string");
  return own.length ? own : [...typeGraphs.keys()];
}

it("every field the facility subgraph resolves on a shared entity, and every facility root field, is nullable", () => {
  const offenders: string[] = [];
  let checked = 0;
  for (const type of objectTypes) {
    const graphs = graphsOfType(type);
    const root = type.name.value === "Query" || type.name.value === "Mutation";
    // An entity (a type with a @key) that another subgraph resolves too; value types like PageInfo
    // come whole from the subgraph that returns them.
    const entity = directives(type, "join__type").some((d) => arg(d, "key") !== undefined);
    const shared = entity && graphs.has("FACILITY") && graphs.size > 1;
    if (!root && !shared) continue;
    const keyFields = graphs.get("FACILITY") ?? new Set<string>();
    for (const field of type.fields ?? []) {
      if (!graphsOfField(field, graphs).includes("FACILITY")) continue;
      // Key fields come from the representation the gateway already holds, never from a facility.
      if (!root && keyFields.has(field.name.value)) continue;
      checked++;
      if (field.type.kind === Kind.NON_NULL_TYPE) offenders.push(`${type.name.value}.${field.name.value}: ${print(field.type)}`);
    }
  }
  // Facility's registry fields, Replica.butlerDataset, and the facility mutations are all checked.
  expect(checked).toBeGreaterThan(10);
  expect(offenders).toEqual([]);
});

it("every paged list declares its page argument in @listSize, so the cost estimate counts its pages", () => {
  const missing: string[] = [];
  for (const type of objectTypes) {
    for (const field of type.fields ?? []) {
      for (const page of ["first", "limit"]) {
        if (!field.arguments?.some((a) => a.name.value === page)) continue;
        const [listSize] = directives(field, "listSize");
        const slicing = listSize ? arg(listSize, "slicingArguments") : undefined;
        if (!Array.isArray(slicing) || !slicing.includes(page)) missing.push(`${type.name.value}.${field.name.value}(${page})`);
      }
    }
  }
  expect(missing).toEqual([]);
});

it("keeps localFacility, a facility service's own field, out of the gateway's schema", () => {
  const query = objectTypes.find((t) => t.name.value === "Query")!;
  const local = query.fields!.find((f) => f.name.value === "localFacility")!;
  expect(directives(local, "inaccessible")).toHaveLength(1);
});
