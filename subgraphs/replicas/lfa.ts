import type { EntityManager } from "typeorm";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { DID_COLUMNS, DidRow } from "./did";
import { checkDidName } from "./identifiers";
import { ReplicaRow, replicasOfDids } from "./replica";
import { RSE_COLUMNS, RseRow } from "./rse";
import { requireScopes } from "./scope";

/**
 * The Large File Annex (LFA): files the Summit's CSCs write to its object store and announce with
 * the SAL event `largeFileObjectAvailable` (ts_xml, SALGenerics.xml: url, generator, version,
 * byteSize, checkSum, mimeType, id; the CSC's name and salIndex come with the event). A
 * Summit-side bridge that listens to those events calls announceLargeFile with each one; the file
 * becomes a DID of scope `lfa` named by its object key, with the event as its metadata, and an
 * AVAILABLE replica on the LFA RSE the url points into. Its `path` is the object key, so every
 * copy a rule makes keeps the key (replica.ts replicaPathSql).
 *
 * What the CSCs write (ts_salobj AsyncS3Bucket): buckets `rubinobs-lfa-<site>` (make_bucket_name,
 * e.g. rubinobs-lfa-cp at the Summit), keys
 * `<CSC>[:<index>]/<generator>/<yyyy>/<mm>/<dd>/<CSC>[:<index>]_<generator>_<other><suffix>`
 * (make_key), and urls `<S3_ENDPOINT_URL>/<bucket>/<key>` (AsyncS3Bucket.upload; e.g.
 * https://s3.cp.lsst.org/rubinobs-lfa-cp/…), older ones `s3://<bucket>/<key>`. The checkSum is the
 * file's md5 as 32 hex digits (the HeaderService's md5Checksum of the file it uploads); many CSCs
 * send neither checkSum nor byteSize (ts_electrometer and ts_dream set url, generator, id only):
 * such a file's size and checksums are unknown until its first copy, which records them (the
 * catalog's reportTransfer), so every later copy is verified.
 *
 * An RSE is an LFA RSE when its attribute `lfa` is true; a url maps to it when it starts with the
 * RSE's attribute `lfa_url` (the URL prefix the CSCs write, e.g. https://s3.cp.lsst.org/rubinobs-lfa-cp,
 * which may differ from the endpoint the facility's agents use), with `<endpoint>/<bucket>`, or with
 * `s3://<bucket>`, followed by `/` and the key (under the RSE's prefix, when it has one).
 */
export const LFA_SCOPE = "lfa";
/** The md5 of nothing: a checkSum that says the file is empty. */
const EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e";
const CSC_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_TEXT = 256;
const MAX_URL = 1024;

/** The event as ts_xml defines it, with the CSC that published it. Missing fields take SAL's defaults ("" and 0). */
export interface LargeFileEvent {
  csc: string;
  salIndex?: number | null;
  url: string;
  generator?: string | null;
  version?: number | null;
  byteSize?: number | null;
  checkSum?: string | null;
  mimeType?: string | null;
  id?: string | null;
}

/** The announcement as stored in the DID's metadata (top-level keys, so subscriptions can filter on them). */
export interface LfaMetadata {
  csc: string;
  salIndex: number;
  generator: string;
  version: number;
  byteSize: number;
  checkSum: string;
  mimeType: string;
  id: string;
  url: string;
}

const ANNOUNCEMENT_KEYS: ReadonlyArray<keyof LfaMetadata> = ["csc", "salIndex", "generator", "version", "byteSize", "checkSum", "mimeType", "id", "url"];

export interface Announcement {
  /** False when the same event was announced before: nothing changed. */
  created: boolean;
  did: DidRow;
  /** Its replica on the LFA RSE; null when that copy has been deleted since (a re-sent event does not bring it back). */
  replica: ReplicaRow | null;
}

function text(value: unknown, field: string, max = MAX_TEXT): string {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") throw invalidInput(`${field} must be a string`, { field });
  if (value.length > max) throw invalidInput(`${field} is longer than ${max} characters`, { field });
  return value;
}

