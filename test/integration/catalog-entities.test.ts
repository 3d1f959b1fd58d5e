import { startTestCatalog, TestCatalog } from "../support/catalog";
import { ADD_RULE, registerTree, seedBackbone } from "../support/replication";

/** What the gateway asks of the catalog subgraph: its SDL and entities by key (_entities). */
let cat: TestCatalog;
beforeAll(async () => {
  cat = await startTestCatalog("entities");
  await seedBackbone(cat);
});
afterAll(() => cat.close());

it("publishes its SDL with the entity keys", async () => {
  const { _service } = await cat.ok(`{ _service { sdl } }`);
  for (const key of ['type Facility @key(fields: "code")', 'type Rse @key(fields: "name")', 'type Did @key(fields: "scope name")',
    'type Replica @key(fields: "scope name rse { name }")', 'type Rule @key(fields: "id")', 'type TransferRequest @key(fields: "id")']) {
    expect(_service.sdl.replace(/\s+/g, " ")).toContain(key.replace(/\s+/g, " "));
  }
});

it("resolves every entity by its key, in order, with null for unknown ones", async () => {
  const t = await registerTree(cat, "ent", 1, 1);
  const file = t.files[0].name;
  const { addRule } = await cat.ok(ADD_RULE, { i: { did: { scope: "raw", name: t.datasets[0] }, rseExpression: "USDF_DISK" } });
  const { transfers } = await cat.ok(`{ transfers(filter: {destinationRse: "USDF_DISK"}) { nodes { id } } }`);
  const representations = [
    { __typename: "Facility", code: "FrDF" },
    { __typename: "Rse", name: "USDF_DISK" },
    { __typename: "Did", scope: "raw", name: file },
    { __typename: "Replica", scope: "raw", name: file, rse: { name: "SUMMIT_DISK" } },
    { __typename: "Rule", id: addRule.id },
    { __typename: "TransferRequest", id: transfers.nodes[0].id },
    { __typename: "Lock", ruleId: addRule.id, scope: "raw", name: file, rse: { name: "USDF_DISK" } },
    { __typename: "Did", scope: "raw", name: "nope" },
  ];
  const data = await cat.ok(
    `query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Facility { code rses { name } }
      ... on Rse { name facility { code } }
      ... on Did { name type }
      ... on Replica { replicaState: state facilityCode }
      ... on Rule { ruleState: state }
      ... on TransferRequest { requestState: state destination { name } }
      ... on Lock { lockState: state rse { name } }
    } }`,
    { r: representations },
  );
  expect(data._entities).toEqual([
    { code: "FrDF", rses: [{ name: "FRDF_DISK" }] },
    { name: "USDF_DISK", facility: { code: "USDF" } },
    { name: file, type: "FILE" },
    { replicaState: "AVAILABLE", facilityCode: "SUMMIT" },
    { ruleState: "REPLICATING" },
    { requestState: "QUEUED", destination: { name: "USDF_DISK" } },
    { lockState: "REPLICATING", rse: { name: "USDF_DISK" } },
    null,
  ]);
});
