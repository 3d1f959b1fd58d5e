import type { EntityManager } from "typeorm";
import { isDatabaseUnavailable, isQueryTimeout } from "../../../lib/database-errors";
import type { Logger } from "../../../lib/logger";
import { LoopMetrics, startLoop } from "../../../lib/loop";
import { DbbError, invalidInput } from "../../../lib/errors";
import type { DatasetTypeInput } from "../dataset-type";
import type { DimensionRecordInput } from "../dimension-record";
import { makeDatasetId } from "../dataset-id";
import { dimensionTable } from "../dimension-tables";
import { facilityError, FacilityErrorCode } from "../errors";
import { ingestDatasets, IngestDatasetInput } from "../ingest";
import { applyImport } from "../transfers/import";
import { ArrivalInput, ArrivalPlan, planArrival } from "./arrival-plan";

/**
 * Ingest on arrival: files that arrived at this facility, recorded in `arrivals` and ingested into
 * its Butler registry in batches.
 *
 * ingestArrivals(db, arrivals) takes a batch (what arrived in the last seconds, up to
 * MAX_ARRIVALS_PER_CALL) and, in one transaction,
 *   1. plans each file (arrival-plan.ts); a file that cannot be planned (a bad header, sidecar or
 *      DID metadata) is FAILED with the coded error, one that is no Butler dataset NOT_A_DATASET;
 *   2. ingests every planned file through the bulk ingestDatasets (the datasets of all files
 *      together, their dimension records deduplicated; zip indexes and YAML exports through
 *      applyImport), set-based whatever the batch size. When the batch fails, the file the error
 *      names (its `item`) is marked FAILED and the rest is tried again (each try in a savepoint);
 *      an error naming no file, or too many failing files, falls back to one savepoint per file;
 *   3. records every file's outcome in one statement.
 * Nothing is written when the call fails as a whole (the database went away): the agent's call
 * fails and it delivers again. A file already INGESTED or NOT_A_DATASET is left as it is:
 * re-delivery changes nothing. A PENDING or FAILED file delivered again is planned and tried again
 * with what it carries now. Stored dimension records are kept when an arrival's differ (the first
 * detector of an exposure defines its exposure record, as in obs_base's ingest).
 *
 * retryArrivals(db, settings) is the retry loop's round: it claims the FAILED files whose next
 * attempt is due (FOR UPDATE SKIP LOCKED, so several agents share the work), marks them PENDING
 * with a lease (a round that dies leaves them to a later round), and runs steps 2–3 on them
 * (re-planning those kept only as their input: a file that could not be planned keeps what
 * arrived, a planned one only its plan). Failures back off exponentially (retryBaseSeconds ·
 * 2^(attempts−1), at most retryMaxSeconds); after maxAttempts a file stays FAILED with no next
 * attempt. An ingest failure never touches the replica's availability: the catalog's replica
 * stays AVAILABLE; Replica.ingest shows the state.
 */

export type ArrivalState = "PENDING" | "INGESTED" | "FAILED" | "NOT_A_DATASET";

export interface ArrivalResult {
  scope: string;
  name: string;
  state: ArrivalState;
  source: string | null;
  datasetId: string | null;
  error: { code: string; message: string } | null;
  attempts: number;
  nextAttemptAt: Date | null;
}

export interface ArrivalSettings {
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  maxAttempts: number;
  /** How long a recorded, not yet ingested batch is left to the call that recorded it before retryArrivals takes it. */
  leaseSeconds: number;
  /** Files a retry round takes at most. */
  retryBatchSize: number;
}

export const DEFAULT_ARRIVAL_SETTINGS: ArrivalSettings = Object.freeze({ retryBaseSeconds: 30, retryMaxSeconds: 3600, maxAttempts: 10, leaseSeconds: 300, retryBatchSize: 2000 });

export const MAX_ARRIVALS_PER_CALL = 10_000;

/** Bisection rounds (each drops the one failing file the error names) before one transaction per file. */
const MAX_NAMED_FAILURES = 8;

interface Item {
  /** Index into the batch. */
  i: number;
  scope: string;
  name: string;
  plan: ArrivalPlan;
}