/** Validates an event at the edge; returns its metadata and what it says of the file's size and md5. */
export function checkLargeFileEvent(event: LargeFileEvent): { metadata: LfaMetadata; bytes: number | null; md5: string | null } {
  if (!event || typeof event !== "object") throw invalidInput("the event must be an object with the fields of largeFileObjectAvailable");
  if (typeof event.csc !== "string" || !CSC_PATTERN.test(event.csc)) {
    throw invalidInput(`csc must be the SAL component's name (e.g. Electrometer, ATHeaderService): letters, digits and '_'; got ${JSON.stringify(event.csc)}`, { field: "csc" });
  }
  const salIndex = event.salIndex ?? 0;
  if (!Number.isSafeInteger(salIndex) || salIndex < 0 || salIndex > 2 ** 31 - 1) throw invalidInput(`salIndex must be a whole number ≥ 0 (0 for a CSC that is not indexed)`, { field: "salIndex" });
  const url = text(event.url, "url", MAX_URL);
  if (!url) throw invalidInput("url must say where the file is: <S3 endpoint>/<bucket>/<key>", { field: "url" });
  const version = event.version ?? 0;
  if (typeof version !== "number" || !Number.isFinite(version)) throw invalidInput("version must be a number (the file format's x.y version)", { field: "version" });
  const byteSize = event.byteSize ?? 0;
  if (!Number.isSafeInteger(byteSize) || byteSize < 0) throw invalidInput(`byteSize must be a whole number of bytes ≥ 0; got ${byteSize}`, { field: "byteSize" });
  const checkSum = text(event.checkSum, "checkSum").trim().toLowerCase();
  if (checkSum && !/^[0-9a-f]{32}$/.test(checkSum)) {
    throw invalidInput(`checkSum must be the file's md5 as 32 hex digits (what the LFA's writers put there), or empty; got '${checkSum.slice(0, 80)}'`, { field: "checkSum" });
  }
  const metadata: LfaMetadata = {
    csc: event.csc,
    salIndex,
    generator: text(event.generator, "generator"),
    version,
    byteSize,
    checkSum,
    mimeType: text(event.mimeType, "mimeType"),
    id: text(event.id, "id"),
    url,
  };
  // SAL's default byteSize is 0: a 0 with no checkSum (or with another file's md5) says nothing of the size.
  const bytes = byteSize > 0 || checkSum === EMPTY_MD5 ? byteSize : null;
  return { metadata, bytes, md5: checkSum || null };
}

