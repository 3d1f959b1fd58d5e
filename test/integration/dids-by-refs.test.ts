import { errorOf, graphql, ok } from "../support/graphql-client";
import { startStatusFederation, STATUS_FACILITIES, STATUS_QUERY, StatusFederation } from "../support/status-federation";

/**
 * "Where are these 10,000 files, and are they ingested at each facility?" in one query through
 * the gateway, with the default limits, at a fixed number of SQL statements per subgraph.
 */
const N = 10000;
let fed: StatusFederation;
let url: string;

beforeAll(async () => {
  fed = await startStatusFederation("byrefs", N);
  url = fed.gateway.url;
}, 300000);
afterAll(() => fed?.close());

/** Runs the status query for the first `n` files through the gateway, counting each subgraph's statements. */
async function status(n: number) {
  const services = [fed.catalog.service, ...fed.facilities.map((f) => f.service)];
  const before = services.map((s) => s.database.statements.count);
  const res = await graphql(url, STATUS_QUERY, { r: fed.refs(n) });
  const counts = services.map((s, i) => s.database.statements.count - before[i]);
  return { res, counts };
}

it("answers the DIDs in the order asked, with null for one that does not exist", async () => {
  const [a, b] = fed.refs(2);
  const data = await ok(url, `query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { name } }`, {
    r: [b, { scope: "raw", name: "LSSTCam/raw/no-such-file.fits" }, a, { scope: "no such scope!", name: "x" }, b],
  });
  expect(data.didsByRefs).toEqual([{ name: b.name }, null, { name: a.name }, null, { name: b.name }]);
});

it("answers the status of 10,000 files at four facilities within the default limits, with as many SQL statements per subgraph as for 10", async () => {
  const small = await status(10);
  const { res, counts } = await status(N);
  expect(small.res.errors).toBeUndefined();
  expect(res.errors).toBeUndefined();
  const dids = res.data!.didsByRefs;
  expect(dids).toHaveLength(N);
  expect(dids[N - 1].name).toBe(fed.refs(N)[N - 1].name);
  for (const d of [dids[0], dids[4321], dids[N - 1]]) {
    expect(d.replicas.map((r: any) => r.rse.facility.code).sort()).toEqual([...STATUS_FACILITIES].sort());
    // Ingested at every facility, as the same dataset (UUID5 of type, run and data ID).
    expect(new Set(d.replicas.map((r: any) => r.butlerDataset?.id)).size).toBe(1);
    expect(d.replicas[0].butlerDataset).toMatchObject({ run: "LSSTCam/raw/all" });
    // The rule was made on the dataset; the file shows it through its lock.
    expect(d.rules).toEqual([{ id: fed.ruleId, state: "OK" }]);
  }
  // catalog: DIDs, replicas, RSEs, facilities, rules; each facility: one lookup of the datasets.
  // A batch boundary can move by one statement between event-loop turns; a per-row lookup would add thousands.
  for (const [i, n] of counts.entries()) expect(n).toBeLessThanOrEqual(small.counts[i] + 1);
  expect(counts[0]).toBeLessThanOrEqual(8);
  for (const n of counts.slice(1)) expect(n).toBeLessThanOrEqual(3);
}, 300000);

it("refuses more than 10,000 refs in one call with a coded error that says to chunk", async () => {
  const refs = [...fed.refs(N), { scope: "raw", name: "one-more.fits" }];
  const err = await errorOf(url, `query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { name } }`, { r: refs });
  expect(err.code).toBe("INVALID_INPUT");
  expect(err.message).toMatch(/at most 10000 refs/);
});
