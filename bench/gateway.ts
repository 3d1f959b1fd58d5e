import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { signToken } from "../lib/auth";
import { loadConfig } from "../lib/config";
import { localSubgraphSdl } from "../gateway/local-sdl";
import { composeSupergraph } from "../gateway/supergraph";
import { createTestDatabase, TestDatabase } from "../test/support/postgres";
import { freePorts, ServiceProcess, spawnDbb, trackChild } from "../test/support/processes";
import { seedStatusData, statusFileName } from "../test/support/status-federation";
import { machine, median, peakRssMiB, throughput, writeResults, serviceEnv } from "./measure";

/**
 * The gateway's own cost, against Hive Gateway (npm @graphql-hive/gateway, run with its defaults
 * by its `hive-gateway supergraph` command) serving the same supergraph over the same two
 * subgraph processes (the catalog and one facility, USDF: Hive routes the facility subgraph to one
 * URL), and against a client calling the subgraphs directly. Closed-loop load of CONNECTIONS
 * callers for SECONDS per round; the three sides take turns in each round (the order rotating),
 * and the figure is requests per second with per-round ratios. Two queries: the RSEs with their
 * facility (catalog only) and one file's replicas with their Butler dataset (catalog, then the
 * facility). Every caller sends the same query, as many users asking for the same thing at once.
 */
const ROUNDS = Number(process.env.DBB_BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.DBB_BENCH_GATEWAY_SECONDS ?? 4);
const CONNECTIONS = Number(process.env.DBB_BENCH_GATEWAY_CONNECTIONS ?? 10);
const FILES = 100;

