import "reflect-metadata";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { checksumsOf } from "../../lib/checksum";
import { loadConfig } from "../../lib/config";
import { FitsValue, readFitsHeader, writeFitsFile } from "../../lib/fits-header";
import type { StorageDriver } from "../../lib/storage/driver";
import { openStorage } from "../../lib/storage/factory";
import { makeDatasetId } from "../../subgraphs/facility/dataset-id";
import { lsstCamRawHeader } from "../../subgraphs/facility/instrument/lsstcam-raw-header";
import { readZipMember } from "../../subgraphs/facility/transfers/zip-file";
import { deterministicPath } from "../../subgraphs/replicas/replica";
import { errorOf, ok } from "../support/graphql-client";
import { BUCKETS, Code, DataFederation, LFA, RSES, startDataFederation } from "../support/data-federation";
import { waitFor } from "../support/wait-for";

/**
 * What an agent gathers for ingest on arrival, with nobody sending it (agents/ingest-inputs.ts), in
 * real processes (two S3 servers, a filesystem root, the catalog, four facilities, the gateway,
 * the USDF and UKDF agents): Large File Annex files announced as the Summit's CSCs announce them,
 * copied keeping their object key under USDF's bucket (S3) and UKDF's root (POSIX), one ingested
 * (an Electrometer's photodiode readings, agent.lfaIngest's default) and one a plain object (a
 * HeaderService header); sidecars beside a file at the source, per file and per folder
 * (_index.json), fetched through URLs the source signs; a Butler zip's index and a dim file read
 * from the agent's own copy.
 */
jest.setTimeout(240_000);

let fed: DataFederation;
let bridge: string;

const gw = (query: string, variables?: Record<string, unknown>, token = fed.admin) => ok(fed.gatewayUrl, query, variables, token);

function store(code: Code | "LFA"): StorageDriver {
  if (code === "LFA") return openStorage({ rse: LFA.rse, kind: "S3", endpoint: fed.s3[0].endpoint, bucket: LFA.bucket }, loadConfig(fed.configOf("SUMMIT")).storage);
  const location =
    code === "UKDF"
      ? { rse: RSES[code], kind: "POSIX" as const, root: fed.ukdfRoot }
      : { rse: RSES[code], kind: "S3" as const, endpoint: (code === "FrDF" ? fed.s3[1] : fed.s3[0]).endpoint, bucket: BUCKETS[code], prefix: "dbb" };
  return openStorage(location, loadConfig(fed.configOf(code)).storage);
}

async function put(driver: StorageDriver, objectPath: string, bytes: Buffer) {
  await driver.write(objectPath, Readable.from([bytes]), { bytes: bytes.length });
}

