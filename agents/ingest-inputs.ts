import type { IncomingMessage } from "node:http";
import { parse as parseYaml } from "yaml";
import type { Config } from "../lib/config";
import type { StorageDriver } from "../lib/storage/driver";
import { isSidecarName } from "../lib/storage/sidecar-paths";
import { readZipMemberRanged } from "../lib/zip-member";
import { httpGet } from "../lib/http-get";
import { isFitsName } from "./copy";

/**
 * What the destination's agent gathers for a file's ingest on arrival, beyond the DID's metadata,
 * so that its facility can ingest it without anyone sending more (the facility decides what it
 * becomes, subgraphs/facility/arrival/arrival-plan.ts):
 *   - a FITS file's primary header, kept as the bytes go by (copy.ts);
 *   - its astro_metadata_translator sidecar, `NAME.json` / `NAME.yaml` beside it at the source or
 *     its folder's `_index.json` (only this file's entry, over __COMMON__), for a file whose
 *     header cannot be read (not a FITS name, a compressed FITS file) and whose DID metadata says
 *     nothing: read through URLs the source facility signs with the file's own read URL
 *     (readUrls(sidecars: true)), never with its credentials;
 *   - for `rubin_butler: zip_file`, the zip's `_butler_zip_index.json`, and for `dim_file`, the
 *     file itself (a Butler YAML export), read from the copy just written to its own store;
 *   - for a Large File Annex file (its DID's metadata is a largeFileObjectAvailable event,
 *     subgraphs/replicas/lfa.ts): whether its (CSC, generator, MIME type) is one `agent.lfaIngest`
 *     lists, with the instrument given there. One that is not is a plain object: nothing is
 *     gathered and its facility records it NOT_A_DATASET.
 */
export type LfaIngestEntry = Config["agent"]["lfaIngest"][number];

/** The event fields of an LFA file's DID metadata, or null for a file that is not from the LFA. */
export function lfaOrigin(metadata: Record<string, unknown> | null | undefined): { csc: string; generator: string; mimeType: string } | null {
  if (!metadata || typeof metadata.csc !== "string" || typeof metadata.url !== "string" || typeof metadata.generator !== "string") return null;
  return { csc: metadata.csc, generator: metadata.generator, mimeType: typeof metadata.mimeType === "string" ? metadata.mimeType : "" };
}

/** The configured entry an LFA file's origin matches (a field the entry leaves out matches anything), or null. */
export function lfaIngestEntry(origin: { csc: string; generator: string; mimeType: string }, entries: readonly LfaIngestEntry[]): LfaIngestEntry | null {
  return (
    entries.find(
      (e) =>
        e.csc === origin.csc &&
        (e.generator === undefined || e.generator === origin.generator) &&
        (e.mimeType === undefined || e.mimeType.toLowerCase() === origin.mimeType.toLowerCase()),
    ) ?? null
  );
}

export interface IngestNeeds {
  /** An LFA file not configured for ingest: replicated as a plain object, nothing gathered. */
  plain: boolean;
  /** The instrument its lfaIngest entry gives. */
  instrument: string | null;
  /** Keep the FITS primary header as the bytes go by. */
  header: boolean;
  /** Look for its sidecars at the source. */
  sidecar: boolean;
  /** Read its Butler index (zip_file) or export (dim_file) from the copy. */
  butlerFile: "zip_file" | "dim_file" | null;
}

/** What to gather for a claimed file, from its name and DID metadata. */
export function ingestNeeds(file: { name: string; metadata?: Record<string, unknown> | null }, lfaIngest: readonly LfaIngestEntry[]): IngestNeeds {
  const none: IngestNeeds = { plain: false, instrument: null, header: false, sidecar: false, butlerFile: null };
  const origin = lfaOrigin(file.metadata);
  let instrument: string | null = null;
  if (origin) {
    const entry = lfaIngestEntry(origin, lfaIngest);
    if (!entry) return { ...none, plain: true };
    instrument = entry.instrument ?? null;
  }
  const butler = file.metadata?.rubin_butler;
  if (butler === "zip_file" || butler === "dim_file") return { ...none, instrument, butlerFile: butler };
  const ref = file.metadata?.rubin_sidecar;
  if (ref !== undefined && ref !== null && ref !== "") return { ...none, instrument };
  const header = isFitsName(file.name);
  return { ...none, instrument, header, sidecar: !header && !origin && !isSidecarName(file.name) };
}

/** Sidecars and indexes larger than this are not read (an index of a few thousand raws' headers is a few MiB). */
const MAX_SIDECAR_BYTES = 64 * 1024 * 1024;
/** A folder's index, once read, serves the files of one claim round. */
const INDEX_CACHE_MS = 60_000;

export interface SidecarUrl {
  path: string;
  kind: string;
  url: string;
}

type Fetched = { object: Record<string, unknown> } | { missing: true } | { error: string };

/** An _index.json read once for the files of its folder (its URL's signature differs per request: cached by source and path). */
export class IndexCache {
  private readonly entries = new Map<string, { at: number; value: Promise<Fetched> }>();

