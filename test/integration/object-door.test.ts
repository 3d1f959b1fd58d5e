import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { ErrorCode } from "../../lib/errors";
import { serveSignedObject } from "../../lib/storage/object-door";
import { PosixDriver } from "../../lib/storage/posix";
import { signObjectUrl } from "../../lib/storage/signed-url";
import { FacilityService, startFacilityService } from "../../subgraphs/facility/service";
import { TestEnvironment, testEnvironment } from "../support/test-service";

/** The facility's signed-read door over a POSIX root, in an in-process server and in the facility service. */

const key = randomBytes(32).toString("hex");
const data = randomBytes(10_000);
let root: string;
let outside: string;
let driver: PosixDriver;
let server: http.Server;
let base: string;
let clock = Date.now();

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), "dbb-door-"));
  outside = mkdtempSync(path.join(os.tmpdir(), "dbb-door-outside-"));
  writeFileSync(path.join(outside, "secret"), "not yours");
  symlinkSync(outside, path.join(root, "escape"));
  driver = new PosixDriver({ rse: "DOOR_POSIX", kind: "POSIX", root });
  await driver.write("run/obj.bin", Readable.from([data]));
  await driver.write("run/empty", Readable.from([]));
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    void serveSignedObject(req, res, url, { key, now: () => clock, resolveDriver: async (rse) => (rse === "DOOR_POSIX" ? driver : null) });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function signed(objectPath: string, o: { rse?: string; ttlMs?: number; baseUrl?: string; signingKey?: string } = {}): string {
  return signObjectUrl({ baseUrl: o.baseUrl ?? base, rse: o.rse ?? "DOOR_POSIX", path: objectPath, expiresAt: clock + (o.ttlMs ?? 60000), key: o.signingKey ?? key });
}

async function get(url: string, headers: Record<string, string> = {}, method = "GET") {
  const res = await fetch(url, { headers, method });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body.toString()) as { error: string; code: string } };
}

