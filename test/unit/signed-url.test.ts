import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ErrorCode } from "../../lib/errors";
import { resolveSigningKey, signObjectUrl, verifyObjectUrl } from "../../lib/storage/signed-url";

const key = "k".repeat(40);
const expiresAt = new Date("2026-12-02T00:00:00Z");
const before = expiresAt.getTime() - 1000;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return "no error";
}

describe("signed object URLs", () => {
  it("grant the RSE and path they were signed for, with each path segment percent-encoded", () => {
    const url = signObjectUrl({ baseUrl: "http://facility:4002/", rse: "FRDF_POSIX", path: "raw/2025 06/ü#1.fits", expiresAt, key });
    expect(url).toMatch(/^http:\/\/facility:4002\/objects\/FRDF_POSIX\/raw\/2025%2006\/%C3%BC%231\.fits\?expires=1796169600&signature=[0-9a-f]{64}$/);
    expect(verifyObjectUrl(new URL(url), key, before)).toEqual({ rse: "FRDF_POSIX", path: "raw/2025 06/ü#1.fits" });
  });

  it("refuse a changed path, RSE, expiry or signature, another key, or no signature, with FORBIDDEN", () => {
    const url = new URL(signObjectUrl({ baseUrl: "http://f", rse: "R", path: "a/b.txt", expiresAt, key }));
    const variants = [
      url.href.replace("/a/b.txt", "/a/c.txt"),
      url.href.replace("/objects/R/", "/objects/S/"),
      url.href.replace(/expires=\d+/, `expires=${expiresAt.getTime() / 1000 + 3600}`),
      url.href.replace(/signature=([0-9a-f])/, (_m, c: string) => `signature=${c === "0" ? "1" : "0"}`),
      url.href.replace(/&signature=.*/, ""),
      url.href.replace(/signature=[0-9a-f]+/, "signature=abc"),
    ];
    for (const variant of variants) expect(codeOf(() => verifyObjectUrl(new URL(variant), key, before))).toBe(ErrorCode.FORBIDDEN);
    expect(codeOf(() => verifyObjectUrl(url, "another key, also long enough to use", before))).toBe(ErrorCode.FORBIDDEN);
  });

  it("expire at their time with SIGNED_URL_EXPIRED", () => {
    const url = new URL(signObjectUrl({ baseUrl: "http://f", rse: "R", path: "a", expiresAt, key }));
    expect(verifyObjectUrl(url, key, expiresAt.getTime() - 1)).toEqual({ rse: "R", path: "a" });
    expect(codeOf(() => verifyObjectUrl(url, key, expiresAt.getTime()))).toBe(ErrorCode.SIGNED_URL_EXPIRED);
  });

  it("cannot be made for a path that leaves the root", () => {
    for (const bad of ["../etc/passwd", "/etc/passwd", "a/../../b"]) {
      expect(codeOf(() => signObjectUrl({ baseUrl: "http://f", rse: "R", path: bad, expiresAt, key }))).toBe(ErrorCode.PATH_OUTSIDE_ROOT);
    }
  });

  it("use a key made once in the data dir (mode 0600) when storage.signingKey is not set", () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "dbb-key-"));
    try {
      const first = resolveSigningKey({ dataDir, storage: { credentials: {}, multipartThresholdBytes: 1, partSizeBytes: 1 } });
      expect(first.length).toBeGreaterThanOrEqual(32);
      expect(resolveSigningKey({ dataDir, storage: { credentials: {}, multipartThresholdBytes: 1, partSizeBytes: 1 } })).toBe(first);
      expect(readFileSync(path.join(dataDir, "storage-signing-key"), "utf8").trim()).toBe(first);
      expect(statSync(path.join(dataDir, "storage-signing-key")).mode & 0o777).toBe(0o600);
      expect(resolveSigningKey({ dataDir, storage: { credentials: {}, multipartThresholdBytes: 1, partSizeBytes: 1, signingKey: key } })).toBe(key);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
