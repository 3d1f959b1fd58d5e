import type { Config } from "../config";
import { invalidInput } from "../errors";
import type { PresigningDriver, StorageCredentials, StorageDriver, StorageKind, StorageLocation } from "./driver";
import { PosixDriver } from "./posix";
import { S3Driver } from "./s3";

/** What drivers take from the configuration: the `storage` section. */
export type StorageSettings = Config["storage"];

type Env = Record<string, string | undefined>;

/**
 * The credentials of an RSE: its entry in storage.credentials (by name, exact, else ignoring
 * case), else the standard AWS environment variables, else null (the SDK's own chain: profiles,
 * instance roles).
 */
export function storageCredentials(rse: string, settings: Pick<StorageSettings, "credentials">, env: Env = process.env): StorageCredentials | null {
  const table = settings.credentials ?? {};
  const entry = table[rse] ?? Object.entries(table).find(([name]) => name.toLowerCase() === rse.toLowerCase())?.[1];
  if (entry) return entry;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  }
  return null;
}

type DriverFactory = (location: StorageLocation, settings: StorageSettings, env: Env) => StorageDriver;

/** The protocol's `kind` picks the driver (STYLE §4). */
const DRIVERS: Record<StorageKind, DriverFactory> = {
  S3: (location, settings, env) =>
    new S3Driver(location, {
      credentials: storageCredentials(location.rse, settings, env),
      multipartThresholdBytes: settings.multipartThresholdBytes,
      partSizeBytes: settings.partSizeBytes,
    }),
  POSIX: (location) => new PosixDriver(location),
};

/** The driver for an RSE's protocol. INVALID_INPUT for a kind without a driver or a protocol missing its bucket / root. */
export function openStorage(location: StorageLocation, settings: StorageSettings, env: Env = process.env): StorageDriver {
  const factory = Object.prototype.hasOwnProperty.call(DRIVERS, location.kind) ? DRIVERS[location.kind] : undefined;
  if (!factory) throw invalidInput(`RSE ${location.rse}: no storage driver for protocol kind '${location.kind}' (known: ${Object.keys(DRIVERS).join(", ")})`);
  return factory(location, settings, env);
}

export function isPresigningDriver(driver: StorageDriver): driver is PresigningDriver {
  return typeof (driver as Partial<PresigningDriver>).presignRead === "function";
}

/**
 * Drivers kept per protocol, so that one S3 client (and its connection pool) serves every
 * transfer to the same bucket. `close()` releases them.
 */
export function createStorageCache(settings: StorageSettings, env: Env = process.env): { open(location: StorageLocation): StorageDriver; close(): void } {
  const drivers = new Map<string, StorageDriver>();
  return {
    open(location) {
      const key = JSON.stringify([location.rse, location.kind, location.endpoint ?? null, location.bucket ?? null, location.prefix ?? null, location.region ?? null, location.pathStyle ?? null, location.root ?? null]);
      let driver = drivers.get(key);
      if (!driver) {
        driver = openStorage(location, settings, env);
        drivers.set(key, driver);
      }
      return driver;
    },
    close() {
      for (const driver of drivers.values()) (driver as { close?: () => void }).close?.();
      drivers.clear();
    },
  };
}