const RSES = `{ rses { name facility { code } } }`;
const FILE = statusFileName(7);
const REPLICAS = `{ did(scope: "raw", name: "${FILE}") { replicas { rse { name } state butlerDataset { id run } } } }`;
const CATALOG_PART = `{ did(scope: "raw", name: "${FILE}") { replicas { scope name facilityCode rse { name } state } } }`;
const FACILITY_PART = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Replica { butlerDataset { id run } } } }`;

async function postJson(url: string, body: string): Promise<any> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const answer = (await res.json()) as { data?: any; errors?: unknown[] };
  if (answer.errors?.length || !answer.data) throw new Error(`${url}: ${JSON.stringify(answer.errors?.[0] ?? answer)}`);
  return answer.data;
}

/** Hive Gateway as its CLI serves a supergraph file, bound to loopback. */
async function startHive(supergraphFile: string, port: number, cwd: string): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  const bin = path.resolve(__dirname, "../../node_modules/.bin/hive-gateway");
  const child = trackChild(
    spawn(bin, ["supergraph", supergraphFile, "--host", "127.0.0.1", "--port", String(port)], {
      cwd,
      // In production mode, as `dbb` runs ours (bin/dbb.js): graphql-js is cheaper there for both.
      env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? "production" },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}/graphql`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hive-gateway exited with ${child.exitCode}: ${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readiness`, { signal: AbortSignal.timeout(5000) });
      if (res.status === 200) return { child, url, stop };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`hive-gateway did not become ready: ${output}`);
}

export async function run(): Promise<void> {
  const secret = randomBytes(24).toString("hex");
  const dir = mkdtempSync(path.join(tmpdir(), "dbb-bench-gateway-"));
  const dbs: TestDatabase[] = await Promise.all(["bench_gw_catalog", "bench_gw_usdf"].map(createTestDatabase));
  const dbbs: Array<{ name: string; p: ServiceProcess }> = [];
  let hive: Awaited<ReturnType<typeof startHive>> | undefined;
  const env = (db?: string) => serviceEnv(secret, dir, db);
  try {
    const ports = await freePorts(4, 29000, 30000);
    const catalog = await spawnDbb(["serve", "replicas", "--port", String(ports[0])], ports[0], env(dbs[0].url));
    dbbs.push({ name: "catalog", p: catalog });
    const usdf = await spawnDbb(["serve", "facility", "--facility", "USDF", "--port", String(ports[1])], ports[1], env(dbs[1].url));
    dbbs.push({ name: "facility USDF", p: usdf });
    const configFile = path.join(dir, "gateway.yaml");
    writeFileSync(configFile, stringify({ gateway: { catalog: catalog.url, facilities: [{ code: "USDF", url: usdf.url }] } }));
    const gateway = await spawnDbb(["serve", "gateway", "--config", configFile, "--port", String(ports[2])], ports[2], env());
    dbbs.push({ name: "gateway", p: gateway });
    const supergraphFile = path.join(dir, "supergraph.graphql");
    writeFileSync(supergraphFile, composeSupergraph(await localSubgraphSdl(), { catalog: catalog.url, facility: usdf.url }));
    hive = await startHive(supergraphFile, ports[3], dir);

    const config = loadConfig(undefined, { DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dir });
    const token = (subject: string, scopes: string[]) => signToken(config, { subject, scopes, ttlSeconds: 3600 });
    await seedStatusData(
      { catalog: { url: catalog.url, token: await token("bench", ["catalog:admin"]) }, facilities: [{ code: "USDF", url: usdf.url, token: await token("USDF-agent", ["agent:USDF"]) }] },
      FILES,
    );

    const rsesBody = JSON.stringify({ query: RSES });
    const replicasBody = JSON.stringify({ query: REPLICAS });
    const catalogPartBody = JSON.stringify({ query: CATALOG_PART });
    const checkRses = (data: any) => {
      if (data.rses?.[0]?.facility?.code !== "USDF") throw new Error(`unexpected answer ${JSON.stringify(data)}`);
    };
    const checkReplicas = (data: any) => {
      if (!data.did?.replicas?.[0]?.butlerDataset?.id) throw new Error(`unexpected answer ${JSON.stringify(data)}`);
    };
    const queries = [
      {
        name: "rses { name facility { code } }",
        sides: {
          ours: async () => checkRses(await postJson(gateway.url, rsesBody)),
          hive: async () => checkRses(await postJson(hive!.url, rsesBody)),
          direct: async () => checkRses(await postJson(catalog.url, rsesBody)),
        },
      },
      {
        name: "one file's replicas + butlerDataset",
        sides: {
          ours: async () => checkReplicas(await postJson(gateway.url, replicasBody)),
          hive: async () => checkReplicas(await postJson(hive!.url, replicasBody)),
          direct: async () => {
            const data = await postJson(catalog.url, catalogPartBody);
            const replicas = data.did.replicas as Array<Record<string, any>>;
            const answer = await postJson(
              usdf.url,
              JSON.stringify({ query: FACILITY_PART, variables: { r: replicas.map((r) => ({ __typename: "Replica", scope: r.scope, name: r.name, facilityCode: r.facilityCode })) } }),
            );
            answer._entities.forEach((e: any, i: number) => (replicas[i].butlerDataset = e?.butlerDataset ?? null));
            checkReplicas(data);
          },
        },
      },
    ];
    type Side = "ours" | "hive" | "direct";
    const rows = [];
    for (const q of queries) {
      const rps: Record<Side, number[]> = { ours: [], hive: [], direct: [] };
      const sides = Object.keys(rps) as Side[];
      for (const side of sides) await throughput(q.sides[side], CONNECTIONS, 1); // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        const order = sides.slice(round % 3).concat(sides.slice(0, round % 3));
        for (const side of order) rps[side].push(await throughput(q.sides[side], CONNECTIONS, SECONDS));
        process.stderr.write(`${q.name}, round ${round + 1}: ours ${Math.round(rps.ours[round])}, hive ${Math.round(rps.hive[round])}, direct ${Math.round(rps.direct[round])} rps\n`);
      }
      const overHive = rps.ours.map((r, i) => r / rps.hive[i]);
      const overDirect = rps.ours.map((r, i) => r / rps.direct[i]);
      rows.push({
        query: q.name,
        oursRps: Math.round(median(rps.ours)),
        hiveRps: Math.round(median(rps.hive)),
        directRps: Math.round(median(rps.direct)),
        oursOverHive: Number(median(overHive).toFixed(2)),
        oursOverDirect: Number(median(overDirect).toFixed(2)),
        oursOverHiveRounds: overHive.map((r) => Number(r.toFixed(2))),
        oursOverDirectRounds: overDirect.map((r) => Number(r.toFixed(2))),
        rounds: { ours: rps.ours.map(Math.round), hive: rps.hive.map(Math.round), direct: rps.direct.map(Math.round) },
      });
    }
    const peakRss = { ...Object.fromEntries(dbbs.map(({ name, p }) => [name, peakRssMiB(p.child.pid!)])), "hive-gateway": peakRssMiB(hive.child.pid!) };
    const file = writeResults("gateway", {
      entry: "gateway",
      what: `requests/s of ${CONNECTIONS} closed-loop callers sending the same query: our gateway vs Hive Gateway (defaults) on the same supergraph and subgraphs vs the subgraphs called directly`,
      target: "at least 1× Hive Gateway, at least 0.6× direct",
      hiveGateway: JSON.parse(readFileSync(path.resolve(__dirname, "../../node_modules/@graphql-hive/gateway/package.json"), "utf8")).version,
      machine: machine(),
      rounds: ROUNDS,
      secondsPerRound: SECONDS,
      connections: CONNECTIONS,
      rows,
      peakRssMiB: peakRss,
    });
    process.stdout.write(
      `\n| query (${CONNECTIONS} callers) | ours | Hive Gateway | subgraphs direct | ours / Hive | ours / direct |\n|---|---|---|---|---|---|\n` +
        rows.map((r) => `| ${r.query} | ${r.oursRps} rps | ${r.hiveRps} rps | ${r.directRps} rps | ${r.oursOverHive}× | ${r.oursOverDirect}× |`).join("\n") +
        `\n\npeak RSS (MiB): ${JSON.stringify(peakRss)}\nwritten to ${file}\n`,
    );
  } finally {
    await hive?.stop();
    await Promise.all(dbbs.map(({ p }) => p.stop()));
    await Promise.all(dbs.map((d) => d.drop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
