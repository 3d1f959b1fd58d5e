import { Kind, OperationDefinitionNode, parse } from "graphql";
import { measure } from "../../gateway/limits";

const m = (query: string, variables: Record<string, unknown> = {}) => {
  const doc = parse(query);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return measure(doc, op, variables);
};

describe("query measure", () => {
  it("counts depth through fields, fragments and inline fragments", () => {
    expect(m(`{ a }`).depth).toBe(1);
    expect(m(`{ a { b { c } } }`).depth).toBe(3);
    expect(m(`query { ...F } fragment F on Query { a { ... on A { b { c { d } } } } }`).depth).toBe(4);
  });

  it("ignores introspection, which GraphiQL needs", () => {
    expect(m(`{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } a }`)).toEqual({ depth: 1, aliases: 0, cost: 1 });
  });

  it("multiplies the cost of what lies below a page by its size, from literals or variables", () => {
    expect(m(`{ a { b c } }`).cost).toBe(3);
    expect(m(`{ dids(first: 10) { nodes { name } } }`).cost).toBe(1 + 10 * 2);
    expect(m(`query($n: Int) { dids(first: $n) { nodes { name } } }`, { n: 1000 }).cost).toBe(1 + 1000 * 2);
    // Without a page size, a paged list counts as 100.
    expect(m(`{ rules(first: null) { nodes { id } } }`).cost).toBe(1 + 100 * 2);
    expect(m(`{ a(first: 10) { b(first: 10) { c } } }`).cost).toBe(1 + 10 * (1 + 10 * 1));
  });

  it("counts aliases, once per field even when a fragment is spread twice", () => {
    expect(m(`{ x: a y: a z: b { w: c } }`).aliases).toBe(4);
    expect(m(`{ ...F ...F } fragment F on Query { x: a }`).aliases).toBe(1);
  });

  it("does not loop on a fragment cycle (validation rejects it; the measure must not hang first)", () => {
    expect(m(`{ ...F } fragment F on Query { a { ...F } }`).depth).toBe(1);
  });
});