async function readAll(driver: StorageDriver, p: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await driver.read(p)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Registers files in a scope with a replica at the Summit's raw RSE (at `paths` when given). */
async function atSummit(scope: string, files: Array<{ name: string; bytes: Buffer; metadata?: Record<string, unknown>; path?: string }>) {
  for (const f of files) await put(store("SUMMIT"), f.path ?? deterministicPath(scope, f.name), f.bytes);
  await gw(`mutation($i: [AddDidInput!]!) { addDids(input: $i) { count } }`, {
    i: files.map((f) => ({ scope, name: f.name, type: "FILE", ...checksumsOf(f.bytes), metadata: f.metadata ?? {} })),
  });
  await gw(`mutation($r: [AddReplicaInput!]!) { addReplicas(rse: "SUMMIT_S3", replicas: $r) { count } }`, { r: files.map((f) => ({ scope, name: f.name, path: f.path ?? null })) });
}

/** Rules for each file to USDF (S3) and UKDF (POSIX), and waits until all are OK. */
async function replicate(scope: string, names: string[], rses = ["USDF_S3", "UKDF_POSIX"]) {
  const ids: string[] = [];
  for (const name of names) {
    for (const rse of rses) ids.push((await gw(`mutation($i: AddRuleInput!) { addRule(input: $i) { id } }`, { i: { did: { scope, name }, rseExpression: rse } })).addRule.id);
  }
  await waitFor(`${ids.length} rules OK`, async () => {
    const states = await Promise.all(ids.map(async (id) => (await gw(`query($id: String!) { rule(id: $id) { state error } }`, { id })).rule));
    if (states.some((s) => s.state === "STUCK")) throw new Error(`a rule is STUCK: ${JSON.stringify(states)}`);
    return states.every((s) => s.state === "OK");
  }, { timeoutMs: 120_000 });
}

type Ingest = { rse: string; path: string; state: string | null; source: string | null; datasetId: string | null; error: string | null };

/** Each destination replica's path and ingest (USDF and UKDF), once both are told. */
async function ingestOf(scope: string, name: string): Promise<Ingest[]> {
  let result: Ingest[] = [];
  await waitFor(`${scope}:${name} told at USDF and UKDF`, async () => {
    const d = await gw(`query($s: String!, $n: String!) { did(scope: $s, name: $n) { replicas { rse { name } path ingest { state source datasetId error { code } } } } }`, { s: scope, n: name });
    result = d.did.replicas
      .filter((r: any) => r.rse.name === "USDF_S3" || r.rse.name === "UKDF_POSIX")
      .map((r: any) => ({ rse: r.rse.name, path: r.path, state: r.ingest?.state ?? null, source: r.ingest?.source ?? null, datasetId: r.ingest?.datasetId ?? null, error: r.ingest?.error?.code ?? null }));
    return result.length === 2 && result.every((r) => r.state !== null && r.state !== "PENDING");
  }, { timeoutMs: 60_000 });
  return result;
}

const rawId = (exposure: number, detector: number) => makeDatasetId("raw", "LSSTCam/raw/all", { instrument: "LSSTCam", exposure, detector }, "DATAID_TYPE_RUN");
const both = (x: Omit<Ingest, "rse" | "path">, p: string) => [
  { rse: "UKDF_POSIX", path: p, ...x },
  { rse: "USDF_S3", path: p, ...x },
];

beforeAll(async () => {
  fed = await startDataFederation("agent_arrivals", { leaseSeconds: 10, backoffSeconds: 1, maxAttempts: 3 }, undefined, { lfa: true });
  bridge = await fed.token("summit-lfa-bridge", ["lfa:SUMMIT"]);
  for (const scope of ["raw", "lfa", "products"]) await gw(`mutation($s: String!) { addScope(name: $s) { name } }`, { s: scope });
  await fed.startAgent("USDF");
  await fed.startAgent("UKDF");
}, 300_000);

afterAll(async () => {
  await fed?.close();
});

describe("Large File Annex files", () => {
  const ANNOUNCE = `mutation($e: LargeFileObjectAvailableInput!) { announceLargeFile(event: $e) { created did { name bytes md5 path } replica { rse { name } path } } }`;
  const EM_KEY = "Electrometer:103/fits/2025/06/01/EM103_O_20250601_000004.fits";
  const HEADER_KEY = "MTHeaderService/header/2025/06/01/MTHeaderService_header_MC_O_20250601_000004.yaml";
  let emBytes: Buffer;
  let exposureGroup: string;

  beforeAll(async () => {
    // The exposure the readings were taken during: its raw is at USDF and UKDF, ingested.
    const raw = writeFitsFile(lsstCamRawHeader({ begin: new Date("2025-06-02T03:10:00Z"), seqNum: 4, detector: 94, ra: 42.25, dec: -53.9 }), { width: 16, height: 16 });
    exposureGroup = String(readFitsHeader(raw).values.GROUPID);
    const rawName = "LSSTCam/raw/20250601/MC_O_20250601_000004/MC_O_20250601_000004_R22_S11.fits";
    await atSummit("raw", [{ name: rawName, bytes: raw }]);
    await replicate("raw", [rawName]);
    expect((await ingestOf("raw", rawName)).map((r) => r.state)).toEqual(["INGESTED", "INGESTED"]);

    // What ts_electrometer writes and uploads to the LFA (controller.write_fits_file), and what the MTHeaderService does.
    emBytes = writeFitsFile({
      FORMAT_V: "1", ORIGIN: "Vera C. Rubin Observatory", INSTRUME: "Electrometer_index_103", CSCNAME: "Electrometer", TIMESYS: "TAI",
      "DATE-BEG": "2025-06-02T03:10:01.000", "DATE-END": "2025-06-02T03:10:31.000", IMGTYPE: "CURR",
      CALIBCLS: "lsst.ip.isr.PhotodiodeCalib", OBSID: "EM103_O_20250601_000004", GROUPID: exposureGroup,
    } as Record<string, FitsValue>);
    await put(store("LFA"), EM_KEY, emBytes);
    const header = Buffer.from(`PRIMARY:\n- keyword: OBSID\n  value: MC_O_20250601_000004\n  comment: ImageName from Camera StartIntergration\n`);
    await put(store("LFA"), HEADER_KEY, header);
    // ts_electrometer announces url, generator and id only; the HeaderService every field.
    const em = (await gw(ANNOUNCE, { e: { csc: "Electrometer", salIndex: 103, url: `${LFA.url}/${EM_KEY}`, generator: "Electrometer:103", id: exposureGroup } }, bridge)).announceLargeFile;
    expect(em).toMatchObject({ created: true, did: { name: EM_KEY, bytes: null, md5: null, path: EM_KEY }, replica: { rse: { name: LFA.rse }, path: EM_KEY } });
    const hs = (
      await gw(
        ANNOUNCE,
        {
          e: { csc: "MTHeaderService", url: `${LFA.url}/${HEADER_KEY}`, generator: "MTHeaderService", version: 1, byteSize: header.length, checkSum: checksumsOf(header).md5, mimeType: "YAML", id: "MC_O_20250601_000004" },
        },
        bridge,
      )
    ).announceLargeFile;
    expect(hs).toMatchObject({ created: true, did: { bytes: header.length, md5: checksumsOf(header).md5 } });
    await replicate("lfa", [EM_KEY, HEADER_KEY]);
  });

  it("keep their object key under the destination's bucket (S3) and root (POSIX), byte for byte", async () => {
    for (const [key, bytes] of [[EM_KEY, emBytes], [HEADER_KEY, null]] as const) {
      const original = bytes ?? (await readAll(store("LFA"), key));
      expect((await readAll(store("USDF"), key)).equals(original)).toBe(true);
      expect(readFileSync(path.join(fed.ukdfRoot, key)).equals(original)).toBe(true);
    }
  });

  it("an Electrometer's readings listed in agent.lfaIngest become the photodiode dataset of their exposure; a HeaderService header is a plain object (NOT_A_DATASET)", async () => {
    const pd = makeDatasetId("photodiode", "LSSTCam/calib/photodiode", { instrument: "LSSTCam", exposure: 2025060100004 }, "DATAID_TYPE_RUN");
    expect(await ingestOf("lfa", EM_KEY)).toEqual(both({ state: "INGESTED", source: "photodiode", datasetId: pd, error: null }, EM_KEY));
    expect(await ingestOf("lfa", HEADER_KEY)).toEqual(both({ state: "NOT_A_DATASET", source: "none", datasetId: null, error: null }, HEADER_KEY));
    const at = await gw(`query($id: String!) { facility(code: "UKDF") { dataset(id: $id) { datasetType run dataId files { path } } } }`, { id: pd });
    expect(at.facility.dataset).toMatchObject({ datasetType: "photodiode", run: "LSSTCam/calib/photodiode", dataId: { instrument: "LSSTCam", exposure: 2025060100004 }, files: [{ path: EM_KEY }] });
  });

  it("announced without its size, a file takes size and checksums from its first copy", async () => {
    const d = await gw(`query($n: String!) { did(scope: "lfa", name: $n) { bytes md5 adler32 } }`, { n: EM_KEY });
    expect(d.did).toEqual({ bytes: emBytes.length, md5: checksumsOf(emBytes).md5, adler32: checksumsOf(emBytes).adler32 });
  });

  it("an announcement sent again through the gateway changes nothing; a bad one is refused with its code", async () => {
    const again = (await gw(ANNOUNCE, { e: { csc: "Electrometer", salIndex: 103, url: `${LFA.url}/${EM_KEY}`, generator: "Electrometer:103", id: exposureGroup } }, bridge)).announceLargeFile;
    expect(again.created).toBe(false);
    const e = await errorOf(fed.gatewayUrl, ANNOUNCE, { e: { csc: "Electrometer", url: `https://s3.cp.lsst.org/rubinobs-lfa-tuc/${EM_KEY}` } }, bridge);
    expect(e.code).toBe("LFA_URL_UNKNOWN");
    const conflict = await errorOf(fed.gatewayUrl, ANNOUNCE, { e: { csc: "Electrometer", salIndex: 103, url: `${LFA.url}/${EM_KEY}`, generator: "Electrometer:103", id: "another group" } }, bridge);
    expect([conflict.code, conflict.extensions.fields]).toEqual(["LFA_CONFLICT", ["id"]]);
  });
});

describe("sidecars at the source", () => {
  /** A raw's header as keyword → value, as `astrometadata write-sidecar` writes it (__CONTENT__ metadata). */
  const headerValues = (seqNum: number, detector: number) => {
    const fits = writeFitsFile(lsstCamRawHeader({ begin: new Date(Date.UTC(2025, 5, 4, 3, seqNum)), seqNum, detector, ra: 10, dec: -40 }));
    return { fits, values: readFitsHeader(fits).values };
  };

  it("are fetched by the agent for files whose header it cannot read (compressed FITS): NAME.json beside the file, or the folder's _index.json", async () => {
    const single = headerValues(7, 94);
    const a = headerValues(8, 90);
    const b = headerValues(8, 91);
    const { RAFTBAY: _r, CCDSLOT: _c, ...common } = a.values;
    const folder7 = "LSSTCam/20250603/MC_O_20250603_000007";
    const folder8 = "LSSTCam/20250603/MC_O_20250603_000008";
    const files = [
      { name: "LSSTCam/raw/20250603/MC_O_20250603_000007/MC_O_20250603_000007_R22_S11.fits.gz", path: `${folder7}/MC_O_20250603_000007_R22_S11.fits.gz`, bytes: gzipSync(single.fits) },
      { name: "LSSTCam/raw/20250603/MC_O_20250603_000008/MC_O_20250603_000008_R22_S00.fits.gz", path: `${folder8}/MC_O_20250603_000008_R22_S00.fits.gz`, bytes: gzipSync(a.fits) },
      { name: "LSSTCam/raw/20250603/MC_O_20250603_000008/MC_O_20250603_000008_R22_S01.fits.gz", path: `${folder8}/MC_O_20250603_000008_R22_S01.fits.gz`, bytes: gzipSync(b.fits) },
    ];
    // The sidecars live beside the files at the Summit; they are not DIDs of their own.
    await put(store("SUMMIT"), `${folder7}/MC_O_20250603_000007_R22_S11.json`, Buffer.from(JSON.stringify({ __CONTENT__: "metadata", ...single.values })));
    await put(
      store("SUMMIT"),
      `${folder8}/_index.json`,
      Buffer.from(
        JSON.stringify({
          __CONTENT__: "metadata",
          __COMMON__: common,
          "MC_O_20250603_000008_R22_S00.fits.gz": { RAFTBAY: "R22", CCDSLOT: "S00" },
          "MC_O_20250603_000008_R22_S01.fits.gz": { RAFTBAY: "R22", CCDSLOT: "S01" },
        }),
      ),
    );
    await atSummit("raw", files);
    await replicate("raw", files.map((f) => f.name));
    const expected = [rawId(2025060300007, 94), rawId(2025060300008, 90), rawId(2025060300008, 91)];
    for (const [i, f] of files.entries()) {
      expect(await ingestOf("raw", f.name)).toEqual(both({ state: "INGESTED", source: "sidecar", datasetId: expected[i], error: null }, deterministicPath("raw", f.name)));
    }
  });
});

describe("Butler zips and dim files", () => {
  it("are ingested through the zip's _butler_zip_index.json and the dim file, read from the agent's own copy (S3 and POSIX)", async () => {
    const data = path.resolve(__dirname, "../../../test/data/daf_butler");
    const zip = readFileSync(path.join(data, "ci_hsc-calexp-butler.zip"));
    const dims = readFileSync(path.join(data, "base.yaml"));
    await atSummit("products", [
      { name: "HSC/runs/ci_hsc/ci_hsc-calexp-butler.zip", bytes: zip, metadata: { rubin_butler: "zip_file", rubin_sidecar: "" } },
      { name: "HSC/dims/base.yaml", bytes: dims, metadata: { rubin_butler: "dim_file", rubin_sidecar: "" } },
    ]);
    await replicate("products", ["HSC/runs/ci_hsc/ci_hsc-calexp-butler.zip", "HSC/dims/base.yaml"]);
    const [id] = Object.keys(JSON.parse(readZipMember(zip, "_butler_zip_index.json")!.toString("utf8")).refs.compact_refs);
    const zipAt = await ingestOf("products", "HSC/runs/ci_hsc/ci_hsc-calexp-butler.zip");
    expect(zipAt.map((r) => [r.rse, r.state, r.source, r.datasetId])).toEqual([
      ["UKDF_POSIX", "INGESTED", "zip_index", id],
      ["USDF_S3", "INGESTED", "zip_index", id],
    ]);
    const dimAt = await ingestOf("products", "HSC/dims/base.yaml");
    expect(dimAt.map((r) => [r.rse, r.state, r.source])).toEqual([
      ["UKDF_POSIX", "INGESTED", "dim_file"],
      ["USDF_S3", "INGESTED", "dim_file"],
    ]);
  });
});
