import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DataSource, EntityManager } from "typeorm";
import { stringify } from "yaml";
import { signToken } from "../lib/auth";
import { loadConfig } from "../lib/config";
import { graphql } from "../test/support/graphql-client";
import { createTestDatabase, TestDatabase } from "../test/support/postgres";
import { freePorts, ServiceProcess, spawnDbb } from "../test/support/processes";
import { seedStatusData, STATUS_FACILITIES, STATUS_QUERY, statusRefs } from "../test/support/status-federation";
import { datasetsByDid } from "../subgraphs/facility/dataset";
import { didsByRefs } from "../subgraphs/replicas/did";
import { facilitiesByCode } from "../subgraphs/replicas/facility";
import { replicasOfDids } from "../subgraphs/replicas/replica";
import { rsesById } from "../subgraphs/replicas/rse";
import { rulesOfDids } from "../subgraphs/replicas/rule";
import { cpuMs, interleaved, machine, median, peakRssMiB, writeResults, serviceEnv } from "./measure";

/**
 * "Where are these N files, and are they ingested at each facility?" through the gateway
 * (`didsByRefs` with replicas, their RSE and facility, their Butler dataset at each facility,
 * and the rules), against its peer: a client sending the same lookups straight to the
 * subgraphs (the catalog's part, then each facility's `_entities` concurrently) and stitching
 * them itself. The ratio is the gateway's overhead; N = 100, 1,000, 10,000 shows how it grows.
 * The SQL time, two ways: the same statements the services send (the catalog's didsByRefs,
 * replicas, rules, RSEs and facilities, then each facility's datasets of its files, concurrently),
 * sent from this process through the same driver with no GraphQL and no HTTP (the rows parsed
 * here, in one process); and the server's part of them alone (each counted by the server).
 * Every service is its own `dbb serve` process on its own database of the local Postgres server.
 */
const SIZES = [100, 1000, 10000];
const ROUNDS = Number(process.env.DBB_BENCH_ROUNDS ?? 7);

/** The catalog's half of the status query: what the gateway asks the catalog for. */
const CATALOG_PART = `query($r: [DidRefInput!]!) { didsByRefs(refs: $r) { scope name bytes
  replicas { scope name facilityCode rse { name facility { code } } state } rules { id state } } }`;