/** A URL prefix, normalised: scheme and host in lower case, default port dropped, no trailing slash. */
function normalisedPrefix(prefix: string): string | null {
  if (/^s3:\/\//i.test(prefix)) return `s3://${prefix.slice(5).replace(/\/+$/, "")}`;
  try {
    const u = new URL(prefix);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    return `${u.origin}${decodeURI(u.pathname).replace(/\/+$/, "")}`;
  } catch {
    return null;
  }
}

/** The URL prefixes an LFA RSE answers to. */
export function lfaPrefixes(rse: Pick<RseRow, "endpoint" | "bucket" | "attributes">): string[] {
  const given = rse.attributes.lfa_url;
  const raw = [typeof given === "string" ? given : null, rse.endpoint && rse.bucket ? `${rse.endpoint}/${rse.bucket}` : null, rse.bucket ? `s3://${rse.bucket}` : null];
  return [...new Set(raw.filter((p): p is string => !!p).map(normalisedPrefix).filter((p): p is string => !!p))];
}

/** The url as the prefixes are written: normalised scheme and host, decoded path. */
function normalisedUrl(url: string): string {
  if (/^s3:\/\//i.test(url)) return `s3://${url.slice(5)}`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DbbError(ErrorCode.LFA_URL_UNKNOWN, `url '${url.slice(0, 160)}' is not a URL`, { url: url.slice(0, 160) });
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new DbbError(
      ErrorCode.LFA_URL_UNKNOWN,
      `url '${url.slice(0, 160)}' is not in an object store (${u.protocol} URLs are where a CSC saved a file it could not upload; it is not in the LFA)`,
      { url: url.slice(0, 160) },
    );
  }
  try {
    return `${u.origin}${decodeURIComponent(u.pathname)}`;
  } catch {
    throw invalidInput(`url '${url.slice(0, 160)}' has a malformed %-escape`, { field: "url" });
  }
}

/**
 * The LFA RSE and path (object key under the RSE's prefix) a url points to. LFA_URL_UNKNOWN when
 * it points into no LFA RSE, or into several (give each its own `lfa_url`).
 */
export function mapLfaUrl(url: string, rses: RseRow[]): { rse: RseRow; path: string } {
  const target = normalisedUrl(url);
  const hits: Array<{ rse: RseRow; path: string; prefix: string }> = [];
  for (const rse of rses) {
    for (const prefix of lfaPrefixes(rse)) {
      if (!target.startsWith(`${prefix}/`)) continue;
      const key = target.slice(prefix.length + 1);
      const under = rse.prefix ? `${rse.prefix}/` : "";
      if (!key.startsWith(under) || key.length === under.length) continue;
      hits.push({ rse, path: key.slice(under.length), prefix });
      break;
    }
  }
  if (!hits.length) {
    const known = rses.map((r) => `${r.name} (${lfaPrefixes(r)[0] ?? "no URL"})`).join(", ");
    throw new DbbError(ErrorCode.LFA_URL_UNKNOWN, `url '${url.slice(0, 160)}' points into no Large File Annex RSE; the LFA RSEs are: ${known || "none (an S3 RSE with the attribute lfa=true)"}`, {
      url: url.slice(0, 160),
    });
  }
  // The longest prefix wins (an lfa_url naming a sub-folder); a tie is a configuration to fix.
  const longest = Math.max(...hits.map((h) => h.prefix.length));
  const best = hits.filter((h) => h.prefix.length === longest);
  if (new Set(best.map((h) => h.rse.name)).size > 1) {
    throw new DbbError(ErrorCode.LFA_URL_UNKNOWN, `url '${url.slice(0, 160)}' points into several LFA RSEs (${best.map((h) => h.rse.name).join(", ")}); give each its own lfa_url attribute`, {
      url: url.slice(0, 160),
      rses: best.map((h) => h.rse.name),
    });
  }
  return { rse: best[0].rse, path: best[0].path };
}

/** The live LFA RSEs: S3 RSEs whose attribute `lfa` is true. */
export async function lfaRses(db: EntityManager): Promise<RseRow[]> {
  return db.query(`SELECT ${RSE_COLUMNS} FROM rses WHERE NOT deleted AND kind = 'S3' AND attributes -> 'lfa' = 'true'::jsonb ORDER BY name`);
}

/**
 * Whether stored DID metadata is this announcement: the differing fields, or [] when they agree.
 * The url is not compared: the same object may be announced as https://… and as s3://… (the DID
 * keeps the first).
 */
function differences(stored: Record<string, unknown>, given: LfaMetadata): string[] {
  return ANNOUNCEMENT_KEYS.filter((k) => k !== "url" && stored[k] !== given[k]);
}

/**
 * Registers an announced LFA file (see above), in one transaction and idempotently: the same
 * event again changes nothing (`created: false`); an event for an object announced before with
 * other values is LFA_CONFLICT naming the fields. `authorize` is called with the LFA RSE's
 * facility before anything is written (the resolver checks the caller's scope there).
 */
export async function announceLargeFile(db: EntityManager, account: string, event: LargeFileEvent, authorize: (facility: string) => void): Promise<Announcement> {
  const { metadata, bytes, md5 } = checkLargeFileEvent(event);
  return db.transaction(async (tx) => {
    const { rse, path } = mapLfaUrl(metadata.url, await lfaRses(tx));
    authorize(rse.facility);
    const name = checkDidName(path, { field: "url" });
    await requireScopes(tx, [LFA_SCOPE]);
    const key = { scope: LFA_SCOPE, name };
    const inserted: DidRow[] = await tx.query(
      `WITH ins AS (
         INSERT INTO dids (scope, name, did_type, account, bytes, md5, metadata, is_open, path)
         VALUES ($1, $2, 'FILE', $3, $4, $5, $6::jsonb, false, $7)
         ON CONFLICT (scope, name) DO NOTHING
         RETURNING *),
       ev AS (
         INSERT INTO events (type, facility, payload)
         SELECT 'did-registered', NULL, jsonb_build_object('scope', scope, 'name', name, 'type', did_type) FROM ins)
       SELECT ${DID_COLUMNS} FROM ins d`,
      [LFA_SCOPE, name, account, bytes, md5, JSON.stringify(metadata), path],
    );
    if (inserted.length) {
      // The file is already in the LFA: recorded whatever the RSE's write availability.
      await tx.query(
        `INSERT INTO replicas (scope, name, rse_id, state, bytes, path, account) VALUES ($1, $2, $3, 'AVAILABLE', $4, $5, $6)`,
        [LFA_SCOPE, name, rse.id, bytes ?? 0, path, account],
      );
      const [replica] = await replicasOfDids(tx, [key], rse.id);
      return { created: true, did: inserted[0], replica };
    }
    const [stored]: DidRow[] = await tx.query(`SELECT ${DID_COLUMNS} FROM dids d WHERE d.scope = $1 AND d.name = $2`, [LFA_SCOPE, name]);
    const differ = differences(stored.metadata, metadata);
    if (differ.length || stored.path !== path || stored.type !== "FILE") {
      const fields = differ.length ? differ : ["path"];
      throw new DbbError(
        ErrorCode.LFA_CONFLICT,
        `${LFA_SCOPE}:${name} was announced before with other values (${fields.map((f) => `${f}: ${JSON.stringify(stored.metadata[f] ?? null)} then, ${JSON.stringify((metadata as unknown as Record<string, unknown>)[f] ?? null)} now`).join("; ")}); an LFA object is written once`,
        { scope: LFA_SCOPE, name, fields },
      );
    }
    const replicas = await replicasOfDids(tx, [key], rse.id);
    return { created: false, did: stored, replica: replicas[0] ?? null };
  });
}