type Outcome = { ok: true } | { ok: false; error: DbbError };

function key(scope: string, name: string) {
  return `${scope}\u0000${name}`;
}

function checkArrival(a: ArrivalInput, item: number) {
  const at = { item, argument: "arrivals" };
  for (const f of ["scope", "name", "rse", "path"] as const) {
    if (typeof a?.[f] !== "string" || !a[f]) throw invalidInput(`arrival ${item}: '${f}' must be a non-empty string`, { ...at, field: f });
    if (storable("", a[f]) !== a[f]) throw invalidInput(`arrival ${item}: '${f}' holds a NUL character or a lone surrogate`, { ...at, field: f });
  }
  if (a.bytes != null && !(Number.isSafeInteger(a.bytes) && a.bytes >= 0)) throw invalidInput(`arrival ${item}: bytes must be a whole number ≥ 0`, { ...at, field: "bytes" });
  if (a.instrument != null && (typeof a.instrument !== "string" || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(a.instrument))) {
    throw invalidInput(`arrival ${item}: instrument must be an instrument's name such as LSSTCam`, { ...at, field: "instrument" });
  }
  for (const f of ["metadata", "sidecar"] as const) {
    const v = a[f];
    if (v != null && (typeof v !== "object" || Array.isArray(v))) throw invalidInput(`arrival ${item}: '${f}' must be an object`, { ...at, field: f });
  }
}

/** The delay before attempt `attempts + 1`, in seconds. */
export function retryDelaySeconds(attempts: number, s: ArrivalSettings): number {
  return Math.min(s.retryMaxSeconds, s.retryBaseSeconds * 2 ** Math.max(0, attempts - 1));
}

function asDbbError(err: unknown): DbbError {
  if (err instanceof DbbError) return err;
  if (isDatabaseUnavailable(err) || isQueryTimeout(err)) throw err;
  return facilityError(FacilityErrorCode.INGEST_FAILED, `ingest failed: ${(err as Error)?.message ?? String(err)}`);
}

/** The primary-key text of a dimension record (for deduplication within a batch). */
function recordKey(r: DimensionRecordInput): string {
  const t = dimensionTable(r.element);
  const rec = r.record ?? {};
  return `${r.element}:${t ? t.primaryKey.map((k) => JSON.stringify(rec[k] ?? null)).join(",") : JSON.stringify(rec)}`;
}

/**
 * Completes the plans whose dataset hangs on an exposure found by its group (photodiode files): the
 * instrument's exposure of that group, stored or arriving in the same batch, in one statement for
 * all. A group no exposure has (yet: its raw may arrive later, and the retry round tries again) is
 * DIMENSION_RECORD_MISSING; a group of several exposures INVALID_DATA_ID.
 */
async function resolveExposures(tx: EntityManager, items: Item[]): Promise<void> {
  const waiting = items.filter((it) => it.plan.kind === "datasets" && it.plan.exposureByGroup);
  if (!waiting.length) return;
  const found = new Map<string, Set<number>>();
  const note = (instrument: string, group: string, id: number) => {
    const k = `${instrument}\u0000${group}`;
    found.set(k, (found.get(k) ?? new Set()).add(Number(id)));
  };
  for (const it of items) {
    if (it.plan.kind !== "datasets") continue;
    for (const r of it.plan.records) if (r.element === "exposure" && r.record?.group != null) note(String(r.record.instrument), String(r.record.group), Number(r.record.id));
  }
  const wanted = waiting.map((it) => (it.plan as Extract<ArrivalPlan, { kind: "datasets" }>).exposureByGroup!);
  const rows: Array<{ instrument: string; group: string; id: string }> = await tx.query(
    `SELECT e.instrument, e."group", e.id FROM ${dimensionTable("exposure")!.table} e
     JOIN unnest($1::text[], $2::text[]) AS k(instrument, grp) ON e.instrument = k.instrument AND e."group" = k.grp`,
    [wanted.map((w) => w.instrument), wanted.map((w) => w.group)],
  );
  for (const r of rows) note(r.instrument, r.group, Number(r.id));
  for (const it of waiting) {
    const plan = it.plan as Extract<ArrivalPlan, { kind: "datasets" }>;
    const { instrument, group } = plan.exposureByGroup!;
    const ids = [...(found.get(`${instrument}\u0000${group}`) ?? [])];
    if (ids.length !== 1) {
      const err = ids.length
        ? facilityError(FacilityErrorCode.INVALID_DATA_ID, `several exposures of ${instrument} have the group '${group}' (${ids.join(", ")}); the file cannot say which it belongs to`, { element: "exposure", group })
        : facilityError(FacilityErrorCode.DIMENSION_RECORD_MISSING, `no exposure of ${instrument} has the group '${group}' yet; the file is ingested once that exposure's raw is (retried)`, { element: "exposure", group });
      err.details.arrival = it.i;
      throw err;
    }
    const dataset = plan.datasets[0];
    dataset.dataId = { ...dataset.dataId, instrument, exposure: ids[0] };
    dataset.id = makeDatasetId(dataset.datasetType, dataset.run, dataset.dataId as Record<string, string | number>, "DATAID_TYPE_RUN");
    plan.datasetId = dataset.id;
  }
}