const FACILITY_PART = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Replica { butlerDataset { id run } } } }`;

async function post(url: string, query: string, variables: Record<string, unknown>) {
  const res = await graphql(url, query, variables);
  if (res.errors?.length) throw new Error(`${url}: ${JSON.stringify(res.errors[0])}`);
  return res.data;
}

export async function run(): Promise<void> {
  const secret = randomBytes(24).toString("hex");
  const dir = mkdtempSync(path.join(tmpdir(), "dbb-bench-status-"));
  const dbs: TestDatabase[] = await Promise.all(["bench_catalog", ...STATUS_FACILITIES.map((c) => `bench_${c}`)].map(createTestDatabase));
  const processes: Array<{ name: string; p: ServiceProcess }> = [];
  const sources: DataSource[] = [];
  const env = (db?: string) => serviceEnv(secret, dir, db);
  try {
    const ports = await freePorts(6, 26000, 28000);
    const catalog = await spawnDbb(["serve", "replicas", "--port", String(ports[0])], ports[0], env(dbs[0].url));
    processes.push({ name: "catalog", p: catalog });
    const facilities = await Promise.all(
      STATUS_FACILITIES.map((code, i) => spawnDbb(["serve", "facility", "--facility", code, "--port", String(ports[i + 1])], ports[i + 1], env(dbs[i + 1].url))),
    );
    facilities.forEach((p, i) => processes.push({ name: `facility ${STATUS_FACILITIES[i]}`, p }));
    const configFile = path.join(dir, "gateway.yaml");
    writeFileSync(
      configFile,
      stringify({ gateway: { catalog: catalog.url, facilities: STATUS_FACILITIES.map((code, i) => ({ code, url: facilities[i].url })), facilityTimeoutMs: 60000 } }),
    );
    const gateway = await spawnDbb(["serve", "gateway", "--config", configFile, "--port", String(ports[5])], ports[5], env());
    processes.push({ name: "gateway", p: gateway });

    const config = loadConfig(undefined, { DBB_AUTH_SECRET: secret, DBB_DATA_DIR: dir });
    const token = (subject: string, scopes: string[]) => signToken(config, { subject, scopes, ttlSeconds: 3600 });
    process.stderr.write(`registering and ingesting ${SIZES[SIZES.length - 1]} files at ${STATUS_FACILITIES.length} facilities…\n`);
    await seedStatusData(
      {
        catalog: { url: catalog.url, token: await token("bench", ["catalog:admin"]) },
        facilities: await Promise.all(STATUS_FACILITIES.map(async (code, i) => ({ code, url: facilities[i].url, token: await token(`${code}-agent`, [`agent:${code}`]) }))),
      },
      SIZES[SIZES.length - 1],
    );
    const facilityUrl = new Map(STATUS_FACILITIES.map((code, i) => [code.toLowerCase(), facilities[i].url]));

    // CPU time each process spends on one status call through the gateway (summed over the rounds of the largest N).
    const cpu: Record<string, number[]> = Object.fromEntries(processes.map(({ name }) => [name, []]));
    let recordCpu = false;
    const throughGateway = async (refs: unknown[]) => {
      const before = processes.map(({ p }) => cpuMs(p.child.pid!));
      const data = await post(gateway.url, STATUS_QUERY, { r: refs });
      if (recordCpu) processes.forEach(({ name, p }, i) => cpu[name].push(cpuMs(p.child.pid!) - before[i]));
      if (data.didsByRefs.length !== refs.length || !data.didsByRefs[0].replicas[0].butlerDataset) throw new Error("incomplete answer through the gateway");
    };
    const direct = async (refs: unknown[]) => {
      const data = await post(catalog.url, CATALOG_PART, { r: refs });
      const groups = new Map<string, Array<Record<string, any>>>();
      for (const did of data.didsByRefs) {
        for (const r of did.replicas) {
          const key = r.facilityCode.toLowerCase();
          if (!groups.has(key)) groups.set(key, []);
          groups.get(key)!.push(r);
        }
      }
      await Promise.all(
        [...groups].map(async ([code, replicas]) => {
          const answer = await post(facilityUrl.get(code)!, FACILITY_PART, {
            r: replicas.map((r) => ({ __typename: "Replica", scope: r.scope, name: r.name, facilityCode: r.facilityCode })),
          });
          answer._entities.forEach((e: any, i: number) => (replicas[i].butlerDataset = e?.butlerDataset ?? null));
        }),
      );
      if (!data.didsByRefs[0].replicas[0].butlerDataset) throw new Error("incomplete answer from the subgraphs");
    };

    // The SQL peer: the services' own statements (the functions their DataLoaders call), in the order the gateway needs them.
    for (const d of dbs) sources.push(await new DataSource({ type: "postgres", url: d.url, poolSize: 4 }).initialize());
    const catalogDb = sources[0].manager;
    const facilityDb = new Map(STATUS_FACILITIES.map((code, i) => [code.toLowerCase(), sources[i + 1].manager]));
    const sqlOnly = async (refs: Array<{ scope: string; name: string }>) => {
      const dids = (await didsByRefs(catalogDb, refs)).filter((d): d is NonNullable<typeof d> => d !== null);
      const [replicas] = await Promise.all([replicasOfDids(catalogDb, dids), rulesOfDids(catalogDb, dids)]);
      const rseIds = [...new Set(replicas.map((r) => r.rseId))];
      const rses = await rsesById(catalogDb, rseIds);
      const codes = [...new Set(rses.map((r) => r.facility))];
      await facilitiesByCode(catalogDb, codes);
      const byFacility = new Map<string, Array<{ scope: string; name: string }>>();
      for (const r of replicas) {
        const key = r.facilityCode.toLowerCase();
        if (!byFacility.has(key)) byFacility.set(key, []);
        byFacility.get(key)!.push({ scope: r.scope, name: r.name });
      }
      const found = await Promise.all([...byFacility].map(([code, keys]) => datasetsByDid(facilityDb.get(code)!, keys)));
      if (dids.length !== refs.length || found.some((f) => !f.length)) throw new Error("incomplete answer from SQL");
      return { dids, rseIds, codes, byFacility };
    };
    // The server's part alone: the same statements, each counted by the server (SELECT count(*) over
    // it), so no row crosses to a client or is parsed; the keys each needs are found beforehand.
    const counted = (db: EntityManager) =>
      ({ query: async (sql: string, params: unknown[]) => (await db.query(`SELECT count(*) FROM (${sql}) AS q`, params), []) }) as unknown as EntityManager;
    const countedCatalog = counted(catalogDb);
    const countedFacility = new Map([...facilityDb].map(([code, db]) => [code, counted(db)]));
    const serverOnly = async (refs: Array<{ scope: string; name: string }>, keys: Awaited<ReturnType<typeof sqlOnly>>) => {
      await didsByRefs(countedCatalog, refs);
      await Promise.all([replicasOfDids(countedCatalog, keys.dids), rulesOfDids(countedCatalog, keys.dids)]);
      await rsesById(countedCatalog, keys.rseIds);
      await facilitiesByCode(countedCatalog, keys.codes);
      await Promise.all([...keys.byFacility].map(([code, k]) => datasetsByDid(countedFacility.get(code)!, k)));
    };

    const rows = [];
    for (const n of SIZES) {
      const refs = statusRefs(n);
      recordCpu = n === SIZES[SIZES.length - 1];
      const r = await interleaved(ROUNDS, () => throughGateway(refs), () => direct(refs));
      recordCpu = false;
      const q = await interleaved(ROUNDS, () => throughGateway(refs), () => sqlOnly(refs));
      const keys = await sqlOnly(refs);
      const v = await interleaved(ROUNDS, () => throughGateway(refs), () => serverOnly(refs, keys));
      const row = {
        n,
        gatewayMs: Math.round(median(r.ours)),
        directMs: Math.round(median(r.peer)),
        ratio: Number(median(r.ratios).toFixed(2)),
        ratios: r.ratios.map((x) => Number(x.toFixed(2))),
        gatewayRounds: r.ours.map(Math.round),
        directRounds: r.peer.map(Math.round),
        sqlMs: Math.round(median(q.peer)),
        sqlRatio: Number(median(q.ratios).toFixed(2)),
        sqlRatios: q.ratios.map((x) => Number(x.toFixed(2))),
        sqlRounds: q.peer.map(Math.round),
        gatewayRoundsBesideSql: q.ours.map(Math.round),
        serverMs: Math.round(median(v.peer)),
        serverRatio: Number(median(v.ratios).toFixed(2)),
        serverRatios: v.ratios.map((x) => Number(x.toFixed(2))),
        serverRounds: v.peer.map(Math.round),
        gatewayRoundsBesideServer: v.ours.map(Math.round),
      };
      rows.push(row);
      process.stderr.write(
        `N=${n}: gateway ${row.gatewayMs} ms, direct ${row.directMs} ms, gateway/direct ${row.ratio} (rounds ${row.ratios.join(" ")}); ` +
          `SQL ${row.sqlMs} ms, gateway/SQL ${row.sqlRatio} (rounds ${row.sqlRatios.join(" ")}); ` +
          `server ${row.serverMs} ms, gateway/server ${row.serverRatio} (rounds ${row.serverRatios.join(" ")})\n`,
      );
    }
    const last = rows[rows.length - 1];
    const growth = Number((last.gatewayMs / last.n / (rows[1].gatewayMs / rows[1].n)).toFixed(2));
    const peakRss = Object.fromEntries(processes.map(({ name, p }) => [name, peakRssMiB(p.child.pid!)]));
    const file = writeResults("status", {
      entry: "status",
      what: "didsByRefs status of N files at 4 facilities, through the gateway vs the same lookups sent to the subgraphs directly, and vs the services' SQL statements alone",
      machine: machine(),
      rounds: ROUNDS,
      rows,
      perDidGrowth10kOver1k: growth,
      cpuMsPerGatewayCall: Object.fromEntries(Object.entries(cpu).map(([name, ms]) => [name, Math.round(median(ms))])),
      peakRssMiB: peakRss,
    });
    process.stdout.write(
      `\n| N | gateway (median) | direct to subgraphs | gateway / direct | SQL through the driver | gateway / that | SQL, server's part | gateway / that |\n|---|---|---|---|---|---|---|---|\n` +
        rows.map((r) => `| ${r.n.toLocaleString("en")} | ${r.gatewayMs} ms | ${r.directMs} ms | ${r.ratio}× | ${r.sqlMs} ms | ${r.sqlRatio}× | ${r.serverMs} ms | ${r.serverRatio}× |`).join("\n") +
        `\n\ntime per DID at 10,000 over time per DID at 1,000: ${growth} (1 = linear)\npeak RSS (MiB): ${JSON.stringify(peakRss)}\nCPU ms per call at N=${last.n} through the gateway: ${JSON.stringify(Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(median(v))])))}\nwritten to ${file}\n`,
    );
  } finally {
    await Promise.all(sources.map((s) => s.destroy()));
    await Promise.all(processes.map(({ p }) => p.stop()));
    await Promise.all(dbs.map((d) => d.drop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
