import { DbbError, ErrorCode } from "../../lib/errors";
import { GraphqlClient } from "../../lib/graphql-client";
import type { Logger } from "../../lib/logger";
import type { PresigningDriver, StorageDriver, StorageLocation } from "../../lib/storage/driver";
import { createStorageCache, StorageSettings } from "../../lib/storage/factory";
import { sidecarPaths } from "../../lib/storage/sidecar-paths";
import { signObjectUrl } from "../../lib/storage/signed-url";

/**
 * The facility's signed-read door: an agent of another facility that the catalog handed a
 * transfer with a source here gets a short-lived URL to read that one file, and nothing else.
 * The check is the catalog's: the door asks it, with the agent's own token, which of the
 * requests that agent holds right now (transfersHeld), and signs only those whose source RSE is
 * one of this facility's. S3 RSEs answer with presigned GETs (the facility's own credentials
 * never leave it); POSIX RSEs with an HMAC-signed URL of this service's GET /objects/….
 *
 * Sidecars: asked with `sidecars`, the door also signs, for each request it signs, the paths where
 * astro_metadata_translator's sidecars of that file would be (lib/storage/sidecar-paths.ts:
 * `NAME.json`, `NAME.yaml` and the folder's `_index.json`, beside the file at the source), so the
 * destination's agent can ingest a file whose metadata is in a sidecar without anyone sending it.
 * It signs only those that exist where the store can tell cheaply (StorageDriver.existing): most
 * files have none, and each GET that misses cost the source store as much as a copy's GET.
 * Nothing else beside the file is signed: the agent learns no other object of this store.
 */
export interface ReadUrlRow {
  request: string;
  url: string | null;
  expiresAt: Date | null;
  error: { code: string; message: string } | null;
  /**
   * With `sidecars`: signed URLs of the file's sidecars. Only those that exist when the store
   * can tell in a few requests (on S3 a HEAD each, or a listing per folder asked for more than
   * one file's; a stat each on POSIX), else every place they may be (a GET says).
   */
  sidecars?: Array<{ path: string; kind: "file" | "index"; url: string }> | null;
}

export interface ReadDoorOptions {
  facility: string;
  /** The catalog subgraph (facility.catalog). */
  catalogUrl: string;
  storage: StorageSettings;
  /** HMAC key of the POSIX door's URLs (read on first use). */
  signingKey: () => string | Uint8Array;
  /** This service's URL as other facilities reach it (facility.publicUrl), without /graphql. */
  publicUrl: () => string;
  expiresSeconds: number;
  logger: Logger;
}

export interface ReadDoor {
  sign(authorization: string | undefined, requests: string[], options?: { sidecars?: boolean }): Promise<ReadUrlRow[]>;
  /** The driver of one of this facility's RSEs (null for an unknown RSE or another facility's), for GET /objects. */
  driver(rse: string): Promise<StorageDriver | null>;
}

interface HeldTransfer {
  id: string;
  sourcePath: string | null;
  source: { name: string; kind: "S3" | "POSIX"; facility: { code: string }; protocol: { endpoint: string | null; bucket: string | null; prefix: string; region: string | null; root: string | null } } | null;
}

const HELD = `query ($ids: [String!]!) { transfersHeld(ids: $ids) {
  id sourcePath source { name kind facility { code } protocol { endpoint bucket prefix region root } } } }`;
const RSE = `query ($name: String!) { rse(name: $name) { name kind facility { code } protocol { endpoint bucket prefix region root } } }`;

/** How long an RSE's protocol, once looked up, is trusted for GET /objects. */
const RSE_CACHE_MS = 60_000;
export const MAX_READ_URLS = 1000;

function locationOf(rse: NonNullable<HeldTransfer["source"]>): StorageLocation {
  return { rse: rse.name, kind: rse.kind, ...rse.protocol };
}