/** Ingests the plans of some files in the transaction `tx`. Throws the first failure, its `details.item` mapped to the file's batch index as `arrival`. */
async function ingestPlans(tx: EntityManager, items: Item[]): Promise<void> {
  await resolveExposures(tx, items);
  const types = new Map<string, DatasetTypeInput>();
  const typeOwner: number[] = [];
  const records: DimensionRecordInput[] = [];
  const recordOwner: number[] = [];
  const seen = new Set<string>();
  const datasets: IngestDatasetInput[] = [];
  const datasetOwner: number[] = [];
  for (const it of items) {
    if (it.plan.kind !== "datasets") continue;
    for (const t of it.plan.datasetTypes) {
      if (types.has(t.name)) continue;
      types.set(t.name, t);
      typeOwner.push(it.i);
    }
    for (const r of it.plan.records) {
      const k = recordKey(r);
      if (seen.has(k)) continue;
      seen.add(k);
      records.push(r);
      recordOwner.push(it.i);
    }
    for (const d of it.plan.datasets) {
      datasets.push(d);
      datasetOwner.push(it.i);
    }
  }
  const owned = (err: unknown, owners: number[], argument: string) => {
    if (err instanceof DbbError && err.details.argument === argument && typeof err.details.item === "number" && owners[err.details.item] !== undefined) {
      err.details.arrival = owners[err.details.item];
    }
    return err;
  };
  if (datasets.length || records.length) {
    try {
      await ingestDatasets(tx, { datasetTypes: [...types.values()], dimensionRecords: records, datasets, createRuns: true, keepStoredRecords: true });
    } catch (err) {
      throw owned(owned(owned(err, recordOwner, "dimensionRecords"), datasetOwner, "datasets"), typeOwner, "datasetTypes");
    }
  }
  for (const it of items) {
    if (it.plan.kind !== "import") continue;
    try {
      await applyImport(tx, it.plan.plan);
    } catch (err) {
      if (err instanceof DbbError) err.details.arrival = it.i;
      throw err;
    }
  }
}

/** Ingests planned files, isolating failures; returns each file's outcome. */
async function ingestItems(db: EntityManager, items: Item[]): Promise<Map<number, Outcome>> {
  const out = new Map<number, Outcome>();
  let remaining = items;
  for (let round = 0; remaining.length && round <= MAX_NAMED_FAILURES; round++) {
    try {
      await db.transaction((tx) => ingestPlans(tx, remaining));
      for (const it of remaining) out.set(it.i, { ok: true });
      return out;
    } catch (err) {
      const e = asDbbError(err);
      const culprit = typeof e.details.arrival === "number" ? e.details.arrival : null;
      if (culprit === null || remaining.length === 1) {
        if (remaining.length === 1) {
          out.set(remaining[0].i, { ok: false, error: e });
          return out;
        }
        break;
      }
      out.set(culprit, { ok: false, error: e });
      remaining = remaining.filter((it) => it.i !== culprit);
    }
  }
  for (const it of remaining) {
    try {
      await db.transaction((tx) => ingestPlans(tx, [it]));
      out.set(it.i, { ok: true });
    } catch (err) {
      out.set(it.i, { ok: false, error: asDbbError(err) });
    }
  }
  return out;
}