  get(key: string, load: () => Promise<Fetched>): Promise<Fetched> {
    const now = Date.now();
    for (const [k, v] of this.entries) if (now - v.at > INDEX_CACHE_MS) this.entries.delete(k);
    const hit = this.entries.get(key);
    if (hit) return hit.value;
    const value = load();
    this.entries.set(key, { at: now, value });
    return value;
  }
}

/**
 * One sidecar or index at the source, through its signed URL. Every file without a readable
 * header asks for up to three (NAME.json, NAME.yaml, the folder's _index.json), most of them
 * missing: node:http on the copies' kept-alive connections, not fetch, whose per-request cost
 * (web streams, abort signals, DOMExceptions) was a tenth of the agent's CPU on small files.
 */
async function fetchObject(url: string, path: string, signal?: AbortSignal): Promise<Fetched> {
  let res: IncomingMessage;
  try {
    res = await httpGet(url, signal);
  } catch (err) {
    return { error: `cannot reach the source for ${path}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}` };
  }
  const status = res.statusCode ?? 0;
  // S3 answers 403, not 404, for a missing key to a signer that may not list the bucket.
  if (status === 404 || status === 403) {
    // Read to its end (a few hundred bytes of XML), so the connection serves the next request.
    res.resume();
    return { missing: true };
  }
  if (status !== 200) {
    res.resume();
    return { error: `the source answered HTTP ${status} for ${path}` };
  }
  const length = Number(res.headers["content-length"]);
  if (Number.isFinite(length) && length > MAX_SIDECAR_BYTES) {
    res.destroy();
    return { error: `${path} is ${length} bytes, more than the ${MAX_SIDECAR_BYTES} read` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size > MAX_SIDECAR_BYTES) {
        res.destroy();
        return { error: `${path} is more than the ${MAX_SIDECAR_BYTES} bytes read` };
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    return { error: `reading ${path} from the source failed: ${(err as Error).message}` };
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    const value = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
    if (!value || typeof value !== "object" || Array.isArray(value)) return { error: `${path} is not an object` };
    return { object: value as Record<string, unknown> };
  } catch (err) {
    return { error: `${path} is not valid ${/\.ya?ml$/i.test(path) ? "YAML" : "JSON"}: ${(err as Error).message}` };
  }
}

/**
 * The file's sidecar: the first of its own (NAME.json, NAME.yaml) that exists, else its folder's
 * index reduced to this file's entry (with __CONTENT__ and __COMMON__), else null. A sidecar that
 * cannot be read is returned as `{ error }`: the facility is told nothing of it, the agent logs it.
 */
export async function fetchSidecar(
  urls: readonly SidecarUrl[],
  fileName: string,
  o: { source: string; cache: IndexCache; signal?: AbortSignal },
): Promise<Record<string, unknown> | { error: string } | null> {
  const base = fileName.split("/").pop() ?? fileName;
  for (const u of urls) {
    const got = u.kind === "index" ? await o.cache.get(`${o.source}\u0000${u.path}`, () => fetchObject(u.url, u.path, o.signal)) : await fetchObject(u.url, u.path, o.signal);
    if ("missing" in got) continue;
    if ("error" in got) return got;
    if (u.kind !== "index") return got.object;
    const entry = got.object[base];
    if (entry === undefined) continue;
    const reduced: Record<string, unknown> = { [base]: entry, __COMMON__: got.object.__COMMON__ ?? {} };
    if (got.object.__CONTENT__ !== undefined) reduced.__CONTENT__ = got.object.__CONTENT__;
    return reduced;
  }
  return null;
}

async function readRange(driver: StorageDriver, path: string, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await driver.read(path, { start, end })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A Butler YAML export (dim_file) is read whole up to this size. */
const MAX_DIM_FILE_BYTES = 64 * 1024 * 1024;

/**
 * The text the facility needs for a zip_file (its `_butler_zip_index.json`, by range reads) or a
 * dim_file (the file), read from the agent's own copy; `{ error }` when it cannot be.
 */
export async function readButlerFile(driver: StorageDriver, path: string, bytes: number, kind: "zip_file" | "dim_file"): Promise<string | { error: string }> {
  try {
    if (kind === "dim_file") {
      if (bytes > MAX_DIM_FILE_BYTES) return { error: `the dim file is ${bytes} bytes, more than the ${MAX_DIM_FILE_BYTES} read` };
      return bytes ? (await readRange(driver, path, 0, bytes - 1)).toString("utf8") : "";
    }
    const index = await readZipMemberRanged((start, end) => readRange(driver, path, start, end), bytes, "_butler_zip_index.json");
    if (!index) return { error: "the zip holds no _butler_zip_index.json" };
    return index.toString("utf8");
  } catch (err) {
    return { error: `reading the ${kind === "zip_file" ? "zip's index" : "dim file"} from the copy failed: ${(err as Error).message}` };
  }
}
