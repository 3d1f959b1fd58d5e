import { readFileSync } from "node:fs";
import { DEMO_POLICIES_FILE } from "../../cli/demo/demo-policies";
import { parsePolicyFile, planPolicies } from "../../subgraphs/replicas/policy";

/** Policy files: parsed and validated before anything is sent, and planned idempotently. */
const demo = () => parsePolicyFile(readFileSync(DEMO_POLICIES_FILE, "utf8"));

it("reads the demo's five DMTN-198 policies with every template field filled in", () => {
  const file = demo();
  expect(file.subscriptions.map((s) => s.name)).toEqual(["raw-to-usdf", "raw-to-frdf", "raw-ukdf-footprint", "lfa-to-usdf", "permanent-record-to-frdf"]);
  const uk = file.subscriptions[2];
  expect(uk.rules).toEqual([
    expect.objectContaining({ rseExpression: "UKDF_DISK", sourceReplicaExpression: "FRDF_DISK", copies: 1, grouping: "DATASET", splitBy: null, lifetime: null }),
  ]);
  expect(uk.filter.sky).toEqual({ polygon: [[300, -70], [60, -70], [60, -32], [0, -30], [300, -32]] });
});

it("plans nothing for subscriptions that are already as the file says, whatever their key order", () => {
  const file = demo();
  const existing = file.subscriptions.map((s) => ({ ...s, filter: Object.fromEntries(Object.entries(s.filter).reverse()), rules: s.rules }));
  expect(planPolicies(file, existing, true)).toEqual({ add: [], update: [], unchanged: file.subscriptions.map((s) => s.name), remove: [] });
});

it("plans additions, updates and, with prune only, removals", () => {
  const file = demo();
  const existing = [
    { ...file.subscriptions[0], comment: "old" },
    { name: "retired", filter: {}, rules: [], comment: null, active: true },
  ];
  expect(planPolicies(file, existing, false)).toMatchObject({ update: ["raw-to-usdf"], remove: [] });
  expect(planPolicies(file, existing, true)).toMatchObject({ add: file.subscriptions.slice(1).map((s) => s.name), remove: ["retired"] });
});

it("refuses a bad file naming the subscription and the field", () => {
  expect(() => parsePolicyFile("subscriptions: 3")).toThrow(/list `subscriptions:`/);
  expect(() => parsePolicyFile("subscriptions:\n  - { name: a, rules: [{ rseExpression: X }] }\n  - { name: a, rules: [{ rseExpression: X }] }")).toThrow(/appears twice/);
  expect(() => parsePolicyFile("subscriptions:\n  - { name: a, filter: { sky: { box: { raMin: 1 } } }, rules: [{ rseExpression: X }] }")).toThrow(/subscription 'a': filter\.sky\.box\.\w+: must be a finite number/);
  expect(() => parsePolicyFile("subscriptions:\n  - { name: a, rules: [{ rseExpression: X, copie: 2 }] }")).toThrow(/rules\[0\]\.copie: unknown key/);
  expect(() => parsePolicyFile("subscriptions: [ {")).toThrow(/not valid YAML/);
});