interface Row {
  scope: string;
  name: string;
  rse: string;
  path: string;
  bytes: number | null;
  source: string | null;
  state: ArrivalState;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  next_attempt_in: number | null;
  dataset_id: string | null;
  plan: ArrivalPlan | null;
  input: ArrivalInput | null;
}

const ROW_COLUMNS = `scope text, name text, rse text, path text, bytes bigint, source text, state arrival_state, error_code text, error_message text,
  attempts integer, next_attempt_in double precision, dataset_id uuid, plan jsonb, input jsonb`;

/** A NUL or a surrogate: only such a string needs storable's replacements. */
const NOT_STORABLE = /[\u0000\uD800-\uDFFF]/;

/**
 * Postgres text and jsonb hold neither NUL nor lone surrogates: in a kept input (a header or
 * sidecar recorded as FAILED, or an error message quoting it) they become U+FFFD.
 */
function storable(_key: string, v: unknown): unknown {
  if (typeof v !== "string" || !NOT_STORABLE.test(v)) return v;
  return v.replace(/\u0000/g, "\ufffd").replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\ufffd");
}

/** Writes rows in one statement; rows already INGESTED or NOT_A_DATASET are left as they are. */
async function writeRows(db: EntityManager, rows: Row[]): Promise<void> {
  if (!rows.length) return;
  await db.query(
    `INSERT INTO arrivals AS a (scope, name, rse, path, bytes, source, state, error_code, error_message, attempts, next_attempt_at, dataset_id, plan, input)
     SELECT scope, name, rse, path, bytes, source, state, error_code, error_message, attempts,
            CASE WHEN next_attempt_in IS NULL THEN NULL ELSE now() + next_attempt_in * interval '1 second' END, dataset_id, plan, input
     FROM jsonb_to_recordset($1::jsonb) AS x(${ROW_COLUMNS})
     ON CONFLICT (scope, name) DO UPDATE SET rse = EXCLUDED.rse, path = EXCLUDED.path, bytes = EXCLUDED.bytes, source = EXCLUDED.source,
       state = EXCLUDED.state, error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message, attempts = EXCLUDED.attempts,
       next_attempt_at = EXCLUDED.next_attempt_at, dataset_id = EXCLUDED.dataset_id, plan = EXCLUDED.plan, input = EXCLUDED.input, updated_at = now()
     WHERE a.state IN ('PENDING', 'FAILED')`,
    [JSON.stringify(rows, storable)],
  );
}

function failedRow(base: Omit<Row, "state" | "error_code" | "error_message" | "next_attempt_in">, error: DbbError, s: ArrivalSettings): Row {
  const again = base.attempts < s.maxAttempts;
  return { ...base, state: "FAILED", error_code: error.code, error_message: error.message.replace(/^item \d+: /, "").slice(0, 2000), next_attempt_in: again ? retryDelaySeconds(base.attempts, s) : null };
}

/** Step 3 for planned rows: ingests them; returns their rows as they are to be written. */
async function attemptRows(db: EntityManager, rows: Row[], s: ArrivalSettings): Promise<Row[]> {
  if (!rows.length) return [];
  const items: Item[] = rows.map((r, i) => ({ i, scope: r.scope, name: r.name, plan: r.plan! }));
  const outcomes = await ingestItems(db, items);
  return rows.map((r, i): Row => {
    const o = outcomes.get(i)!;
    const attempted = { ...r, attempts: r.attempts + 1 };
    if (o.ok) return { ...attempted, state: "INGESTED", error_code: null, error_message: null, next_attempt_in: null, dataset_id: (r.plan && r.plan.kind !== "none" ? r.plan.datasetId : null) ?? r.dataset_id, plan: null, input: null };
    return failedRow(attempted, o.error, s);
  });
}

