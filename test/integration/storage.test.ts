import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { checksumsOf, checksumsOfStream } from "../../lib/checksum";
import { DbbError, ErrorCode } from "../../lib/errors";
import type { StorageDriver, StorageLocation } from "../../lib/storage/driver";
import { isPresigningDriver, openStorage, StorageSettings } from "../../lib/storage/factory";
import { crc32Base64, S3Driver } from "../../lib/storage/s3";
import { freePorts } from "../support/processes";
import { waitFor } from "../support/wait-for";
import { startTestS3Server, TestS3Server } from "../support/s3-server";

/**
 * One suite, run on both drivers (STYLE §8): whatever the store, a write is all or nothing, its
 * checksums are those of the bytes, and memory stays bounded.
 */

const MiB = 1024 * 1024;
const execFileAsync = promisify(execFile);
const DEFAULTS: StorageSettings = { credentials: {}, multipartThresholdBytes: 64 * MiB, partSizeBytes: 16 * MiB };
const SMALL_PARTS: Partial<StorageSettings> = { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB };

interface Harness {
  kind: "POSIX" | "S3";
  /** Where and how the driver is opened (the memory probe opens its own, in a fresh process). */
  probe(settings?: Partial<StorageSettings>): { location: StorageLocation; settings: StorageSettings };
  driver(settings?: Partial<StorageSettings>): StorageDriver;
  /** Temporary files or open multipart uploads the store still holds. */
  leftovers(driver: StorageDriver): Promise<string[]>;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Chunks of odd sizes, so no part boundary falls on a chunk boundary by chance. */
function oddChunks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0, k = 0; i < data.length; k++) {
    const n = 1000 + ((k * 7919) % 300000);
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** A source that yields `bytes` and then, unless it is told to fail, ends; `onChunk` sees the running total. */
function source(data: Buffer, o: { failAfter?: number; onChunk?: (sent: number) => void; delayMs?: number } = {}): Readable {
  return Readable.from(
    (async function* () {
      let sent = 0;
      for (const chunk of oddChunks(data)) {
        if (o.failAfter !== undefined && sent >= o.failAfter) throw new Error("the source broke mid-way");
        if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
        sent += chunk.length;
        yield chunk;
        o.onChunk?.(sent);
      }
    })(),
  );
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return err instanceof DbbError ? err.code : `${(err as Error).name}: ${(err as Error).message}`;
  }
  return "no error";
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

let s3: TestS3Server;
let posixRoot: string;
let outside: string;

beforeAll(async () => {
  s3 = await startTestS3Server(["test", "other"]);
  posixRoot = mkdtempSync(path.join(os.tmpdir(), "dbb-posix-"));
  outside = mkdtempSync(path.join(os.tmpdir(), "dbb-outside-"));
  writeFileSync(path.join(outside, "secret.txt"), "not yours");
});

afterAll(async () => {
  await s3?.stop();
  rmSync(posixRoot, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const posix: Harness = {
  kind: "POSIX",
  probe: (settings) => ({ location: { rse: "TEST_POSIX", kind: "POSIX", root: posixRoot }, settings: { ...DEFAULTS, ...settings } }),
  driver: (settings) => openStorage(posix.probe(settings).location, posix.probe(settings).settings),
  leftovers: async () => walk(posixRoot).filter((f) => f.endsWith(".part")),
};

const s3Harness: Harness = {
  kind: "S3",
  probe: (settings) => ({
    location: { rse: "TEST_S3", kind: "S3", endpoint: s3.endpoint, bucket: "test", prefix: "dbb/" },
    settings: { ...DEFAULTS, credentials: { TEST_S3: s3.credentials }, ...settings },
  }),
  driver: (settings) => openStorage(s3Harness.probe(settings).location, s3Harness.probe(settings).settings, {}),
  leftovers: async (driver) => {
    const out = await (driver as S3Driver).client.send(new ListMultipartUploadsCommand({ Bucket: "test" }));
    return (out.Uploads ?? []).map((u) => `${u.Key} (upload ${u.UploadId})`);
  },
};

describe.each([posix, s3Harness])("the $kind driver", (h) => {
  it("stores, reads (whole and ranges), stats and deletes an object, reporting the checksums of its bytes", async () => {
    const driver = h.driver();
    const data = randomBytes(200_001);
    const result = await driver.write("run1/raw/file one.fits", source(data));
    expect(result).toEqual(checksumsOf(data));
    expect(await driver.stat("run1/raw/file one.fits")).toEqual({ bytes: data.length });
    expect((await readAll(await driver.read("run1/raw/file one.fits"))).equals(data)).toBe(true);
    expect((await readAll(await driver.read("run1/raw/file one.fits", { start: 10, end: 19 }))).equals(data.subarray(10, 20))).toBe(true);
    expect((await readAll(await driver.read("run1/raw/file one.fits", { start: 199_990 }))).equals(data.subarray(199_990))).toBe(true);
    expect(await driver.delete("run1/raw/file one.fits")).toBe(true);
    expect(await driver.stat("run1/raw/file one.fits")).toBeNull();
    expect(await codeOf(driver.read("run1/raw/file one.fits"))).toBe(ErrorCode.OBJECT_NOT_FOUND);
    expect(await driver.delete("run1/raw/file one.fits")).toBe(false);
    expect(await driver.delete("never/written")).toBe(false);
  });

  it("tells which of many paths exist (a listing per folder on S3), among neighbours, in several folders, with awkward names", async () => {
    const driver = h.driver();
    const names = Array.from({ length: 40 }, (_, i) => `exist/night/f${String(i).padStart(3, "0")}.dat`);
    for (const n of names) await driver.write(n, Readable.from([Buffer.from(n)]));
    // Sidecars beside a few of them, a folder index, a file in another folder, a name with a space.
    const present = ["exist/night/f003.json", "exist/night/f017.yaml", "exist/night/_index.json", "exist/other/f000.json", "exist/night/f 039.json", "exist/night/f&<ü>.json"];
    for (const n of present) await driver.write(n, Readable.from([Buffer.from("{}")]));
    const asked = [
      ...names.flatMap((n) => [n.replace(/\.dat$/, ".json"), n.replace(/\.dat$/, ".yaml")]),
      "exist/night/_index.json",
      "exist/other/f000.json",
      "exist/other/_index.json",
      "exist/night/f 039.json",
      "exist/night/f&<ü>.json",
      "exist/nowhere/f.json",
    ];
    const found = await driver.existing(asked);
    expect(found && [...found].sort()).toEqual([...present].sort());
  });

  it("reads no bytes from a range that starts past the end", async () => {
    const driver = h.driver();
    await driver.write("short.txt", Readable.from([Buffer.from("12345")]));
    expect((await readAll(await driver.read("short.txt", { start: 5 }))).length).toBe(0);
    expect((await readAll(await driver.read("short.txt", { start: 100, end: 200 }))).length).toBe(0);
    expect(await codeOf(driver.read("short.txt", { start: 3, end: 1 }))).toBe(ErrorCode.INVALID_INPUT);
  });

  it("keeps names with spaces, unicode and reserved characters apart and intact", async () => {
    const driver = h.driver();
    const names = ["a b/ü é.txt", "a b/plus+and=equals&amp;", "a b/100% (final)!*'~.dat"];
    for (const [i, name] of names.entries()) await driver.write(name, Readable.from([Buffer.from(`object ${i}`)]));
    for (const [i, name] of names.entries()) expect((await readAll(await driver.read(name))).toString()).toBe(`object ${i}`);
  });

  it("replaces an existing object whole, and stores an empty one", async () => {
    const driver = h.driver();
    await driver.write("replace/me", Readable.from([Buffer.from("first version, longer")]));
    expect(await driver.write("replace/me", Readable.from([Buffer.from("second")]))).toEqual(checksumsOf(Buffer.from("second")));
    expect((await readAll(await driver.read("replace/me"))).toString()).toBe("second");
    expect(await driver.write("replace/empty", Readable.from([]))).toEqual(checksumsOf(Buffer.alloc(0)));
    expect(await driver.stat("replace/empty")).toEqual({ bytes: 0 });
  });

  it("writes a 12 MiB object in 5 MiB parts whose bytes and checksums come back identical", async () => {
    const driver = h.driver(SMALL_PARTS);
    const data = randomBytes(12 * MiB + 12345);
    const sent: string[] = [];
    if (driver instanceof S3Driver) {
      const send = driver.client.send.bind(driver.client);
      jest.spyOn(driver.client, "send").mockImplementation(((command: { constructor: { name: string } }, ...rest: unknown[]) => {
        sent.push(command.constructor.name);
        return (send as (...a: unknown[]) => unknown)(command, ...rest);
      }) as never);
    }
    expect(await driver.write("multi/part.bin", source(data))).toEqual(checksumsOf(data));
    expect(await checksumsOfStream(await driver.read("multi/part.bin"))).toEqual(checksumsOf(data));
    if (h.kind === "S3") {
      expect(sent.filter((n) => n === "UploadPartCommand")).toHaveLength(3);
      expect(sent).toContain("CompleteMultipartUploadCommand");
      expect(sent).not.toContain("PutObjectCommand");
    }
    expect(await h.leftovers(driver)).toEqual([]);
  });

  it("leaves nothing under the name, no temporary file and no open upload when the write is aborted mid-stream", async () => {
    const driver = h.driver(SMALL_PARTS);
    const controller = new AbortController();
    const data = randomBytes(20 * MiB);
    const failure = driver.write("aborted/obj.bin", source(data, { delayMs: 2, onChunk: (sent) => sent > 11 * MiB && controller.abort() }), { signal: controller.signal });
    await expect(failure).rejects.toMatchObject({ name: "AbortError" });
    expect(await driver.stat("aborted/obj.bin")).toBeNull();
    expect(await h.leftovers(driver)).toEqual([]);
  });

  it("rejects with the source's own error when the source fails mid-way, and keeps the object it was replacing", async () => {
    const driver = h.driver(SMALL_PARTS);
    await driver.write("broken/obj.bin", Readable.from([Buffer.from("the good version")]));
    for (const failAfter of [1 * MiB, 11 * MiB]) {
      await expect(driver.write("broken/obj.bin", source(randomBytes(20 * MiB), { failAfter }))).rejects.toThrow("the source broke mid-way");
      expect((await readAll(await driver.read("broken/obj.bin"))).toString()).toBe("the good version");
      expect(await h.leftovers(driver)).toEqual([]);
    }
  });

  it("hands beforeCommit the checksums of what it received before anything is visible; when it throws, nothing is stored and the replaced object stays", async () => {
    const driver = h.driver(SMALL_PARTS);
    await driver.write("commit/obj.bin", Readable.from([Buffer.from("the good version")]));
    for (const size of [1000, 11 * MiB]) {
      const data = randomBytes(size);
      const seen: unknown[] = [];
      const refusal = new DbbError(ErrorCode.CHECKSUM_MISMATCH, "not the catalog's bytes");
      const err = await driver
        .write("commit/obj.bin", source(data), {
          beforeCommit: async (received) => {
            seen.push(received);
            // Still the old object: the new one is not visible yet.
            expect((await readAll(await driver.read("commit/obj.bin"))).toString()).toBe("the good version");
            throw refusal;
          },
        })
        .catch((e) => e);
      expect(err).toBe(refusal);
      expect(seen).toEqual([checksumsOf(data)]);
      expect((await readAll(await driver.read("commit/obj.bin"))).toString()).toBe("the good version");
      expect(await h.leftovers(driver)).toEqual([]);
      expect(await driver.write("commit/new.bin", source(data), { beforeCommit: (received) => void seen.push(received) })).toEqual(checksumsOf(data));
      expect(seen).toHaveLength(2);
    }
  });

  it("streams a 300 MiB object in bounded memory: the writing process grows far less than the object", async () => {
    const mib = 300;
    const { location, settings } = h.probe({ multipartThresholdBytes: 8 * MiB, partSizeBytes: 8 * MiB });
    const { stdout } = await execFileAsync(process.execPath, [path.join(__dirname, "../support/storage-memory-probe.js"), JSON.stringify({ location, settings, mib, path: "big/300MiB.bin" })], {
      maxBuffer: 1 << 20,
    });
    const probe = JSON.parse(stdout) as { result: { bytes: number }; rssBeforeMiB: number; rssPeakMiB: number };
    const expected = await checksumsOfStream(
      Readable.from(
        (function* () {
          for (let i = 0; i < mib; i++) yield Buffer.alloc(MiB, i % 251);
        })(),
      ),
    );
    expect(probe.result).toEqual(expected);
    const driver = h.driver();
    expect(await driver.stat("big/300MiB.bin")).toEqual({ bytes: mib * MiB });
    if (process.env.DBB_TEST_SHOW_MEMORY) process.stderr.write(`${h.kind}: RSS ${probe.rssBeforeMiB.toFixed(1)} -> ${probe.rssPeakMiB.toFixed(1)} MiB writing ${mib} MiB\n`);
    // Parts of 8 MiB, two in flight, plus garbage not yet collected: 40-80 MiB measured; holding
    // the object would be 300.
    expect(probe.rssPeakMiB - probe.rssBeforeMiB).toBeLessThan(150);
    await driver.delete("big/300MiB.bin");
  });

  it("refuses paths that would leave the root or prefix with PATH_OUTSIDE_ROOT", async () => {
    const driver = h.driver();
    for (const bad of ["../x", "a/../../x", "/etc/passwd", "a/..", "nul\0byte"]) {
      expect(await codeOf(driver.write(bad, Readable.from([Buffer.from("x")])))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
      expect(await codeOf(driver.read(bad))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
      expect(await codeOf(driver.stat(bad))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
      expect(await codeOf(driver.delete(bad))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
    }
    expect(await codeOf(driver.stat(""))).toBe(ErrorCode.INVALID_INPUT);
    expect(await codeOf(driver.stat("a//b"))).toBe(ErrorCode.INVALID_INPUT);
  });
});

describe("the POSIX driver's confinement", () => {
  it("refuses to follow a symlink out of the root, for folders and for files, while one inside is followed", async () => {
    const driver = posix.driver();
    symlinkSync(outside, path.join(posixRoot, "escape"));
    symlinkSync(path.join(outside, "secret.txt"), path.join(posixRoot, "secret-link"));
    mkdirSync(path.join(posixRoot, "inside"), { recursive: true });
    symlinkSync(path.join(posixRoot, "inside"), path.join(posixRoot, "alias"));
    expect(await codeOf(driver.read("escape/secret.txt"))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
    expect(await codeOf(driver.read("secret-link"))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
    expect(await codeOf(driver.write("escape/new.txt", Readable.from([Buffer.from("x")])))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
    expect(await codeOf(driver.write("escape/deeper/new.txt", Readable.from([Buffer.from("x")])))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
    expect(await codeOf(driver.delete("escape/secret.txt"))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
    expect(readdirSync(outside)).toEqual(["secret.txt"]);
    await driver.write("alias/ok.txt", Readable.from([Buffer.from("fine")]));
    expect((await readAll(await driver.read("inside/ok.txt"))).toString()).toBe("fine");
  });

  // Root ignores file modes: run as root there is nothing to prove, and the test says it skipped.
  (process.getuid?.() === 0 ? it.skip : it)("reports a read-only folder as STORAGE_DENIED", async () => {
    const driver = posix.driver();
    mkdirSync(path.join(posixRoot, "readonly"));
    const { chmodSync } = await import("node:fs");
    chmodSync(path.join(posixRoot, "readonly"), 0o555);
    try {
      expect(await codeOf(driver.write("readonly/x", Readable.from([Buffer.from("x")])))).toBe(ErrorCode.STORAGE_DENIED);
    } finally {
      chmodSync(path.join(posixRoot, "readonly"), 0o755);
    }
  });
});

describe("the S3 driver against dbb serve s3", () => {
  it("hands out presigned GETs that plain fetch reads (whole and a range), and that fail once tampered with or expired", async () => {
    const driver = s3Harness.driver();
    expect(isPresigningDriver(driver)).toBe(true);
    if (!isPresigningDriver(driver)) return;
    const data = randomBytes(4096);
    await driver.write("presigned/obj.bin", Readable.from([data]));
    const url = await driver.presignRead("presigned/obj.bin", 300);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    const ranged = await fetch(url, { headers: { range: "bytes=100-199" } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
    const tampered = url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`);
    expect((await fetch(tampered)).status).toBe(403);
    const otherKey = url.replace("presigned/obj.bin", "presigned/other.bin");
    expect((await fetch(otherKey)).status).toBe(403);
    expect((await fetch(`${s3.endpoint}/test/dbb/presigned/obj.bin`)).status).toBe(403);
    const shortLived = await driver.presignRead("presigned/obj.bin", 1);
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await fetch(shortLived);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toMatch(/expired/);
  });

  it("presigns the very URL the SDK's getSignedUrl makes for the same signing date (path-style and AWS virtual-host, with a session token, for awkward names), which plain fetch reads", async () => {
    const signingDate = new Date("2026-12-07T12:34:56Z");
    const names = ["presigned/plain.bin", "presigned/with space + plus.bin", "presigned/ünïcödé/ß.bin", "presigned/reserved!'()*~&=?#%.bin"];
    const drivers: Array<[S3Driver, boolean]> = [
      [s3Harness.driver() as S3Driver, true],
      [new S3Driver({ rse: "AWS", kind: "S3", bucket: "some-bucket", region: "eu-west-3", prefix: "pre" }, { credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret", sessionToken: "token/with+chars=" } }), false],
    ];
    for (const [driver, local] of drivers) {
      for (const name of names) {
        const sdk = await getSignedUrl(driver.client, new GetObjectCommand({ Bucket: local ? "test" : "some-bucket", Key: driver.key(name) }), { expiresIn: 300, signingDate });
        expect(await driver.presignRead(name, 300, { signingDate })).toBe(sdk);
        if (local) {
          const data = randomBytes(100);
          await driver.write(name, Readable.from([data]));
          const res = await fetch(await driver.presignRead(name, 300));
          expect(res.status).toBe(200);
          expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
        }
      }
    }
  });

  it("maps a wrong secret or unknown key id to STORAGE_DENIED, a missing bucket to STORAGE_ERROR, a dead endpoint to NETWORK (writes, reads, stats and deletes)", async () => {
    const wrongSecret = openStorage(
      { rse: "TEST_S3", kind: "S3", endpoint: s3.endpoint, bucket: "test" },
      { ...DEFAULTS, credentials: { TEST_S3: { ...s3.credentials, secretAccessKey: "not-the-secret" } } },
      {},
    );
    const wrongKey = openStorage({ rse: "X", kind: "S3", endpoint: s3.endpoint, bucket: "test" }, { ...DEFAULTS, credentials: { X: { accessKeyId: "NOBODY", secretAccessKey: "x" } } }, {});
    const x = { bytes: 1, md5: checksumsOf(Buffer.from("x")).md5 };
    for (const driver of [wrongSecret, wrongKey]) {
      expect(await codeOf(driver.write("denied.txt", Readable.from([Buffer.from("x")])))).toBe(ErrorCode.STORAGE_DENIED);
      // Size and md5 known: streamed in one presigned PUT, refused alike.
      expect(await codeOf(driver.write("denied.txt", Readable.from([Buffer.from("x")]), x))).toBe(ErrorCode.STORAGE_DENIED);
      expect(await codeOf(driver.read("denied.txt"))).toBe(ErrorCode.STORAGE_DENIED);
      expect(await codeOf(driver.stat("denied.txt"))).toBe(ErrorCode.STORAGE_DENIED);
      expect(await codeOf(driver.delete("denied.txt"))).toBe(ErrorCode.STORAGE_DENIED);
    }
    const noBucket = openStorage({ rse: "TEST_S3", kind: "S3", endpoint: s3.endpoint, bucket: "no-such-bucket" }, { ...DEFAULTS, credentials: { TEST_S3: s3.credentials } }, {});
    const err = await noBucket.write("x", Readable.from([Buffer.from("x")])).catch((e) => e);
    expect(err).toMatchObject({ code: ErrorCode.STORAGE_ERROR, message: expect.stringMatching(/bucket does not exist/) });
    const [deadPort] = await freePorts(1, 2000, 3000);
    const dead = openStorage({ rse: "TEST_S3", kind: "S3", endpoint: `http://127.0.0.1:${deadPort}`, bucket: "test" }, { ...DEFAULTS, credentials: { TEST_S3: s3.credentials } }, {});
    expect(await codeOf(dead.stat("x"))).toBe(ErrorCode.NETWORK);
    expect(await codeOf(dead.delete("x"))).toBe(ErrorCode.NETWORK);
    expect(await codeOf(dead.write("x", Readable.from([Buffer.from("x")]), x))).toBe(ErrorCode.NETWORK);
    expect(await codeOf(dead.write("x", Readable.from([Buffer.from("x")])))).toBe(ErrorCode.NETWORK);
  });

  it("takes the credentials of an RSE without a storage.credentials entry from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", async () => {
    const location = { rse: "UNLISTED", kind: "S3" as const, endpoint: s3.endpoint, bucket: "other" };
    const fromEnv = openStorage(location, DEFAULTS, { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey });
    await fromEnv.write("env.txt", Readable.from([Buffer.from("via env")]));
    expect((await readAll(await fromEnv.read("env.txt"))).toString()).toBe("via env");
    const wrongEnv = openStorage(location, DEFAULTS, { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: "wrong" });
    expect(await codeOf(wrongEnv.read("env.txt"))).toBe(ErrorCode.STORAGE_DENIED);
  });

  it("catches bytes corrupted on the way: dbb serve s3 refuses a body that is not its Content-MD5 or a part that is not its CRC32 (BadDigest), and the ETag catches it at a store that checks neither; the PUT is undone, the multipart upload aborted", async () => {
    // A single PUT goes as a presigned URL over node:http, the parts through the SDK: each is
    // corrupted on its way, the first by a middlebox between driver and store (which, for a store
    // that checks nothing, also drops the Content-MD5 header), the parts in the SDK after their
    // CRC32 was computed.
    let storeChecks = true;
    let presignedPuts = 0;
    const middlebox = http.createServer((req, res) => {
      const presignedPut = req.method === "PUT" && /[?&]X-Amz-Signature=/.test(req.url ?? "");
      if (presignedPut) presignedPuts++;
      const headers = { ...req.headers };
      if (presignedPut && !storeChecks) delete headers["content-md5"];
      const upstream = http.request(`${s3.endpoint}${req.url}`, { method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      let first = true;
      req.on("data", (chunk: Buffer) => {
        if (presignedPut && first && chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[0] ^= 0xff;
        }
        first = false;
        upstream.write(chunk);
      });
      req.on("end", () => upstream.end());
    });
    await new Promise<void>((r) => middlebox.listen(0, "127.0.0.1", r));
    const middleboxEndpoint = `http://127.0.0.1:${(middlebox.address() as AddressInfo).port}`;
    const corruptedOnTheWay = () =>
      openStorage({ ...s3Harness.probe().location, endpoint: middleboxEndpoint }, s3Harness.probe(SMALL_PARTS).settings, {}) as S3Driver;
    for (storeChecks of [true, false]) {
      for (const [size, name] of [[1000, "corrupt/single.bin"], [11 * MiB, "corrupt/multi.bin"]] as const) {
        const driver = corruptedOnTheWay();
        // Without the headers, dbb serve s3 checks nothing and says back no CRC32, as a store
        // that ignores them.
        driver.client.middlewareStack.add(
          (next) => async (args) => {
            const request = args.request as { body?: unknown; headers: Record<string, string> };
            if (Buffer.isBuffer(request.body) && request.body.length > 0) {
              const copy = Buffer.from(request.body);
              copy[0] ^= 0xff;
              request.body = copy;
              if (!storeChecks) {
                delete request.headers["content-md5"];
                delete request.headers["x-amz-checksum-crc32"];
              }
            }
            return next(args);
          },
          { step: "build", name: "corruptBody" },
        );
        const err = await driver.write(name, source(randomBytes(size))).catch((e) => e);
        expect(err).toMatchObject({ code: ErrorCode.CHECKSUM_MISMATCH, message: expect.stringMatching(storeChecks ? /BadDigest/ : /ETag .* is not the MD5/) });
        expect(await s3Harness.driver().stat(name)).toBeNull();
        expect(await s3Harness.leftovers(driver)).toEqual([]);
      }
    }
    middlebox.closeAllConnections();
    await new Promise((r) => middlebox.close(r));
    expect(presignedPuts).toBe(2);
    expect(walk(s3.directory).filter((f) => f.includes("._S3rver_upload-"))).toEqual([]);
  });

  describe("a file whose size and md5 are known, streamed in one PUT as it comes", () => {
    const known = (data: Buffer) => ({ bytes: data.length, md5: checksumsOf(data).md5 });

    it("stores it and reports its checksums, without holding the object in memory first", async () => {
      const driver = s3Harness.driver();
      for (const size of [1, 1000, 3 * MiB]) {
        const data = randomBytes(size);
        let sentWhileSourceOpen = false;
        // The PUT is under way before the source has ended: dbb serve s3 has a temporary file for it.
        const src = source(data, {
          delayMs: 1,
          onChunk: (sent) => {
            if (sent < size && walk(s3.directory).some((f) => f.includes("._S3rver_upload-"))) sentWhileSourceOpen = true;
          },
        });
        expect(await driver.write(`stream/${size}.bin`, src, known(data))).toEqual(checksumsOf(data));
        expect(Buffer.compare(await readAll(await driver.read(`stream/${size}.bin`)), data)).toBe(0);
        if (size === 3 * MiB) expect(sentWhileSourceOpen).toBe(true);
      }
    });

    it("never completes the PUT when the bytes are not the md5's, the source breaks, beforeCommit refuses, or the write is aborted: the replaced object stays", async () => {
      const driver = s3Harness.driver();
      const good = Buffer.from("the good version");
      await driver.write("stream/obj.bin", Readable.from([good]));
      const data = randomBytes(3 * MiB);
      const other = Buffer.from(data);
      other[other.length - 1] ^= 0xff;
      const refusal = new DbbError(ErrorCode.CHECKSUM_MISMATCH, "not the catalog's bytes");
      const controller = new AbortController();
      const attempts: Array<[string, () => Promise<unknown>, (err: unknown) => void]> = [
        ["other bytes", () => driver.write("stream/obj.bin", source(other), known(data)), (err) => expect(err).toMatchObject({ code: ErrorCode.CHECKSUM_MISMATCH, message: expect.stringMatching(/md5/) })],
        ["fewer bytes", () => driver.write("stream/obj.bin", source(data.subarray(1)), known(data)), (err) => expect(err).toMatchObject({ code: ErrorCode.CHECKSUM_MISMATCH })],
        ["a broken source", () => driver.write("stream/obj.bin", source(data, { failAfter: MiB }), known(data)), (err) => expect((err as Error).message).toBe("the source broke mid-way")],
        ["beforeCommit", () => driver.write("stream/obj.bin", source(data), { ...known(data), beforeCommit: () => { throw refusal; } }), (err) => expect(err).toBe(refusal)],
        [
          "an abort",
          () => driver.write("stream/obj.bin", source(data, { delayMs: 2, onChunk: (sent) => sent > MiB && controller.abort() }), { ...known(data), signal: controller.signal }),
          (err) => expect(err).toMatchObject({ name: "AbortError" }),
        ],
      ];
      for (const [what, attempt, check] of attempts) {
        const err = await attempt().then(() => new Error(`${what}: the write succeeded`), (e) => e);
        check(err);
        expect((await readAll(await driver.read("stream/obj.bin"))).toString()).toBe(good.toString());
      }
      await waitFor("dbb serve s3 to remove the temporary files of the PUTs it never completed", () => !walk(s3.directory).some((f) => f.includes("._S3rver_upload-")), { timeoutMs: 10_000 });
    });
  });

  it("sends each multipart part with its CRC32, which dbb serve s3 checks (BadDigest, nothing kept) and says back; CRC32C, SHA1 and SHA256 alike, an unknown algorithm refused", async () => {
    const client = (s3Harness.driver() as S3Driver).client;
    const sent: Array<Record<string, string>> = [];
    const driver = s3Harness.driver(SMALL_PARTS) as S3Driver;
    driver.client.middlewareStack.add(
      (next) => async (args) => {
        sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
        return next(args);
      },
      { step: "finalizeRequest", name: "recordHeaders" },
    );
    const data = randomBytes(11 * MiB);
    await driver.write("crc/multi.bin", source(data));
    const parts = sent.filter((h) => h["x-amz-checksum-crc32"]);
    expect(parts.map((h) => h["x-amz-checksum-crc32"]).sort()).toEqual([0, 5, 10].map((mib) => crc32Base64(data.subarray(mib * MiB, (mib + 5) * MiB))).sort());
    expect(parts.every((h) => h["content-md5"] === undefined)).toBe(true);
    expect(checksumsOf(await readAll(await driver.read("crc/multi.bin")))).toEqual(checksumsOf(data));

    const body = Buffer.from("checked bytes");
    const digests = {
      ChecksumCRC32: crc32Base64(body),
      // CRC32C of the bytes, from an independent bitwise implementation (its check value, of "123456789", is e3069283).
      ChecksumCRC32C: "WnoAbw==",
      ChecksumSHA1: createHash("sha1").update(body).digest("base64"),
      ChecksumSHA256: createHash("sha256").update(body).digest("base64"),
    };
    for (const [field, value] of Object.entries(digests)) {
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "test", Key: `crc/${field}` }));
      const wrong = Buffer.from(value, "base64");
      wrong[0] ^= 0xff;
      const refused = await client.send(new UploadPartCommand({ Bucket: "test", Key: `crc/${field}`, UploadId, PartNumber: 1, Body: body, [field]: wrong.toString("base64") })).catch((e) => e);
      expect(refused).toMatchObject({ name: "BadDigest" });
      const part = await client.send(new UploadPartCommand({ Bucket: "test", Key: `crc/${field}`, UploadId, PartNumber: 1, Body: body, [field]: value }));
      expect(part).toMatchObject({ [field]: value });
      await client.send(new AbortMultipartUploadCommand({ Bucket: "test", Key: `crc/${field}`, UploadId }));
      const put = await client.send(new PutObjectCommand({ Bucket: "test", Key: `crc/${field}`, Body: body, [field]: wrong.toString("base64") })).catch((e) => e);
      expect(put).toMatchObject({ name: "BadDigest" });
      expect(await client.send(new HeadObjectCommand({ Bucket: "test", Key: `crc/${field}` })).catch((e) => e)).toMatchObject({ name: "NotFound" });
      expect(await client.send(new PutObjectCommand({ Bucket: "test", Key: `crc/${field}`, Body: body, [field]: value }))).toMatchObject({ [field]: value });
    }
    const unknown = await client.send(new PutObjectCommand({ Bucket: "test", Key: "crc/unknown", Body: body, ChecksumCRC64NVME: "AAAAAAAAAAA=" })).catch((e) => e);
    expect(unknown).toMatchObject({ name: "NotImplemented" });

    // A part with a CRC32 whose client breaks off mid-body leaves the server serving.
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "test", Key: "crc/broken" }));
    const part = Buffer.alloc(6 * MiB, 7);
    const breakOff = new AbortController();
    const broken = client
      .send(
        new UploadPartCommand({
          Bucket: "test",
          Key: "crc/broken",
          UploadId,
          PartNumber: 1,
          ContentLength: part.length,
          ChecksumCRC32: crc32Base64(part),
          Body: Readable.from((async function* () {
            yield part.subarray(0, MiB);
            await new Promise((r) => setTimeout(r, 200));
            breakOff.abort();
            yield part.subarray(MiB);
          })()),
        }),
        { abortSignal: breakOff.signal },
      )
      .catch((e) => e);
    expect(await broken).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 300));
    expect((await fetch(`${s3.endpoint}/health`)).status).toBe(200);
    await client.send(new AbortMultipartUploadCommand({ Bucket: "test", Key: "crc/broken", UploadId }));
  });

  it("tells which sidecars exist by a HEAD each in a folder asked for one file's, by a listing in a folder asked for many", async () => {
    const driver = s3Harness.driver() as S3Driver;
    // dbb's deterministic paths: a file in a folder of its own (its sidecar beside it), and a folder of many.
    await driver.write("own/ab/cd/raw_1.dat", Readable.from([Buffer.from("x")]));
    await driver.write("own/ab/cd/raw_1.json", Readable.from([Buffer.from("{}")]));
    await driver.write("own/ef/01/raw_2.dat", Readable.from([Buffer.from("x")]));
    const many = Array.from({ length: 10 }, (_, i) => `own/night/f${i}.dat`);
    for (const n of many) await driver.write(n, Readable.from([Buffer.from("x")]));
    await driver.write("own/night/_index.json", Readable.from([Buffer.from("{}")]));
    // What reaches the store, by method, through a counting middlebox.
    const seen: string[] = [];
    const middlebox = http.createServer((req, res) => {
      seen.push(`${req.method} ${/[?&]prefix=/.test(req.url ?? "") ? "listing" : "object"}`);
      const upstream = http.request(`${s3.endpoint}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => middlebox.listen(0, "127.0.0.1", r));
    const counted = openStorage({ ...s3Harness.probe().location, endpoint: `http://127.0.0.1:${(middlebox.address() as AddressInfo).port}` }, s3Harness.probe().settings, {});
    try {
      const sidecarsOf = (p: string) => [p.replace(/\.dat$/, ".json"), p.replace(/\.dat$/, ".yaml"), `${p.slice(0, p.lastIndexOf("/"))}/_index.json`];
      const asked = ["own/ab/cd/raw_1.dat", "own/ef/01/raw_2.dat", ...many].flatMap(sidecarsOf);
      const found = await counted.existing(asked);
      expect(found && [...found].sort()).toEqual(["own/ab/cd/raw_1.json", "own/night/_index.json"]);
      // Two folders of one file each: three HEADs each; the folder of ten: one listing.
      expect(seen.filter((r) => r !== "GET listing").sort()).toEqual(Array(6).fill("HEAD object"));
      expect(seen.filter((r) => r === "GET listing")).toHaveLength(1);
    } finally {
      middlebox.closeAllConnections();
      await new Promise((r) => middlebox.close(r));
    }
  });

  it("cannot tell which paths exist (null) when the paths asked are scattered over a big folder, or listing is refused", async () => {
    const driver = s3Harness.driver() as S3Driver;
    const names = Array.from({ length: 300 }, (_, i) => `scatter/f${String(i).padStart(4, "0")}.dat`);
    for (const n of names) await driver.write(n, Readable.from([Buffer.from("x")]));
    // Every 30th file's sidecar: each listing settles a handful of keys, more listings than GETs would be.
    const scattered = names.filter((_, i) => i % 30 === 0).map((n) => n.replace(/\.dat$/, ".json"));
    expect(await driver.existing(scattered)).toBeNull();
    // Neighbours in the same folder: settled.
    expect(await driver.existing(names.slice(0, 20))).toEqual(new Set(names.slice(0, 20)));
    const denied = openStorage(
      { rse: "TEST_S3", kind: "S3", endpoint: s3.endpoint, bucket: "test", prefix: "dbb/" },
      { ...DEFAULTS, credentials: { TEST_S3: { ...s3.credentials, secretAccessKey: "wrong" } } },
      {},
    );
    expect(await denied.existing(names.slice(0, 2))).toBeNull();
  });

  it("dbb serve s3 pages a ListObjectsV2 listing with continuation tokens (s3rver's own need DES, gone from Node 20's OpenSSL), with prefixes, delimiters and start-after", async () => {
    const driver = s3Harness.driver() as S3Driver;
    const names = Array.from({ length: 250 }, (_, i) => `v2list/f${String(i).padStart(4, "0")}.dat`);
    for (const n of names) await driver.write(n, Readable.from([Buffer.from("x")]));
    for (const n of ["v2list/sub a/1.txt", "v2list/sub b/2.txt"]) await driver.write(n, Readable.from([Buffer.from("y")]));
    const pages: Array<{ keys: string[]; count?: number; truncated?: boolean }> = [];
    for await (const page of paginateListObjectsV2({ client: driver.client, pageSize: 100 }, { Bucket: "test", Prefix: "dbb/v2list/f" })) {
      pages.push({ keys: (page.Contents ?? []).map((o) => o.Key!), count: page.KeyCount, truncated: page.IsTruncated });
    }
    expect(pages.map((p) => [p.keys.length, p.count, p.truncated])).toEqual([
      [100, 100, true],
      [100, 100, true],
      [50, 50, false],
    ]);
    expect(pages.flatMap((p) => p.keys)).toEqual(names.map((n) => `dbb/${n}`));
    const folders = await driver.client.send(new ListObjectsV2Command({ Bucket: "test", Prefix: "dbb/v2list/", Delimiter: "/", StartAfter: "dbb/v2list/f0247.dat" }));
    expect((folders.Contents ?? []).map((o) => [o.Key, o.Size])).toEqual([
      ["dbb/v2list/f0248.dat", 1],
      ["dbb/v2list/f0249.dat", 1],
    ]);
    expect((folders.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual(["dbb/v2list/sub a/", "dbb/v2list/sub b/"]);
    expect(await codeOf(driver.client.send(new ListObjectsV2Command({ Bucket: "test", ContinuationToken: "not-ours" })))).toMatch(/InvalidArgument/);
    expect(await codeOf(driver.client.send(new ListObjectsV2Command({ Bucket: "no-such-bucket" })))).toMatch(/NoSuchBucket/);
  });

  it("puts the RSE's prefix in front of every key", async () => {
    const driver = s3Harness.driver() as S3Driver;
    expect(driver.key("a/b.txt")).toBe("dbb/a/b.txt");
    await driver.write("prefixed.txt", Readable.from([Buffer.from("p")]));
    const bare = openStorage({ rse: "TEST_S3", kind: "S3", endpoint: s3.endpoint, bucket: "test", prefix: "" }, { ...DEFAULTS, credentials: { TEST_S3: s3.credentials } }, {});
    expect(await bare.stat("dbb/prefixed.txt")).toEqual({ bytes: 1 });
    expect(await bare.stat("prefixed.txt")).toBeNull();
  });

  it("dbb serve s3 stops cleanly on SIGTERM and serves the same objects when started again on its folder", async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), "dbb-s3-restart-"));
    try {
      const first = await startTestS3Server(["keep"], { directory });
      const location = { rse: "R", kind: "S3" as const, endpoint: first.endpoint, bucket: "keep" };
      await openStorage(location, { ...DEFAULTS, credentials: { R: first.credentials } }, {}).write("kept.txt", Readable.from([Buffer.from("still here")]));
      const exited = new Promise<number | null>((resolve) => first.process.child.once("exit", (code) => resolve(code)));
      first.process.child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(await codeOf(fetch(`${first.endpoint}/health`))).toMatch(/fetch failed/);
      const second = await startTestS3Server(["keep"], { directory, credentials: first.credentials });
      try {
        const driver = openStorage({ ...location, endpoint: second.endpoint }, { ...DEFAULTS, credentials: { R: first.credentials } }, {});
        expect((await readAll(await driver.read("kept.txt"))).toString()).toBe("still here");
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
