import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../lib/config";
import { ErrorCode } from "../../lib/errors";
import { createStorageCache, isPresigningDriver, openStorage, storageCredentials } from "../../lib/storage/factory";
import { PosixDriver } from "../../lib/storage/posix";
import { S3Driver } from "../../lib/storage/s3";

function withConfigFile<T>(yaml: string, fn: (file: string) => T): T {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dbb-config-"));
  try {
    const file = path.join(dir, "dbb.yaml");
    writeFileSync(file, yaml);
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("storage configuration and the driver factory", () => {
  it("reads storage.credentials by RSE name from the config file, with the defaults of the other keys", () => {
    const config = withConfigFile(
      "storage:\n  credentials:\n    USDF_S3: { accessKeyId: AK, secretAccessKey: SK }\n    FRDF_S3: { accessKeyId: AK2, secretAccessKey: SK2, sessionToken: T }\n",
      (file) => loadConfig(file, {}),
    );
    expect(config.storage).toEqual({
      credentials: { USDF_S3: { accessKeyId: "AK", secretAccessKey: "SK" }, FRDF_S3: { accessKeyId: "AK2", secretAccessKey: "SK2", sessionToken: "T" } },
      multipartThresholdBytes: 64 * 1024 * 1024,
      partSizeBytes: 16 * 1024 * 1024,
    });
    expect(loadConfig(undefined, {}).storage).toEqual({ credentials: {}, multipartThresholdBytes: 64 * 1024 * 1024, partSizeBytes: 16 * 1024 * 1024 });
    expect(loadConfig(undefined, { DBB_STORAGE_PART_SIZE_BYTES: "8388608" }).storage.partSizeBytes).toBe(8388608);
  });

  it("refuses parts under S3's 5 MiB, a credential without its secret, and unknown keys, naming the key", () => {
    expect(() => loadConfig(undefined, { DBB_STORAGE_PART_SIZE_BYTES: "1048576" })).toThrow(/storage\.partSizeBytes.*at least 5 MiB/);
    expect(() => withConfigFile("storage:\n  credentials:\n    USDF_S3: { accessKeyId: AK }\n", (file) => loadConfig(file, {}))).toThrow(/storage\.credentials\.USDF_S3\.secretAccessKey/);
    expect(() => withConfigFile("storage:\n  credential: {}\n", (file) => loadConfig(file, {}))).toThrow(/storage/);
  });

  it("takes an RSE's credentials from its entry (by name, then ignoring case), else the AWS variables, else none", () => {
    const settings = { credentials: { USDF_S3: { accessKeyId: "AK", secretAccessKey: "SK" } } };
    const env = { AWS_ACCESS_KEY_ID: "ENVAK", AWS_SECRET_ACCESS_KEY: "ENVSK", AWS_SESSION_TOKEN: "ENVT" };
    expect(storageCredentials("USDF_S3", settings, env)).toEqual({ accessKeyId: "AK", secretAccessKey: "SK" });
    expect(storageCredentials("usdf_s3", settings, env)).toEqual({ accessKeyId: "AK", secretAccessKey: "SK" });
    expect(storageCredentials("OTHER", settings, env)).toEqual({ accessKeyId: "ENVAK", secretAccessKey: "ENVSK", sessionToken: "ENVT" });
    expect(storageCredentials("OTHER", settings, { AWS_ACCESS_KEY_ID: "only the id" })).toBeNull();
  });

  it("picks the driver by the protocol's kind and refuses a kind it has no driver for", () => {
    const settings = loadConfig(undefined, {}).storage;
    const s3 = openStorage({ rse: "A", kind: "S3", endpoint: "http://127.0.0.1:9", bucket: "b" }, settings, {});
    expect(s3).toBeInstanceOf(S3Driver);
    expect(isPresigningDriver(s3)).toBe(true);
    const posix = openStorage({ rse: "B", kind: "POSIX", root: "/data/b" }, settings, {});
    expect(posix).toBeInstanceOf(PosixDriver);
    expect(isPresigningDriver(posix)).toBe(false);
    expect(() => openStorage({ rse: "C", kind: "GRIDFTP" as never }, settings, {})).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_INPUT }));
    expect(() => openStorage({ rse: "D", kind: "POSIX", root: "relative/root" }, settings, {})).toThrow(/absolute root/);
    expect(() => openStorage({ rse: "E", kind: "S3", endpoint: "http://x" }, settings, {})).toThrow(/needs a bucket/);
  });

  it("keeps one driver per protocol in a cache", () => {
    const cache = createStorageCache(loadConfig(undefined, {}).storage, {});
    const location = { rse: "A", kind: "S3" as const, endpoint: "http://127.0.0.1:9", bucket: "b" };
    expect(cache.open(location)).toBe(cache.open({ ...location }));
    expect(cache.open(location)).not.toBe(cache.open({ ...location, bucket: "c" }));
    cache.close();
  });
});
