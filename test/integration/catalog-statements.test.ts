import { startTestCatalog, TestCatalog } from "../support/catalog";

/**
 * Every relation goes through DataLoader: the number of SQL statements a nested query sends
 * depends on the query's shape, not on how many rows it returns.
 */
let cat: TestCatalog;

const NESTED = `query($first: Int) {
  rses { name facility { code rses { name } } attributes }
  dids(scope: "stm", type: FILE, first: $first) {
    totalCount
    nodes {
      name metadata
      replicas { state bytes rse { name facility { code description } } did { name } }
      parents { name parents { name } }
    }
  }
  datasets: dids(scope: "stm", type: DATASET) {
    nodes { name children(first: 1000) { totalCount nodes { name replicas { rse { name } } } } files { totalCount nodes { name } } }
  }
}`;

async function statementsFor(variables: Record<string, unknown>): Promise<{ count: number; data: any }> {
  const before = cat.service.database.statements.count;
  const data = await cat.ok(NESTED, variables);
  return { count: cat.service.database.statements.count - before, data };
}

beforeAll(async () => {
  cat = await startTestCatalog("statements");
  await cat.ok(`mutation { addScope(name: "stm") { name } }`);
  for (const [i, facility] of ["USDF", "FrDF", "UKDF"].entries()) {
    await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, {
      i: { name: `${facility.toUpperCase()}_DISK`, facility, kind: "POSIX", protocol: { root: `/data/${i}` } },
    });
  }
  const files = Array.from({ length: 200 }, (_, i) => ({ scope: "stm", name: `f${String(i).padStart(4, "0")}`, type: "FILE", bytes: i, metadata: { i } }));
  const datasets = Array.from({ length: 20 }, (_, i) => ({ scope: "stm", name: `ds${String(i).padStart(2, "0")}`, type: "DATASET" }));
  await cat.ok(`mutation($input: [AddDidInput!]!) { addDids(input: $input) { count } }`, { input: [...files, ...datasets] });
  for (const rse of ["USDF_DISK", "FRDF_DISK", "UKDF_DISK"]) {
    await cat.ok(`mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`, {
      rse,
      r: files.map((f) => ({ scope: f.scope, name: f.name })),
    });
  }
  for (let d = 0; d < 20; d++) {
    await cat.ok(`mutation($p: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $p, children: $c) { count } }`, {
      p: { scope: "stm", name: datasets[d].name },
      c: files.slice(d * 10, d * 10 + 10).map((f) => ({ scope: f.scope, name: f.name })),
    });
  }
});
afterAll(() => cat.close());

it("sends the same number of SQL statements for 5 rows as for 200", async () => {
  const small = await statementsFor({ first: 5 });
  const large = await statementsFor({ first: 200 });
  expect(small.data.dids.nodes).toHaveLength(5);
  expect(large.data.dids.nodes).toHaveLength(200);
  expect(large.data.dids.nodes[199].replicas).toHaveLength(3);
  expect(large.data.dids.nodes[199].parents).toEqual([{ name: "ds19", parents: [] }]);
  expect(large.data.datasets.nodes[3].children.totalCount).toBe(10);
  expect(large.data.datasets.nodes[3].files.totalCount).toBe(10);
  // 40x the rows (and ~1,000 objects in all) costs no more statements. A batch boundary can move by
  // one statement when sibling resolvers reach a loader in different event-loop turns, so allow that
  // jitter; a per-row lookup anywhere in the query would add hundreds.
  expect(large.count).toBeLessThanOrEqual(small.count + 2);
  expect(large.count).toBeLessThanOrEqual(20);
});
