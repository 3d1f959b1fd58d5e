import type { TestCatalog } from "./catalog";

/** A small Data Backbone: RSEs at four facilities, a raw scope, and helpers to register data. */
export const RSES = [
  { name: "SUMMIT_DISK", facility: "SUMMIT", attributes: { tier: 0, site: "summit" } },
  { name: "USDF_DISK", facility: "USDF", attributes: { tier: 1, archive: true } },
  { name: "FRDF_DISK", facility: "FrDF", attributes: { tier: 1, archive: true } },
  { name: "UKDF_DISK", facility: "UKDF", attributes: { tier: 2 } },
];

export async function seedBackbone(cat: TestCatalog): Promise<void> {
  for (const [i, r] of RSES.entries()) {
    await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, {
      i: { ...r, kind: "POSIX", protocol: { root: `/data/${i}` } },
    });
  }
  await cat.ok(`mutation { addScope(name: "raw") { name } }`);
}

export const adler = (i: number) => (0x10000000 + i).toString(16);

export interface FileSpec {
  name: string;
  bytes: number;
  adler32: string;
}

/** Registers files (with replicas at `at`) and datasets attaching them, and a container over the datasets. */
export async function registerTree(
  cat: TestCatalog,
  prefix: string,
  datasets: number,
  filesPerDataset: number,
  at: string[] = ["SUMMIT_DISK"],
): Promise<{ container: string; datasets: string[]; files: FileSpec[] }> {
  const files: FileSpec[] = [];
  const dsNames: string[] = [];
  for (let d = 0; d < datasets; d++) {
    dsNames.push(`${prefix}/ds${d}`);
    for (let f = 0; f < filesPerDataset; f++) files.push({ name: `${prefix}/ds${d}/f${f}.fits`, bytes: 1000 + files.length, adler32: adler(files.length) });
  }
  const container = `${prefix}/all`;
  await cat.ok(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, {
    i: [
      ...files.map((f) => ({ scope: "raw", name: f.name, type: "FILE", bytes: f.bytes, adler32: f.adler32 })),
      ...dsNames.map((n) => ({ scope: "raw", name: n, type: "DATASET" })),
      { scope: "raw", name: container, type: "CONTAINER" },
    ],
  });
  for (const rse of at) {
    await cat.ok(`mutation($rse: String!, $r: [AddReplicaInput!]!) { addReplicas(rse: $rse, replicas: $r) { count } }`, {
      rse,
      r: files.map((f) => ({ scope: "raw", name: f.name })),
    });
  }
  for (let d = 0; d < datasets; d++) {
    await cat.ok(`mutation($p: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $p, children: $c) { count } }`, {
      p: { scope: "raw", name: dsNames[d] },
      c: files.slice(d * filesPerDataset, (d + 1) * filesPerDataset).map((f) => ({ scope: "raw", name: f.name })),
    });
  }
  await cat.ok(`mutation($p: DidRefInput!, $c: [DidRefInput!]!) { attachDids(parent: $p, children: $c) { count } }`, {
    p: { scope: "raw", name: container },
    c: dsNames.map((n) => ({ scope: "raw", name: n })),
  });
  return { container, datasets: dsNames, files };
}

export const ADD_RULE = `mutation($i: AddRuleInput!) { addRule(input: $i) { id state locksOk locksReplicating locksStuck } }`;
export const CLAIM = `mutation($f: String!, $n: Int!) { claimTransfers(facility: $f, limit: $n) {
  id lease file { scope name bytes adler32 md5 } source { name } destination { name } } }`;
export const REPORT = `mutation($id: String!, $lease: String!, $o: TransferOutcomeInput!) { reportTransfer(id: $id, lease: $lease, outcome: $o) { state attempts lastError errorCode } }`;
export const RULE = `query($id: String!) { rule(id: $id) { state locksOk locksReplicating locksStuck error
  locks(first: 10000) { totalCount nodes { name state rse { name } } } } }`;

/** A facility of a test's own, with one RSE and two agents. */
export interface Site {
  facility: string;
  rse: string;
  /** Tokens of two agents of the facility (agent:<facility>). */
  agents: [string, string];
}

/**
 * Adds a facility with one writable RSE (`<FACILITY>_DISK`): claims for it see only the work of
 * the test that made it, so tests sharing a catalog do not depend on each other's leftovers.
 */
export async function addSite(cat: TestCatalog, facility: string, attributes: Record<string, unknown> = {}): Promise<Site> {
  const rse = `${facility.toUpperCase()}_DISK`;
  await cat.ok(`mutation($i: AddRseInput!) { addRse(input: $i) { name } }`, {
    i: { name: rse, facility, kind: "POSIX", protocol: { root: `/data/${facility}` }, attributes },
  });
  const agents: [string, string] = [
    await cat.token(`${facility}-agent-1`, [`agent:${facility}`]),
    await cat.token(`${facility}-agent-2`, [`agent:${facility}`]),
  ];
  return { facility, rse, agents };
}