/** GET with the request target exactly as given. */
function rawGet(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: new URL(base).port, path: target, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the signed-read door", () => {
  it("serves the whole object to a valid URL, and its size to HEAD", async () => {
    const res = await get(signed("run/obj.bin"));
    expect(res.status).toBe(200);
    expect(res.body.equals(data)).toBe(true);
    expect(res.headers.get("content-length")).toBe(String(data.length));
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    const head = await get(signed("run/obj.bin"), {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(data.length));
    expect(head.body.length).toBe(0);
    const empty = await get(signed("run/empty"));
    expect([empty.status, empty.body.length]).toEqual([200, 0]);
  });

  it("answers single ranges with 206 and Content-Range, clipping an end past the object", async () => {
    const cases: Array<[string, number, number]> = [
      ["bytes=10-19", 10, 19],
      ["bytes=9990-", 9990, 9999],
      ["bytes=-50", 9950, 9999],
      ["bytes=9000-99999", 9000, 9999],
      ["bytes=-20000", 0, 9999],
    ];
    for (const [range, start, end] of cases) {
      const res = await get(signed("run/obj.bin"), { range });
      expect([range, res.status, res.headers.get("content-range")]).toEqual([range, 206, `bytes ${start}-${end}/${data.length}`]);
      expect(res.body.equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  it("answers 416 with the size for an unsatisfiable range, and the whole object for a header it does not serve", async () => {
    for (const range of ["bytes=10000-", "bytes=20000-20010", "bytes=-0"]) {
      const res = await get(signed("run/obj.bin"), { range });
      expect([range, res.status, res.headers.get("content-range")]).toEqual([range, 416, `bytes */${data.length}`]);
    }
    for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=5-3"]) {
      const res = await get(signed("run/obj.bin"), { range });
      expect([range, res.status, res.body.length]).toEqual([range, 200, data.length]);
    }
  });

  it("refuses an expired URL with 403 SIGNED_URL_EXPIRED", async () => {
    const url = signed("run/obj.bin", { ttlMs: 5000 });
    const saved = clock;
    clock += 5000;
    try {
      const res = await get(url);
      expect([res.status, res.json().code]).toEqual([403, ErrorCode.SIGNED_URL_EXPIRED]);
    } finally {
      clock = saved;
    }
  });

  it("refuses a tampered URL, another key's URL or an unsigned request with 403 FORBIDDEN and a JSON body", async () => {
    const url = signed("run/obj.bin");
    const variants = [
      url.replace(/signature=([0-9a-f])/, (_m, c: string) => `signature=${c === "0" ? "1" : "0"}`),
      url.replace("run/obj.bin", "run/empty"),
      url.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 3600}`),
      signed("run/obj.bin", { signingKey: "another key of the right length, but not ours" }),
      `${base}/objects/DOOR_POSIX/run/obj.bin`,
    ];
    for (const variant of variants) {
      const res = await get(variant);
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect([res.status, res.json().code]).toEqual([403, ErrorCode.FORBIDDEN]);
      expect(res.json().error).toMatch(/not valid/);
    }
  });

  it("refuses a path out of the root with 403, even one signed with the right key (through a symlink, or as .. however encoded)", async () => {
    const viaLink = await get(signed("escape/secret"));
    expect([viaLink.status, viaLink.json().code]).toEqual([403, ErrorCode.PATH_OUTSIDE_ROOT]);
    expect(viaLink.body.toString()).not.toContain("not yours");
    // Signed with the right key over a `..` path (signObjectUrl itself refuses to make one), sent
    // as raw request targets so that no client normalizes them first.
    const escaped = `../${path.basename(outside)}/secret`;
    const expires = Math.floor((clock + 60000) / 1000);
    const sig = createHmac("sha256", key).update(`dbb-object-url\nDOOR_POSIX\n${escaped}\n${expires}`).digest("hex");
    for (const target of [`/objects/DOOR_POSIX/../${path.basename(outside)}/secret`, `/objects/DOOR_POSIX/%2E%2E/${path.basename(outside)}/secret`, `/objects/DOOR_POSIX/..%2F${path.basename(outside)}%2Fsecret`]) {
      const res = await rawGet(`${target}?expires=${expires}&signature=${sig}`);
      expect([target, res.status]).toEqual([target, 403]);
      expect([ErrorCode.FORBIDDEN, ErrorCode.PATH_OUTSIDE_ROOT]).toContain(JSON.parse(res.body).code);
      expect(res.body).not.toContain("not yours");
    }
  });

  it("answers 404 with a message saying so when it has no way to find the RSEs' storage", async () => {
    const bare = http.createServer((req, res) => void serveSignedObject(req, res, new URL(req.url ?? "/", "http://localhost"), { key }));
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const res = await get(signed("run/obj.bin", { baseUrl: `http://127.0.0.1:${(bare.address() as AddressInfo).port}` }));
      expect(res.status).toBe(404);
      expect(res.json()).toEqual({ code: ErrorCode.OBJECT_NOT_FOUND, error: expect.stringMatching(/serves no objects/) });
    } finally {
      await new Promise((resolve) => bare.close(resolve));
    }
  });

  it("answers 404 for a missing object or an RSE that is not the facility's, and 405 for other methods", async () => {
    const missing = await get(signed("run/nothing-here"));
    expect([missing.status, missing.json().code]).toEqual([404, ErrorCode.OBJECT_NOT_FOUND]);
    const otherRse = await get(signed("run/obj.bin", { rse: "ELSEWHERE" }));
    expect([otherRse.status, otherRse.json().code]).toEqual([404, ErrorCode.RSE_NOT_FOUND]);
    const post = await get(signed("run/obj.bin"), {}, "POST");
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
  });
});

describe("the facility service's /objects door", () => {
  let env: TestEnvironment;
  const services: FacilityService[] = [];

  beforeAll(async () => {
    env = await testEnvironment("object_door", { DBB_STORAGE_SIGNING_KEY: key });
  });

  afterAll(async () => {
    for (const service of services) await service.close();
    await env?.cleanup();
  });

  it("serves signed reads of the RSEs its resolveDriver knows, on the service's own port", async () => {
    const service = await startFacilityService(env.config, { code: "DoorA", port: 0, resolveDriver: async (rse) => (rse === "DOOR_POSIX" ? driver : null) });
    services.push(service);
    const baseUrl = service.url.replace(/\/graphql$/, "");
    const url = signObjectUrl({ baseUrl, rse: "DOOR_POSIX", path: "run/obj.bin", expiresAt: Date.now() + 60000, key });
    const res = await get(url, { range: "bytes=0-99" });
    expect(res.status).toBe(206);
    expect(res.body.equals(data.subarray(0, 100))).toBe(true);
    const tampered = await get(url.replace("obj.bin", "empty"));
    expect([tampered.status, tampered.json().code]).toEqual([403, ErrorCode.FORBIDDEN]);
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
  });
});
