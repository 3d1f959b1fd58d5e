import { startTestCatalog, TestCatalog } from "../support/catalog";
import { graphqlWithoutDeadline } from "../support/graphql-client";
import { ADD_RULE, registerTree, seedBackbone } from "../support/replication";

/**
 * A rule on a container of 100,000 files is evaluated in SQL, set-based: it sends the same
 * number of statements as a rule on 10 files (no per-file loop in JavaScript). The small tree is
 * registered first on purpose: the foreign-key checks planned while the catalog held a dozen
 * DIDs must not stay sequential scans once it holds 100,000 (they did, and registering the big
 * tree's replicas took minutes instead of seconds; addDids now refreshes the statistics).
 */
let cat: TestCatalog;

beforeAll(async () => {
  cat = await startTestCatalog("rules_scale");
  await seedBackbone(cat);
});
afterAll(() => cat.close());

async function statementsOfRule(container: string): Promise<{ statements: number; rule: any }> {
  const before = cat.service.database.statements.count;
  // Without fetch's 300 s deadline: two busy cores shared with the demo's processes can take longer.
  const res = await graphqlWithoutDeadline(cat.url, ADD_RULE, { i: { did: { scope: "raw", name: container }, rseExpression: "USDF_DISK|FRDF_DISK", grouping: "DATASET" } }, cat.tokens.admin);
  if (res.errors?.length) throw new Error(`unexpected GraphQL errors: ${JSON.stringify(res.errors)}`);
  const { addRule } = res.data;
  return { statements: cat.service.database.statements.count - before, rule: addRule };
}

it("evaluates a rule on 100,000 files with as many statements as on 10", async () => {
  const small = await registerTree(cat, "small", 2, 5);
  const big = await registerTree(cat, "big", 20, 5000);
  expect(big.files).toHaveLength(100000);
  const s = await statementsOfRule(small.container);
  const b = await statementsOfRule(big.container);
  expect(s.rule).toMatchObject({ locksReplicating: 10, state: "REPLICATING" });
  expect(b.rule).toMatchObject({ locksReplicating: 100000, state: "REPLICATING" });
  expect(b.statements).toBe(s.statements);
  const queued = await cat.ok(`{ transfers(filter: {state: QUEUED, scope: "raw"}) { totalCount } events(types: ["transfer-queued"]) { totalCount } }`);
  expect(queued.transfers.totalCount).toBe(100010);
  expect(queued.events.totalCount).toBe(100010);
}, 600000);