async function storedRows(db: EntityManager, keys: Array<{ scope: string; name: string }>) {
  const rows: Array<{ scope: string; name: string; state: ArrivalState; source: string | null; error_code: string | null; error_message: string | null; attempts: number; next_attempt_at: Date | null; dataset_id: string | null }> =
    await db.query(
      `SELECT a.scope, a.name, a.state, a.source, a.error_code, a.error_message, a.attempts, a.next_attempt_at, a.dataset_id::text AS dataset_id
       FROM arrivals a JOIN unnest($1::text[], $2::text[]) AS k(scope, name) ON a.scope = k.scope AND a.name = k.name`,
      [keys.map((k) => k.scope), keys.map((k) => k.name)],
    );
  return new Map(rows.map((r) => [key(r.scope, r.name), r]));
}

function toResult(r: { scope: string; name: string; state: ArrivalState; source: string | null; error_code: string | null; error_message: string | null; attempts: number; dataset_id: string | null; next_attempt_at?: Date | null }): ArrivalResult {
  return {
    scope: r.scope,
    name: r.name,
    state: r.state,
    source: r.source,
    datasetId: r.dataset_id,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? "" } : null,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at ?? null,
  };
}

/** Plans one arrival into its row (PENDING with a plan, NOT_A_DATASET, or FAILED keeping its input). */
function planRow(a: ArrivalInput, attempts: number, s: ArrivalSettings): Row {
  const base = { scope: a.scope, name: a.name, rse: a.rse, path: a.path, bytes: a.bytes ?? null, attempts, dataset_id: null, plan: null, input: null };
  try {
    const plan = planArrival(a);
    if (plan.kind === "none") return { ...base, source: "none", state: "NOT_A_DATASET", error_code: null, error_message: null, next_attempt_in: null };
    return { ...base, source: plan.source, state: "PENDING", error_code: null, error_message: null, next_attempt_in: s.leaseSeconds, dataset_id: plan.datasetId, plan };
  } catch (err) {
    return failedRow({ ...base, source: null, attempts: attempts + 1, input: a }, asDbbError(err), s);
  }
}

/**
 * Planning is CPU (reading headers, translating them) and ingesting mostly the database's time:
 * arrivals are planned in slices of PLAN_SLICE files, between which the event loop lets the
 * other calls in flight (another agent's batch, or the same agent's next) send their next
 * statement, so one batch is planned while the database ingests another.
 */
const PLAN_SLICE = 50;