export function createReadDoor(o: ReadDoorOptions): ReadDoor {
  const mine = (code: string) => code.toLowerCase() === o.facility.toLowerCase();
  const rses = new Map<string, { at: number; driver: StorageDriver | null }>();

  // One driver (and S3 client) per RSE protocol, for every signature.
  const drivers = createStorageCache(o.storage);
  const driverFor = (location: StorageLocation): StorageDriver => drivers.open(location);

  /**
   * Of the sidecar paths of the held transfers, those that exist, by source RSE (the store asked
   * once per RSE); an RSE missing from the answer could not tell, and all its paths are signed.
   */
  const sidecarsPresent = async (held: Array<HeldTransfer | null>): Promise<Map<string, Set<string>>> => {
    const byRse = new Map<string, { location: StorageLocation; paths: string[] }>();
    for (const h of held) {
      if (!h?.source || h.sourcePath == null || !mine(h.source.facility.code)) continue;
      const entry = byRse.get(h.source.name) ?? { location: locationOf(h.source), paths: [] };
      entry.paths.push(...sidecarPaths(h.sourcePath).map((p) => p.path));
      byRse.set(h.source.name, entry);
    }
    const present = new Map<string, Set<string>>();
    await Promise.all(
      [...byRse].map(async ([rse, { location, paths }]) => {
        try {
          const found = await driverFor(location).existing(paths);
          if (found) present.set(rse, found);
        } catch (err) {
          o.logger.warn({ rse, err: (err as Error).message }, "could not tell which sidecars exist; signing every place they may be");
        }
      }),
    );
    return present;
  };

  return {
    async sign(authorization, requests, options = {}) {
      if (requests.length > MAX_READ_URLS) throw new DbbError(ErrorCode.INVALID_INPUT, `at most ${MAX_READ_URLS} requests per call`, { argument: "requests" });
      const catalog = new GraphqlClient({ url: o.catalogUrl, token: authorization?.replace(/^Bearer\s+/i, ""), timeoutMs: 15_000, userAgent: `dbb-facility-${o.facility}` });
      const { transfersHeld } = await catalog.request<{ transfersHeld: Array<HeldTransfer | null> }>(HELD, { ids: requests });
      const expiresAt = new Date(Date.now() + o.expiresSeconds * 1000);
      const present = options.sidecars ? await sidecarsPresent(transfersHeld) : null;
      return Promise.all(
        requests.map(async (request, i): Promise<ReadUrlRow> => {
          const held = transfersHeld[i];
          if (!held || !held.source || held.sourcePath == null || !mine(held.source.facility.code)) {
            return {
              request,
              url: null,
              expiresAt: null,
              error: {
                code: ErrorCode.FORBIDDEN,
                message: `request ${request} is not one the catalog has handed to your agent with a source at ${o.facility}; ask for read URLs only for requests you hold, at their source facility`,
              },
            };
          }
          try {
            const location = locationOf(held.source);
            const signPath = async (objectPath: string) =>
              location.kind === "S3"
                ? (driverFor(location) as PresigningDriver).presignRead(objectPath, o.expiresSeconds)
                : signObjectUrl({ baseUrl: o.publicUrl(), rse: location.rse, path: objectPath, expiresAt, key: o.signingKey() });
            const url = await signPath(held.sourcePath);
            const here = present?.get(held.source.name);
            const sidecars = options.sidecars
              ? await Promise.all(sidecarPaths(held.sourcePath).filter((p) => !here || here.has(p.path)).map(async (p) => ({ ...p, url: await signPath(p.path) })))
              : null;
            return { request, url, expiresAt, error: null, sidecars };
          } catch (err) {
            const e = err instanceof DbbError ? err : new DbbError(ErrorCode.STORAGE_ERROR, (err as Error).message);
            o.logger.warn({ request, code: e.code, err: e.message }, "signing a read URL failed");
            return { request, url: null, expiresAt: null, error: { code: e.code, message: e.message } };
          }
        }),
      );
    },

    async driver(rse) {
      const cached = rses.get(rse);
      if (cached && Date.now() - cached.at < RSE_CACHE_MS) return cached.driver;
      const catalog = new GraphqlClient({ url: o.catalogUrl, timeoutMs: 15_000, userAgent: `dbb-facility-${o.facility}` });
      let driver: StorageDriver | null = null;
      try {
        const { rse: row } = await catalog.request<{ rse: HeldTransfer["source"] }>(RSE, { name: rse });
        if (row && mine(row.facility.code) && row.kind === "POSIX") driver = driverFor(locationOf(row));
      } catch (err) {
        if (!(err instanceof DbbError && err.code === ErrorCode.RSE_NOT_FOUND)) throw err;
      }
      rses.set(rse, { at: Date.now(), driver });
      return driver;
    },
  };
}
