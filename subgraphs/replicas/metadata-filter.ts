import { invalidInput } from "../../lib/errors";
import { METADATA_KEY_PATTERN } from "./identifiers";

/**
 * The `metadata` argument of `dids`: a JSON object of key → condition, all conditions ANDed.
 *
 *   { "instrument": "LSSTCam" }                       equality (also for numbers and booleans)
 *   { "band": { "in": ["g", "r"] } }                 one of
 *   { "day_obs": { "gte": 20250101, "lt": 20250201 } } ranges: gt, gte, lt, lte (numbers or strings)
 *   { "exposure": { "ne": 12 } }                      not equal (or missing)
 *   { "note": { "exists": false } }                   key present or absent
 *   { "obs_id": { "glob": "MC_O_202506*" } }          a string matching a glob (`*` any run, `?` one character)
 *   { "date": { "gte": "2025-06-01T00:00:00Z" } }     time ranges: ISO-8601 strings of one form compare in time order
 *
 * Compiled to parameterized SQL over the jsonb column; equality uses the GIN index through `@>`.
 */
type Scalar = string | number | boolean;
const OPERATORS = new Set(["eq", "ne", "in", "gt", "gte", "lt", "lte", "exists", "glob"]);
const RANGE_SQL: Record<string, string> = { gt: ">", gte: ">=", lt: "<", lte: "<=" };
/** Conditions per filter (each takes up to three SQL parameters; a statement may have 65,535). */
const MAX_CONDITIONS = 1000;

export interface CompiledFilter {
  sql: string[];
  params: unknown[];
}

/** `*` matches any run of characters and `?` one character; everything else is literal. */
export function globToLike(pattern: string): string {
  return pattern.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, "%").replace(/\?/g, "_");
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

/**
 * @param column the jsonb column expression, e.g. `d.metadata`
 * @param firstParam the number of the first `$n` placeholder this filter may use
 */
export function compileMetadataFilter(filter: unknown, column: string, firstParam: number): CompiledFilter {
  const out: CompiledFilter = { sql: [], params: [] };
  if (filter === null || filter === undefined) return out;
  if (typeof filter !== "object" || Array.isArray(filter)) {
    throw invalidInput('metadata filter must be a JSON object such as {"instrument": "LSSTCam", "day_obs": {"gte": 20250101}}', { argument: "metadata" });
  }
  const param = (value: unknown) => {
    out.params.push(value);
    return `$${firstParam + out.params.length - 1}`;
  };
  /** A key as a text parameter (`jsonb -> unknown` would be ambiguous between text and int). */
  const keyParam = (key: string) => `${param(key)}::text`;
  const equal: Record<string, Scalar> = {};
  const conditions = Object.values(filter).reduce<number>((n, c) => n + (c !== null && typeof c === "object" && !Array.isArray(c) ? Object.keys(c).length : 1), 0);
  if (conditions > MAX_CONDITIONS) {
    throw invalidInput(`the metadata filter has ${conditions} conditions; the limit is ${MAX_CONDITIONS} (use "in" lists for many values)`, { argument: "metadata", limit: MAX_CONDITIONS });
  }
  for (const [key, condition] of Object.entries(filter)) {
    const bad = (why: string) => invalidInput(`metadata filter on '${key}': ${why}`, { argument: "metadata", key });
    if (!METADATA_KEY_PATTERN.test(key)) throw bad("invalid key");
    if (isScalar(condition)) {
      equal[key] = condition;
      continue;
    }
    if (condition === null || typeof condition !== "object" || Array.isArray(condition)) {
      throw bad("expected a value or an object of operators (eq, ne, in, gt, gte, lt, lte, exists, glob)");
    }
    const entries = Object.entries(condition);
    if (!entries.length) throw bad("empty condition");
    // Made on first use: a key parameter no condition uses would have no type (eq alone uses none).
    let valueSql: string | undefined;
    const valueOf = () => (valueSql ??= `${column} -> ${keyParam(key)}`);
    for (const [op, arg] of entries) {
      if (!OPERATORS.has(op)) throw bad(`unknown operator '${op}'; use eq, ne, in, gt, gte, lt, lte, exists or glob`);
      if (op === "eq") {
        if (!isScalar(arg)) throw bad("eq needs a string, number or boolean");
        equal[key] = arg;
      } else if (op === "ne") {
        if (!isScalar(arg)) throw bad("ne needs a string, number or boolean");
        out.sql.push(`(${valueOf()}) IS DISTINCT FROM ${param(JSON.stringify(arg))}::jsonb`);
      } else if (op === "in") {
        if (!Array.isArray(arg) || !arg.length || !arg.every(isScalar)) throw bad("in needs a non-empty list of strings, numbers or booleans");
        out.sql.push(`(${valueOf()}) = ANY(${param(arg.map((a) => JSON.stringify(a)))}::jsonb[])`);
      } else if (op === "exists") {
        if (typeof arg !== "boolean") throw bad("exists needs true or false");
        out.sql.push(`(${valueOf()}) IS ${arg ? "NOT " : ""}NULL`);
      } else if (op === "glob") {
        if (typeof arg !== "string" || !arg) throw bad("glob needs a non-empty string pattern");
        out.sql.push(`(CASE WHEN jsonb_typeof(${valueOf()}) = 'string' THEN ${column} ->> ${keyParam(key)} END) LIKE ${param(globToLike(arg))}`);
      } else if (typeof arg === "number" && Number.isFinite(arg)) {
        // CASE keeps the cast away from non-numeric values (Postgres does not promise AND order).
        out.sql.push(`(CASE WHEN jsonb_typeof(${valueOf()}) = 'number' THEN (${column} ->> ${keyParam(key)})::numeric END) ${RANGE_SQL[op]} ${param(arg)}`);
      } else if (typeof arg === "string") {
        out.sql.push(`(CASE WHEN jsonb_typeof(${valueOf()}) = 'string' THEN ${column} ->> ${keyParam(key)} END) ${RANGE_SQL[op]} ${param(arg)}`);
      } else {
        throw bad(`${op} needs a number or a string`);
      }
    }
  }
  if (Object.keys(equal).length) out.sql.push(`${column} @> ${param(JSON.stringify(equal))}::jsonb`);
  return out;
}