async function planRows(arrivals: ArrivalInput[], attemptsOf: (a: ArrivalInput) => number, s: ArrivalSettings): Promise<Row[]> {
  const rows: Row[] = [];
  for (let i = 0; i < arrivals.length; i++) {
    if (i > 0 && i % PLAN_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    rows.push(planRow(arrivals[i], attemptsOf(arrivals[i]), s));
  }
  return rows;
}

/** Records and ingests a batch of arrivals; one result per input, in order. */
export async function ingestArrivals(db: EntityManager, arrivals: ArrivalInput[], settings: ArrivalSettings = DEFAULT_ARRIVAL_SETTINGS): Promise<ArrivalResult[]> {
  if (!Array.isArray(arrivals)) throw invalidInput("arrivals must be a list");
  if (arrivals.length > MAX_ARRIVALS_PER_CALL) throw invalidInput(`at most ${MAX_ARRIVALS_PER_CALL} arrivals per call; got ${arrivals.length}`, { argument: "arrivals", limit: MAX_ARRIVALS_PER_CALL });
  arrivals.forEach(checkArrival);
  const last = new Map<string, number>();
  arrivals.forEach((a, i) => last.set(key(a.scope, a.name), i));
  const unique = [...last.values()].map((i) => arrivals[i]);
  return db.transaction(async (tx) => {
    const stored = await storedRows(tx, unique);
    const open = unique.filter((a) => {
      const r = stored.get(key(a.scope, a.name));
      return !r || r.state === "PENDING" || r.state === "FAILED";
    });
    const planned = await planRows(open, (a) => stored.get(key(a.scope, a.name))?.attempts ?? 0, settings);
    const rows = [...planned.filter((r) => r.state !== "PENDING"), ...(await attemptRows(tx, planned.filter((r) => r.state === "PENDING"), settings))];
    await writeRows(tx, rows);
    const written = new Map<string, Row>(rows.map((r) => [key(r.scope, r.name), r]));
    const now = Date.now();
    return arrivals.map((a) => {
      const k = key(a.scope, a.name);
      const w = written.get(k);
      if (w) return toResult({ ...w, next_attempt_at: w.next_attempt_in === null ? null : new Date(now + w.next_attempt_in * 1000) });
      return toResult(stored.get(k)!);
    });
  });
}

export interface RetryRound {
  claimed: number;
  ingested: number;
  failed: number;
  notADataset: number;
}

/** One round of the retry loop (runOnce-style): claims due PENDING/FAILED arrivals and ingests them again. */
export async function retryArrivals(db: EntityManager, settings: ArrivalSettings = DEFAULT_ARRIVAL_SETTINGS): Promise<RetryRound> {
  const claimed: Row[] = await db.transaction(async (tx) => {
    const rows: Row[] = await tx.query(
      `SELECT scope, name, rse, path, bytes::float8 AS bytes, source, state, error_code, error_message, attempts, NULL::float8 AS next_attempt_in, dataset_id::text AS dataset_id, plan, input
       FROM arrivals WHERE state IN ('PENDING', 'FAILED') AND next_attempt_at <= now()
       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [settings.retryBatchSize],
    );
    if (rows.length) {
      await tx.query(
        `UPDATE arrivals a SET state = 'PENDING', next_attempt_at = now() + $3 * interval '1 second', updated_at = now()
         FROM unnest($1::text[], $2::text[]) AS k(scope, name) WHERE a.scope = k.scope AND a.name = k.name`,
        [rows.map((r) => r.scope), rows.map((r) => r.name), settings.leaseSeconds],
      );
    }
    return rows;
  });
  if (!claimed.length) return { claimed: 0, ingested: 0, failed: 0, notADataset: 0 };
  // Files kept only as input are planned again (the translators may have learnt to read them).
  const rows = claimed.map((r): Row => (r.plan ? { ...r, state: "PENDING" } : r.input ? planRow(r.input, r.attempts, settings) : { ...r, state: "FAILED", next_attempt_in: null }));
  const settled = rows.filter((r) => r.state !== "PENDING");
  const ingested = await db.transaction(async (tx) => {
    const done = await attemptRows(tx, rows.filter((r) => r.state === "PENDING"), settings);
    await writeRows(tx, [...settled, ...done]);
    return done;
  });
  const all = [...settled, ...ingested];
  return {
    claimed: claimed.length,
    ingested: all.filter((r) => r.state === "INGESTED").length,
    failed: all.filter((r) => r.state === "FAILED").length,
    notADataset: all.filter((r) => r.state === "NOT_A_DATASET").length,
  };
}

/**
 * The retry loop: retryArrivals every `intervalSeconds` (lib/loop.ts: a slow round never overlaps
 * the next; several processes share the due files through SKIP LOCKED). Returns its stop function,
 * for a service's `background`. Not started by any service yet.
 */
export function startArrivalRetry(db: EntityManager, logger: Logger, options: { settings?: ArrivalSettings; intervalSeconds?: number; metrics?: LoopMetrics } = {}): () => Promise<void> {
  const settings = options.settings ?? DEFAULT_ARRIVAL_SETTINGS;
  const loop = startLoop({
    name: "arrival-retry",
    intervalMs: (options.intervalSeconds ?? 30) * 1000,
    round: () => retryArrivals(db, settings),
    describe: (r) => (r.claimed ? `arrival retry: ${r.ingested} ingested, ${r.failed} failed, ${r.notADataset} not a dataset` : undefined),
    logger,
    metrics: options.metrics,
  });
  return () => loop.stop();
}

/** Replica.ingest: the arrival state of each DID, or null where nothing arrived (one statement for many). */
export async function arrivalsByDid(db: EntityManager, keys: ReadonlyArray<{ scope: string; name: string }>): Promise<Array<ArrivalResult | null>> {
  const rows = await storedRows(db, [...keys]);
  return keys.map((k) => {
    const r = rows.get(key(k.scope, k.name));
    return r ? toResult(r) : null;
  });
}
