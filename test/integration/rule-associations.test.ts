import { startTestCatalog, TestCatalog } from "../support/catalog";
import { ADD_RULE, CLAIM, registerTree, REPORT, seedBackbone } from "../support/replication";

/**
 * Which rules concern a file, and which rules a transfer serves: a file covered by rules made on
 * its dataset and container lists them all (Rucio's list_associated_rules_for_file); a request
 * shared by several rules names each of them, in GraphQL and in its events.
 */
let cat: TestCatalog;
let tree: Awaited<ReturnType<typeof registerTree>>;
const rules: Record<string, string> = {};

beforeAll(async () => {
  cat = await startTestCatalog("rule_assoc");
  await seedBackbone(cat);
  tree = await registerTree(cat, "LSSTCam/raw/20250601", 2, 3);
  const add = async (key: string, name: string, rseExpression: string) =>
    (rules[key] = (await cat.ok(ADD_RULE, { i: { did: { scope: "raw", name }, rseExpression } })).addRule.id);
  // Three rules want the same copies at USDF: one on the container, one on a dataset, one on a file.
  await add("container", tree.container, "USDF_DISK");
  await add("dataset", tree.datasets[0], "USDF_DISK");
  await add("file", tree.files[0].name, "USDF_DISK");
  // And one more elsewhere.
  await add("frdf", tree.datasets[0], "FRDF_DISK");
});
afterAll(() => cat.close());

const ids = (list: Array<{ id: string }>) => list.map((r) => r.id).sort();

it("lists for a file every rule holding a lock on it, also those made on its dataset and container", async () => {
  const q = `query($n: String!) { did(scope: "raw", name: $n) { rules { id did { name } } } }`;
  const first = await cat.ok(q, { n: tree.files[0].name });
  expect(ids(first.did.rules)).toEqual([rules.container, rules.dataset, rules.file, rules.frdf].sort());
  // A file of the second dataset is covered by the container's rule alone.
  const other = await cat.ok(q, { n: tree.files[4].name });
  expect(other.did.rules).toEqual([{ id: rules.container, did: { name: tree.container } }]);
  // A dataset lists the rules made on it (locks are on files, so none arrive through them).
  const dataset = await cat.ok(q, { n: tree.datasets[0] });
  expect(ids(dataset.did.rules)).toEqual([rules.dataset, rules.frdf].sort());
});

it("names every rule a shared transfer serves, and finds it by any of them", async () => {
  const q = `query($r: String!) { transfers(filter: {ruleId: $r, destinationRse: "USDF_DISK"}) { totalCount nodes { file { name } rule { id } rules { id } } } }`;
  const byFile = await cat.ok(q, { r: rules.file });
  expect(byFile.transfers.totalCount).toBe(1);
  const [t] = byFile.transfers.nodes;
  expect(t.file.name).toBe(tree.files[0].name);
  // The request was made for the container's rule, the first to want the copy.
  expect(t.rule.id).toBe(rules.container);
  expect(ids(t.rules)).toEqual([rules.container, rules.dataset, rules.file].sort());
  expect((await cat.ok(q, { r: rules.dataset })).transfers.totalCount).toBe(3);
  expect((await cat.ok(q, { r: rules.container })).transfers.totalCount).toBe(6);
});

it("names the rules in the events about a transfer: submitted, done, and cancelled", async () => {
  const agent = await cat.token("usdf-agent", ["agent:USDF"]);
  const claimed = (await cat.ok(CLAIM, { f: "USDF", n: 100 }, agent)).claimTransfers;
  const first = claimed.find((c: any) => c.file.name === tree.files[0].name);
  await cat.ok(REPORT, { id: first.id, lease: first.lease, o: { outcome: "DONE", bytes: first.file.bytes, adler32: first.file.adler32 } }, agent);
  // Deleting the container's rule cancels the copies no other rule needs (the second dataset's).
  await cat.ok(`mutation($id: String!) { deleteRule(id: $id) }`, { id: rules.container });
  const events = (await cat.ok(`{ events(types: ["transfer-submitted", "transfer-done", "transfer-cancelled"], first: 1000) { nodes { type payload } } }`)).events.nodes;
  const about = (type: string, name: string) => events.find((e: any) => e.type === type && e.payload.name === name)?.payload;
  expect(about("transfer-submitted", tree.files[0].name).rules.sort()).toEqual([rules.container, rules.dataset, rules.file].sort());
  expect(about("transfer-done", tree.files[0].name).rules.sort()).toEqual([rules.container, rules.dataset, rules.file].sort());
  expect(about("transfer-cancelled", tree.files[4].name).rules).toEqual([rules.container]);
});
