import { emptyFields, readmeGraphqlBlocks, variablesFor } from "../support/readme-examples";

/** The README examples test's reading of a README: what it runs, with which variables, and what counts as an empty answer. */
const markdown = [
  "# Title",
  "```graphql",
  "{ facility(code: \"USDF\") { code dataset(id: \"x\") { run } } rules { nodes { id } } }",
  "```",
  "```sh",
  "echo not graphql",
  "```",
  "```graphql",
  "mutation { claimTransfers(facility: \"FrDF\", limit: 2) { id lease } }",
  "# variables: {\"n\": 3}",
  "mutation($leases: [String!]!, $id: String!, $n: Int) { heartbeat(leases: $leases) }",
  "```",
].join("\n");

it("reads every graphql block as its operations, with the line of its fence", () => {
  const blocks = readmeGraphqlBlocks(markdown);
  expect(blocks.map((b) => [b.line, b.operations.length, b.hasMutation])).toEqual([
    [2, 1, false],
    [8, 2, true],
  ]);
  expect(blocks[1].operations[1].variables).toEqual({ n: 3 });
  expect(blocks[1].operations[0].variables).toEqual({});
});

it("fills variables without a value from the block's earlier answers: $id the first id, $leases every lease", () => {
  const op = readmeGraphqlBlocks(markdown)[1].operations[1];
  const claim = { claimTransfers: [{ id: "t1", lease: "l1" }, { id: "t2", lease: "l2" }] };
  expect(variablesFor(op, [claim], "here")).toEqual({ n: 3, id: "t1", leases: ["l1", "l2"] });
  expect(() => variablesFor(op, [], "here")).toThrow(/no value for \$leases/);
});

it("counts as empty a root field without content, and an object field of a root object without content", () => {
  const op = readmeGraphqlBlocks(markdown)[0].operations[0];
  expect(emptyFields(op, { facility: { code: "USDF", dataset: { run: "r" } }, rules: { nodes: [{ id: "1" }] } })).toEqual([]);
  expect(emptyFields(op, { facility: { code: "USDF", dataset: null }, rules: { nodes: [] } })).toEqual(["facility.dataset", "rules"]);
  expect(emptyFields(op, { facility: null, rules: { nodes: [{ id: "" }] } })).toEqual(["facility", "rules"]);
  expect(emptyFields(op, null)).toEqual(["(data)"]);
});
