import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config";
import { DbbError, ErrorCode } from "../errors";
import { pathSegments } from "./object-path";

/**
 * Expiring read URLs of the facility's `/objects` door, for POSIX RSEs (S3 RSEs hand out presigned
 * GETs instead): `<base>/objects/<rse>/<path>?expires=<unix seconds>&signature=<hex>`, the
 * signature an HMAC-SHA256 over the RSE, the path and the expiry. Whoever holds the URL may read
 * that one object until then; nothing else.
 */

const RSE_PATTERN = /^[A-Za-z0-9_\-.]{1,255}$/;

function signature(key: string | Uint8Array, rse: string, objectPath: string, expires: number): Buffer {
  return createHmac("sha256", key).update(`dbb-object-url\n${rse}\n${objectPath}\n${expires}`, "utf8").digest();
}

export function signObjectUrl(o: { baseUrl: string; rse: string; path: string; expiresAt: Date | number; key: string | Uint8Array }): string {
  if (!RSE_PATTERN.test(o.rse)) throw new DbbError(ErrorCode.INVALID_INPUT, `'${o.rse}' is not an RSE name`);
  const segments = pathSegments(o.path);
  const expires = Math.floor((typeof o.expiresAt === "number" ? o.expiresAt : o.expiresAt.getTime()) / 1000);
  const base = o.baseUrl.replace(/\/+$/, "");
  const sig = signature(o.key, o.rse, segments.join("/"), expires).toString("hex");
  return `${base}/objects/${encodeURIComponent(o.rse)}/${segments.map(encodeURIComponent).join("/")}?expires=${expires}&signature=${sig}`;
}

/**
 * The RSE and path a signed URL grants, or FORBIDDEN (no, malformed or wrong signature; a path
 * that is not a plain relative path) or SIGNED_URL_EXPIRED. The signature is compared in constant time.
 */
export function verifyObjectUrl(url: URL, key: string | Uint8Array, now: Date | number = Date.now()): { rse: string; path: string } {
  const forbidden = (why: string) => new DbbError(ErrorCode.FORBIDDEN, `this object URL is not valid: ${why}; ask the facility for a new one`);
  const match = /^\/objects\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!match) throw forbidden("expected /objects/<rse>/<path>");
  let rse: string;
  let segments: string[];
  try {
    rse = decodeURIComponent(match[1]);
    segments = match[2].split("/").map(decodeURIComponent);
  } catch {
    throw forbidden("the path is not valid percent-encoding");
  }
  const expiresText = url.searchParams.get("expires") ?? "";
  const given = url.searchParams.get("signature") ?? "";
  if (!/^\d{1,12}$/.test(expiresText)) throw forbidden("no expires parameter");
  if (!/^[0-9a-f]{64}$/.test(given)) throw forbidden("no signature parameter");
  const objectPath = segments.join("/");
  if (!RSE_PATTERN.test(rse) || segments.some((s) => s.includes("/"))) throw forbidden("the path does not name an object");
  const expires = Number(expiresText);
  const expected = signature(key, rse, objectPath, expires);
  if (!timingSafeEqual(expected, Buffer.from(given, "hex"))) throw forbidden("the signature does not match");
  // Checked after the signature: an expiry is only worth reporting on a URL we issued.
  const nowMs = typeof now === "number" ? now : now.getTime();
  if (nowMs >= expires * 1000) {
    throw new DbbError(ErrorCode.SIGNED_URL_EXPIRED, `this object URL expired at ${new Date(expires * 1000).toISOString()}; ask the facility for a new one`, {
      expiredAt: new Date(expires * 1000).toISOString(),
    });
  }
  pathSegments(objectPath);
  return { rse, path: objectPath };
}

/**
 * The door's HMAC key: storage.signingKey (DBB_STORAGE_SIGNING_KEY) when set; otherwise a random
 * key kept in `<dataDir>/storage-signing-key` (mode 0600), made on first use, so the facility
 * service and the agents of one data dir agree (as lib/auth.ts does for the token secret).
 */
export function resolveSigningKey(config: Pick<Config, "dataDir" | "storage">): string {
  if (config.storage.signingKey) return config.storage.signingKey;
  const file = path.join(config.dataDir, "storage-signing-key");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    mkdirSync(config.dataDir, { recursive: true });
    const key = randomBytes(32).toString("base64url");
    try {
      writeFileSync(file, key + "\n", { mode: 0o600, flag: "wx" });
      chmodSync(file, 0o600);
      return key;
    } catch (err) {
      // Another process made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8").trim();
      throw err;
    }
  }
}
