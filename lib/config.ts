import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { DbbError, ErrorCode } from "./errors";

/**
 * Configuration: an optional YAML file (`--config FILE` or `DBB_CONFIG`), then environment
 * overrides. Everything is validated here, at the edge; a bad file is refused with the path of
 * the offending key.
 *
 * ```yaml
 * dataDir: ./.dbb                 # DBB_DATA_DIR: embedded databases and the local signing key
 * database:
 *   url: postgres://user@host/db  # DBB_DATABASE_URL: a real Postgres server instead of embedded
 *   statementTimeoutMs: 120000    # DBB_DATABASE_STATEMENT_TIMEOUT_MS: longer statements are cancelled (QUERY_TIMEOUT)
 *   connectTimeoutMs: 10000       # DBB_DATABASE_CONNECT_TIMEOUT_MS: a server that does not answer fails the start
 * auth:
 *   secret: ...                   # DBB_AUTH_SECRET: HS256 shared secret
 *   jwksUrl: https://.../jwks     # DBB_AUTH_JWKS_URL: verify RS/ES tokens against a JWKS
 *   issuer: dbb                   # DBB_AUTH_ISSUER
 *   audience: dbb                 # DBB_AUTH_AUDIENCE
 * replicas:
 *   port: 4001                    # DBB_REPLICAS_PORT
 * transfers:
 *   maxAttempts: 5                # DBB_TRANSFER_MAX_ATTEMPTS
 *   backoffSeconds: 60            # DBB_TRANSFER_BACKOFF_SECONDS (doubles each failure)
 *   leaseSeconds: 300             # DBB_TRANSFER_LEASE_SECONDS
 *   tombstoneDelaySeconds: 86400  # DBB_TOMBSTONE_DELAY_SECONDS
 *   judgeIntervalSeconds: 30      # DBB_JUDGE_INTERVAL_SECONDS
 * subscriptions:
 *   intervalSeconds: 5            # DBB_SUBSCRIPTIONS_INTERVAL_SECONDS: the matcher's pace
 *   batchSize: 5000               # DBB_SUBSCRIPTIONS_BATCH_SIZE: events or DIDs per transaction
 * removals:
 *   gateway: http://127.0.0.1:4000/graphql   # DBB_REMOVALS_GATEWAY_URL: where the catalog asks facilities which files a removal's runs hold
 *   timeoutMs: 60000              # a facility that has not answered by then is asked again later
 *   resolveRetrySeconds: 30       # first retry of a facility that did not answer (doubling, up to an hour)
 * facility:
 *   code: FrDF                    # DBB_FACILITY (or --facility)
 *   port: 4002                    # DBB_FACILITY_PORT
 *   catalog: http://127.0.0.1:4001/graphql   # DBB_FACILITY_CATALOG: the catalog, asked before a read URL is signed
 *   publicUrl: https://dbb.frdf.example      # DBB_FACILITY_PUBLIC_URL: how other facilities reach this service (signed POSIX reads)
 *   readUrlSeconds: 900           # how long a signed read URL stays valid
 *   ingestRetrySeconds: 30        # DBB_FACILITY_INGEST_RETRY_SECONDS: retry round of failed ingests (0: none)
 * agent:
 *   gateway: http://127.0.0.1:4000/graphql   # DBB_GATEWAY_URL: everything the agent asks goes through the gateway
 *   port: 4010                    # DBB_AGENT_PORT: GET /health and /metrics
 *   streams: 8                    # DBB_AGENT_STREAMS: copies at once
 *   pollSeconds: 2                # how often it looks for work when idle
 *   reportSeconds: 10             # how often it reports itself (Facility.agents)
 *   stallSeconds: 60              # a copy that receives nothing for this long fails with TIMEOUT
 *   deletionBatch: 100            # deletions claimed per round
 *   lfaIngest:                    # LFA products ingested on arrival, by their event's CSC, generator, MIME type (others: plain objects)
 *     - { csc: Electrometer, generator: "Electrometer:103", instrument: LSSTCam }   # the flat-field projector's photodiode
 * gateway:
 *   port: 4000                    # DBB_GATEWAY_PORT
 *   catalog: http://127.0.0.1:4001/graphql      # DBB_GATEWAY_CATALOG
 *   facilities:
 *     - { code: USDF, url: http://127.0.0.1:4002/graphql }
 *   facilityTimeoutMs: 10000
 *   refreshSeconds: 15
 *   limits: { maxDepth: 12, maxCost: 250000, maxDocumentBytes: 32768, maxAliases: 30, maxBatch: 10 }
 * storage:                        # the facility's own RSEs (lib/storage); read by `dbb serve facility` and `dbb serve agent`
 *   credentials:                  # by RSE name; an RSE without an entry uses AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 *     USDF_S3: { accessKeyId: ..., secretAccessKey: ..., sessionToken: ... }   # sessionToken optional
 *   multipartThresholdBytes: 67108864  # DBB_STORAGE_MULTIPART_THRESHOLD_BYTES: larger objects go multipart (smaller: one PUT, held in memory)
 *   partSizeBytes: 16777216       # DBB_STORAGE_PART_SIZE_BYTES: multipart part size, at least 5 MiB
 *   signingKey: ...               # DBB_STORAGE_SIGNING_KEY: HMAC key of the /objects door's URLs; default a random key in <dataDir>/storage-signing-key
 * log:
 *   level: info                   # DBB_LOG_LEVEL
 * cli:
 *   url: http://127.0.0.1:4000/graphql  # DBB_URL (or --url): the gateway the dbb client commands talk to
 *   token: ...                    # DBB_TOKEN: the bearer token they send
 * ```
 */
