import { readFileSync } from "node:fs";
import path from "node:path";
import { buildSchema, Kind, OperationDefinitionNode, parse } from "graphql";
import { DEFAULT_LIST_SIZE, listSizesOf, measure } from "../../gateway/limits";
import { loadConfig } from "../../lib/config";

/** The measure runs on the real supergraph, with the @listSize its subgraphs declare. */
const supergraphSdl = readFileSync(path.resolve(__dirname, "../../../schema/supergraph.graphql"), "utf8");
const model = { schema: buildSchema(supergraphSdl), listSizes: listSizesOf(supergraphSdl) };

const m = (query: string, variables: Record<string, unknown> = {}) => {
  const doc = parse(query);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return measure(doc, op, model, variables);
};

const STATUS = `query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { scope name bytes
  replicas { rse { name facility { code } } state butlerDataset { id run } } rules { id state } } }`;

describe("query measure", () => {
  it("counts depth through fields, fragments and inline fragments", () => {
    expect(m(`{ scopes { name } }`).depth).toBe(2);
    expect(m(`{ did(scope: "raw", name: "x") { replicas { rse { name } } } }`).depth).toBe(4);
    expect(m(`query { ...F } fragment F on Query { did(scope: "raw", name: "x") { ... on Did { replicas { rse { name } } } } }`).depth).toBe(4);
  });

  it("leaves introspection out of depth and cost, but counts the aliases inside it", () => {
    expect(m(`{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } scopes { name } }`)).toEqual({ depth: 2, aliases: 0, cost: DEFAULT_LIST_SIZE });
    expect(m(`{ __schema { a: types { name } b: types { name } } __type(name: "Did") { c: name } }`).aliases).toBe(3);
  });

  it("counts 1 per object and 0 per scalar, times the lengths of the lists above it", () => {
    // A scalar at the root costs nothing; an object costs 1; its scalars add nothing.
    expect(m(`{ did(scope: "raw", name: "x") { name bytes metadata } }`).cost).toBe(1);
    expect(m(`{ did(scope: "raw", name: "x") { rules { id } } }`).cost).toBe(1 + 4);
    // A connection is 1, and its nodes are `first` objects.
    expect(m(`{ dids(scope: "raw", first: 10) { nodes { name } } }`).cost).toBe(1 + 10);
    expect(m(`{ dids(scope: "raw", first: 10) { edges { cursor node { name } } pageInfo { hasNextPage } } }`).cost).toBe(1 + 10 * 2 + 1);
  });

  it("takes a page size from a variable's value, or from its default when none is sent", () => {
    const q = `query($n: Int = 7) { dids(scope: "raw", first: $n) { nodes { name } } }`;
    expect(m(q, { n: 1000 }).cost).toBe(1 + 1000);
    expect(m(q).cost).toBe(1 + 7);
  });

  it("counts a list without `first` as the documented default page, and sizes `limit` lists by it", () => {
    expect(m(`{ rules { nodes { id } } }`).cost).toBe(1 + DEFAULT_LIST_SIZE);
    expect(m(`{ rules(first: null) { nodes { id } } }`).cost).toBe(1 + DEFAULT_LIST_SIZE);
    expect(m(`mutation { claimTransfers(facility: "FrDF", limit: 50) { id } }`).cost).toBe(50);
    expect(m(`mutation { claimTransfers(facility: "FrDF", limit: 5000) { id file { name } } }`).cost).toBe(5000 * 2);
  });

  it("estimates nested pages honestly (this one was estimated at 10 and answered 1.4 MB)", () => {
    const cost = m(`{transfers{nodes{file{replicas{rse{transfers{nodes{file{name}}}}}}}}}`).cost;
    // transfers: 1 + 100 × (request 1 + file (1 + 4 replicas × (1 + rse (1 + transfers (1 + 100 × (1 + file 1))))))
    expect(cost).toBe(1 + 100 * (1 + (1 + 4 * (1 + (1 + (1 + 100 * 2))))));
  });

  it("sizes didsByRefs by its refs, so the status of 10,000 files is within the default limit", () => {
    const refs = (n: number) => ({ r: Array.from({ length: n }, (_, i) => ({ scope: "raw", name: `f${i}` })) });
    // Per DID: itself, 4 replicas × (replica, RSE, facility, Butler dataset), 4 rules.
    const perDid = 1 + 4 * 4 + 4;
    expect(m(STATUS, refs(10)).cost).toBe(10 * perDid);
    expect(m(STATUS, refs(10000)).cost).toBe(10000 * perDid);
    expect(m(STATUS, refs(10000)).cost).toBeLessThanOrEqual(loadConfig(undefined, {}).gateway.limits.maxCost);
    expect(m(STATUS, refs(20000)).cost).toBeGreaterThan(loadConfig(undefined, {}).gateway.limits.maxCost);
  });

  it("counts every use of an alias, also when a fragment is spread twice", () => {
    expect(m(`{ x: scopes { name } y: scopes { z: name } }`).aliases).toBe(3);
    expect(m(`{ ...F ...F } fragment F on Query { x: scopes { name } }`).aliases).toBe(2);
  });

  it("measures a document of fragments that double at every level without walking them all", () => {
    const n = 60;
    const defs = Array.from({ length: n }, (_, i) =>
      i === n - 1 ? `fragment F${i} on Query { a: scopes { name } }` : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
    );
    // Walked naively this is 2^59 visits: the test would never finish.
    const result = m(`{ ...F0 } ${defs.join(" ")}`);
    expect(result.aliases).toBe(2 ** (n - 1));
    expect(result.cost).toBe(2 ** (n - 1) * DEFAULT_LIST_SIZE);
  });

  it("does not loop on a fragment cycle (validation rejects it; the measure must not hang first)", () => {
    expect(m(`{ ...F } fragment F on Query { scopes { name } ...F }`).depth).toBe(2);
  });
});