/** Whether a text is a URL the pg driver can use: postgres:// or postgresql:// with a host and a database. */
function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "postgres:" || url.protocol === "postgresql:") && (url.hostname.length > 0 || url.searchParams.has("host")) && url.pathname.length > 1;
  } catch {
    return false;
  }
}

const ConfigSchema = z
  .object({
    dataDir: z.string().min(1).default("./.dbb"),
    database: z
      .object({
        url: z
          .string()
          .min(1)
          .refine(isPostgresUrl, {
            message: "database.url must be a Postgres URL such as postgres://user@host:5432/dbname (scheme postgres: or postgresql:, a host, a database name)",
          })
          .optional(),
        poolSize: z.number().int().min(1).max(100).default(10),
        /** Every statement is cancelled after this long (QUERY_TIMEOUT), on a server and on the embedded database. */
        statementTimeoutMs: z.number().int().min(100).max(3600000).default(120000),
        /** Connecting (at start, and for each new pooled connection) gives up after this long. */
        connectTimeoutMs: z.number().int().min(100).max(600000).default(10000),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        secret: z.string().min(16, "auth.secret must be at least 16 characters").optional(),
        jwksUrl: z.string().url().optional(),
        issuer: z.string().min(1).default("dbb"),
        audience: z.string().min(1).default("dbb"),
      })
      .strict()
      .default({ issuer: "dbb", audience: "dbb" }),
    replicas: z
      .object({
        port: z.number().int().min(0).max(65535).default(4001),
        host: z.string().default("127.0.0.1"),
      })
      .strict()
      .default({ port: 4001, host: "127.0.0.1" }),
    transfers: z
      .object({
        /** Attempts before a transfer request fails for good and its locks and rules go STUCK. */
        maxAttempts: z.number().int().min(1).max(100).default(5),
        /** First retry delay; each further failure doubles it. */
        backoffSeconds: z.number().min(0).default(60),
        /** How long a claimed request or deletion stays with an agent without a heartbeat. */
        leaseSeconds: z.number().min(1).default(300),
        /** How long an unlocked replica is kept before it may be deleted (purge_replicas: at once). */
        tombstoneDelaySeconds: z.number().min(0).default(86400),
        /** How often the catalog expires rules and re-queues requests whose lease lapsed. */
        judgeIntervalSeconds: z.number().min(1).default(30),
      })
      .strict()
      .default({ maxAttempts: 5, backoffSeconds: 60, leaseSeconds: 300, tombstoneDelaySeconds: 86400, judgeIntervalSeconds: 30 }),
    subscriptions: z
      .object({
        /** How often each catalog process runs the subscription matcher (new DIDs, metadata changes, re-evaluation jobs). */
        intervalSeconds: z.number().min(0.1).default(5),
        /** Events (or, re-evaluating, DIDs) matched per transaction. */
        batchSize: z.number().int().min(1).max(100000).default(5000),
      })
      .strict()
      .prefault({}),
    removals: z
      .object({
        /** The gateway the catalog asks facilities through (which files a removal's runs and collections hold). */
        gateway: z.string().url().default("http://127.0.0.1:4000/graphql"),
        /** How long one question to a facility may take. */
        timeoutMs: z.number().int().min(100).max(600000).default(60000),
        /** First retry of a facility that did not answer; doubles each time, up to an hour. */
        resolveRetrySeconds: z.number().min(0).max(3600).default(30),
      })
      .strict()
      .prefault({}),
    facility: z
      .object({
        /** The facility this process serves (USDF, FrDF, …); `--facility` wins. */
        code: z.string().min(1).optional(),
        port: z.number().int().min(0).max(65535).default(4002),
        host: z.string().default("127.0.0.1"),
        /** The catalog subgraph: asked, with the agent's token, which requests an agent holds before a read URL is signed. */
        catalog: z.string().url().default("http://127.0.0.1:4001/graphql"),
        /** This service as other facilities' agents reach it (signed POSIX read URLs point here); default http://host:port. */
        publicUrl: z.string().url().optional(),
        readUrlSeconds: z.number().int().min(10).max(86400).default(900),
        /** How often failed ingests of arrivals are retried (those due after their backoff); 0 runs no retry loop. */
        ingestRetrySeconds: z.number().min(0).max(86400).default(30),
      })
      .strict()
      .prefault({}),
    agent: z
      .object({
        gateway: z.string().url().default("http://127.0.0.1:4000/graphql"),
        port: z.number().int().min(0).max(65535).default(4010),
        host: z.string().default("127.0.0.1"),
        streams: z.number().int().min(1).max(256).default(8),
        pollSeconds: z.number().min(0.1).max(3600).default(2),
        reportSeconds: z.number().min(1).max(3600).default(10),
        stallSeconds: z.number().min(1).max(3600).default(60),
        deletionBatch: z.number().int().min(1).max(10000).default(100),
        /**
         * The Large File Annex products ingested into the Butler on arrival, by the CSC, generator
         * and MIME type of their largeFileObjectAvailable event (a field left out matches any
         * value); `instrument` is the Butler instrument they belong to when their header names
         * their device instead. Every other LFA file is replicated as a plain object (NOT_A_DATASET).
         */
        lfaIngest: z
          .array(
            z
              .object({
                csc: z.string().min(1),
                generator: z.string().optional(),
                mimeType: z.string().optional(),
                instrument: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "an instrument's name such as LSSTCam").optional(),
              })
              .strict(),
          )
          .default([{ csc: "Electrometer", generator: "Electrometer:103", instrument: "LSSTCam" }]),
      })
      .strict()
      .prefault({}),
    gateway: z
      .object({
        port: z.number().int().min(0).max(65535).default(4000),
        host: z.string().default("127.0.0.1"),
        /** The central replica catalog subgraph. */
        catalog: z.string().url().default("http://127.0.0.1:4001/graphql"),
        /** Every facility subgraph, by facility code. */
        facilities: z
          .array(z.object({ code: z.string().regex(/^[A-Za-z][A-Za-z0-9_\-]{0,31}$/), url: z.string().url() }).strict())
          .default([]),
        /** A facility that has not answered within this many milliseconds counts as unavailable for that request. */
        facilityTimeoutMs: z.number().int().min(100).default(10000),
        /** How often the gateway re-checks the subgraphs' SDL and health. */
        refreshSeconds: z.number().min(1).default(15),
        limits: z
          .object({
            maxDepth: z.number().int().min(1).default(12),
            maxCost: z.number().int().min(1).default(250000),
            maxDocumentBytes: z.number().int().min(100).default(32768),
            maxAliases: z.number().int().min(0).default(30),
            maxBatch: z.number().int().min(1).default(10),
          })
          .strict()
          .default({ maxDepth: 12, maxCost: 250000, maxDocumentBytes: 32768, maxAliases: 30, maxBatch: 10 }),
      })
      .strict()
      .default({
        port: 4000,
        host: "127.0.0.1",
        catalog: "http://127.0.0.1:4001/graphql",
        facilities: [],
        facilityTimeoutMs: 10000,
        refreshSeconds: 15,
        limits: { maxDepth: 12, maxCost: 250000, maxDocumentBytes: 32768, maxAliases: 30, maxBatch: 10 },
      }),
    storage: z
      .object({
        /** Credentials of this facility's own RSEs, by RSE name; never in the catalog. */
        credentials: z
          .record(
            z.string().min(1),
            z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().min(1).optional() }).strict(),
          )
          .default({}),
        /** Objects up to this size are sent to S3 in one PUT (held in memory); larger ones multipart. */
        multipartThresholdBytes: z.number().int().min(1024 * 1024).max(5 * 1024 ** 3).default(64 * 1024 * 1024),
        /** Multipart part size (S3's minimum is 5 MiB). */
        partSizeBytes: z.number().int().min(5 * 1024 * 1024, "storage.partSizeBytes must be at least 5 MiB (5242880), S3's smallest part").max(5 * 1024 ** 3).default(16 * 1024 * 1024),
        /** HMAC key of the signed /objects URLs of POSIX RSEs; absent: a random key kept in <dataDir>/storage-signing-key. */
        signingKey: z.string().min(32, "storage.signingKey must be at least 32 characters").optional(),
      })
      .strict()
      .prefault({}),
    log: z
      .object({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info") })
      .strict()
      .default({ level: "info" }),
    /** The client commands (`dbb rule`, `dbb status`, `dbb did`, …): which gateway, and the token they send. */
    cli: z
      .object({
        url: z.string().url().default("http://127.0.0.1:4000/graphql"),
        token: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

type Env = Record<string, string | undefined>;

function setPath(target: Record<string, any>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key];
  }
  node[keys[keys.length - 1]] = value;
}

const ENV_OVERRIDES: Array<[string, string[], "string" | "int"]> = [
  ["DBB_DATA_DIR", ["dataDir"], "string"],
  ["DBB_DATABASE_URL", ["database", "url"], "string"],
  ["DBB_DATABASE_POOL_SIZE", ["database", "poolSize"], "int"],
  ["DBB_DATABASE_STATEMENT_TIMEOUT_MS", ["database", "statementTimeoutMs"], "int"],
  ["DBB_DATABASE_CONNECT_TIMEOUT_MS", ["database", "connectTimeoutMs"], "int"],
  ["DBB_AUTH_SECRET", ["auth", "secret"], "string"],
  ["DBB_AUTH_JWKS_URL", ["auth", "jwksUrl"], "string"],
  ["DBB_AUTH_ISSUER", ["auth", "issuer"], "string"],
  ["DBB_AUTH_AUDIENCE", ["auth", "audience"], "string"],
  ["DBB_REPLICAS_PORT", ["replicas", "port"], "int"],
  ["DBB_LOG_LEVEL", ["log", "level"], "string"],
  ["DBB_TRANSFER_MAX_ATTEMPTS", ["transfers", "maxAttempts"], "int"],
  ["DBB_TRANSFER_BACKOFF_SECONDS", ["transfers", "backoffSeconds"], "int"],
  ["DBB_TRANSFER_LEASE_SECONDS", ["transfers", "leaseSeconds"], "int"],
  ["DBB_TOMBSTONE_DELAY_SECONDS", ["transfers", "tombstoneDelaySeconds"], "int"],
  ["DBB_JUDGE_INTERVAL_SECONDS", ["transfers", "judgeIntervalSeconds"], "int"],
  ["DBB_SUBSCRIPTIONS_INTERVAL_SECONDS", ["subscriptions", "intervalSeconds"], "int"],
  ["DBB_SUBSCRIPTIONS_BATCH_SIZE", ["subscriptions", "batchSize"], "int"],
  ["DBB_REMOVALS_GATEWAY_URL", ["removals", "gateway"], "string"],
  ["DBB_FACILITY", ["facility", "code"], "string"],
  ["DBB_FACILITY_PORT", ["facility", "port"], "int"],
  ["DBB_FACILITY_CATALOG", ["facility", "catalog"], "string"],
  ["DBB_FACILITY_PUBLIC_URL", ["facility", "publicUrl"], "string"],
  ["DBB_FACILITY_INGEST_RETRY_SECONDS", ["facility", "ingestRetrySeconds"], "int"],
  ["DBB_GATEWAY_URL", ["agent", "gateway"], "string"],
  ["DBB_AGENT_PORT", ["agent", "port"], "int"],
  ["DBB_AGENT_STREAMS", ["agent", "streams"], "int"],
  ["DBB_GATEWAY_PORT", ["gateway", "port"], "int"],
  ["DBB_GATEWAY_CATALOG", ["gateway", "catalog"], "string"],
  ["DBB_STORAGE_MULTIPART_THRESHOLD_BYTES", ["storage", "multipartThresholdBytes"], "int"],
  ["DBB_STORAGE_PART_SIZE_BYTES", ["storage", "partSizeBytes"], "int"],
  ["DBB_STORAGE_SIGNING_KEY", ["storage", "signingKey"], "string"],
  ["DBB_URL", ["cli", "url"], "string"],
  ["DBB_TOKEN", ["cli", "token"], "string"],
];

export function configError(message: string): DbbError {
  return new DbbError(ErrorCode.INVALID_INPUT, message);
}

/** Loads and validates the configuration. `file` wins over `DBB_CONFIG`; the environment wins over both. */
export function loadConfig(file?: string, env: Env = process.env): Config {
  const configFile = file ?? env.DBB_CONFIG;
  let raw: Record<string, any> = {};
  if (configFile) {
    let text: string;
    try {
      text = readFileSync(configFile, "utf8");
    } catch (err) {
      throw configError(`cannot read config file ${configFile}: ${(err as Error).message}`);
    }
    try {
      raw = (parseYaml(text) as Record<string, any>) ?? {};
    } catch (err) {
      throw configError(`config file ${configFile} is not valid YAML: ${(err as Error).message}`);
    }
    if (typeof raw !== "object" || Array.isArray(raw)) throw configError(`config file ${configFile} must hold a YAML mapping`);
  }
  for (const [name, keys, kind] of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    if (kind === "int") {
      if (!/^\d+$/.test(value)) throw configError(`${name} must be a whole number, got '${value}'`);
      setPath(raw, keys, Number(value));
    } else {
      setPath(raw, keys, value);
    }
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join(".") || "(top level)";
    throw configError(`invalid configuration${configFile ? ` in ${configFile}` : ""} at ${where}: ${issue.message}`);
  }
  const config = parsed.data;
  config.dataDir = path.resolve(config.dataDir);
  return config;
}
