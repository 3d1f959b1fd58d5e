/**
 * Compiles a parsed daf_butler `where` expression (parser.ts) to parameterized SQL over a row
 * source: the datasets table (`d`, whose typed dimension columns hold the full data ID, required
 * and implied values) or one dimension element's record table. Dimension fields (`exposure.
 * observation_type`, `visit.timespan`) join the element's record table on the dimension values
 * the row has; a dimension the row lacks is reached through implied dimensions (`band` on
 * exposure records goes through physical_filter).
 *
 * Types are checked: `detector = 'a'` or `band + 1` is WHERE_TYPE_ERROR; an unknown name is
 * WHERE_UNKNOWN_IDENTIFIER (with the fields that do exist). Spatial constraints (`visit.region
 * OVERLAPS POINT(ra, dec)`, CIRCLE, BOX, POLYGON, REGION) are resolved against the stored regions
 * first (spatial.ts) and compile to a condition on the row's keys. Timespans are half-open
 * [begin, end) ranges; an unbounded end is NULL in storage and ±infinity here.
 */
import type { EntityManager } from "typeorm";
import { sqlState } from "../../../lib/database";
import { DbbError } from "../../../lib/errors";
import { dimensionTable, DimensionTable, q } from "../dimension-tables";
import { element, ElementSpec, ELEMENTS, FieldType, hasElement, primaryKeyField, requiredClosure } from "../dimension-universe";
import { FacilityErrorCode } from "../errors";
import { globToLike } from "../names";
import { scaledToUtc, toUtcText } from "../time";
import { capped, excerpt, FunctionNode, InItem, parseWhere, WhereNode } from "./parser";
import { RegionMatch, RegionMatches, resolveRegions } from "./spatial";

export type WhereType = "int" | "float" | "string" | "bool" | "time" | "timespan" | "region" | "uuid";

interface Typed {
  sql: string;
  type: WhereType;
  /** For string literals and binds: the raw value, so it can be read as a time or UUID when compared with one. */
  text?: string;
  /** Set on values that are a bind holding a list (usable only in IN). */
  list?: unknown[];
}

const SQL_CAST: Record<WhereType, string> = {
  int: "bigint",
  float: "double precision",
  string: "text",
  bool: "boolean",
  time: "timestamptz",
  timespan: "tstzrange",
  region: "text",
  uuid: "uuid",
};

export function whereTypeOf(t: FieldType): WhereType {
  switch (t) {
    case "datetime":
      return "time";
    case "hash":
      return "string";
    default:
      return t;
  }
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Where a where expression finds its values. */
export interface RowSource {
  /** SQL of a dimension's value in the row, or null when the row has no such dimension. May add joins. */
  dimension(name: string, c: Compiler): string | null;
  /** Alias of the record table of an element joined to the row, or null when it cannot be joined. May add joins. */
  elementAlias(name: string, c: Compiler): string | null;
  /** A dataset field (`ingest_date`, `<type>.dataset_id`, …) or null. `qualifier` is the dataset type name or null. */
  datasetField?(qualifier: string | null, field: string, c: Compiler): Typed | null;
  /** Names that may qualify dataset fields (dataset type names). */
  datasetQualifiers?: readonly string[];
  /** For messages: what the rows are ("datasets", "exposure records"). */
  what: string;
}

export class Compiler {
  readonly joins: string[] = [];
  /** Set when a join may give a row several matches (a many-to-many relation): counts must be distinct. */
  multipliesRows = false;
  /** Spatial OVERLAPS constraints resolved against stored regions (spatial.ts). */
  regions: RegionMatches = new Map();
  private readonly aliases = new Map<string, string>();
  private readonly expression: string;

  constructor(
    expression: string,
    private readonly source: RowSource,
    readonly params: unknown[],
    private readonly bind: Record<string, unknown>,
  ) {
    this.expression = expression;
  }

  param(value: unknown, type: WhereType | `${WhereType}[]`): string {
    this.params.push(value);
    const base = type.replace("[]", "") as WhereType;
    return `$${this.params.length}::${SQL_CAST[base]}${type.endsWith("[]") ? "[]" : ""}`;
  }

  /**
   * LEFT JOINs an element's record table on the given key expressions (one per primary key column),
   * once per element; returns its alias.
   */
  joinElement(t: DimensionTable, keys: string[]): string {
    const existing = this.aliases.get(t.element.name);
    if (existing) return existing;
    const alias = `w_${t.element.name}`;
    const on = t.primaryKey.map((k, i) => `${alias}.${q(k)} = ${keys[i]}`).join(" AND ");
    this.joins.push(`LEFT JOIN ${t.table} ${alias} ON ${on}`);
    this.aliases.set(t.element.name, alias);
    return alias;
  }

  /** LEFT JOINs a join relation's table on some of its columns (many rows per row), once per element. */
  joinRelation(t: DimensionTable, on: Array<[string, string]>): string {
    const existing = this.aliases.get(t.element.name);
    if (existing) return existing;
    const alias = `w_${t.element.name}`;
    this.joins.push(`LEFT JOIN ${t.table} ${alias} ON ${on.map(([col, sql]) => `${alias}.${q(col)} = ${sql}`).join(" AND ")}`);
    this.aliases.set(t.element.name, alias);
    this.multipliesRows = true;
    return alias;
  }

  error(code: string, node: { position: number } | null, message: string, extra: Record<string, unknown> = {}): DbbError {
    return new DbbError(code, `Invalid where expression: ${capped(message)}`, {
      expression: excerpt(this.expression, node?.position ?? 0),
      ...(node ? { position: node.position } : {}),
      ...extra,
    });
  }

  private typeError(node: { position: number }, message: string) {
    return this.error(FacilityErrorCode.WHERE_TYPE_ERROR, node, message);
  }

  compileCondition(node: WhereNode): string {
    const t = this.compile(node);
    if (t.type !== "bool") throw this.typeError(node, `the expression is a ${t.type}, expected a condition (true or false)`);
    return t.sql;
  }

  // --- identifiers --------------------------------------------------------------------------------

  private unknown(node: WhereNode & { kind: "identifier" }, why: string): DbbError {
    return this.error(FacilityErrorCode.WHERE_UNKNOWN_IDENTIFIER, node, `'${node.name}' at position ${node.position}: ${why}`, { identifier: node.name });
  }

  private dimensionValue(name: string, node: WhereNode & { kind: "identifier" }): Typed {
    const sql = this.source.dimension(name, this);
    if (sql === null) throw this.unknown(node, `${this.source.what} have no '${name}' dimension (nor one that implies it)`);
    return { sql, type: whereTypeOf(primaryKeyField(name).type) };
  }

  private fieldsOf(e: ElementSpec): string[] {
    const t = dimensionTable(e.name);
    const fields = t ? t.columns.filter((c) => c.role !== "timespan").map((c) => c.name) : e.keys.map((k) => k.name);
    if (e.hasTimespan) fields.push("timespan");
    if (e.hasRegion && !fields.includes("region")) fields.push("region");
    return fields;
  }

  private identifier(node: WhereNode & { kind: "identifier" }): Typed {
    const [a, b, c] = node.parts;
    if (node.parts.length === 1) {
      if (hasElement(a) && element(a).kind !== "element") return this.dimensionValue(a, node);
      const field = this.source.datasetField?.(null, a, this);
      if (field) return field;
      const candidates = DIMENSION_FIELD_INDEX.get(a);
      throw this.unknown(
        node,
        candidates
          ? `not a dimension; did you mean ${candidates.map((e) => `${e}.${a}`).join(" or ")}? (dimension fields are qualified by their element)`
          : "not a dimension, a dimension field (element.field) or a dataset field (ingest_date)",
      );
    }
    if (hasElement(a)) {
      const e = element(a);
      if (node.parts.length === 3) {
        if (b === "timespan" && (c === "begin" || c === "end") && e.hasTimespan) {
          const alias = this.requireAlias(e, node);
          return { sql: `${alias}.${q(c === "begin" ? "timespan_begin" : "timespan_end")}`, type: "time" };
        }
        throw this.unknown(node, `expected element.field or element.timespan.begin/end`);
      }
      if (e.keys.length && b === e.keys[0].name) return this.dimensionValue(a, node);
      if (b === "region" && e.hasRegion) return { sql: "NULL", type: "region" };
      if (b === "timespan" && e.hasTimespan) {
        const alias = this.requireAlias(e, node);
        return {
          sql: `tstzrange(COALESCE(${alias}.timespan_begin, '-infinity'), COALESCE(${alias}.timespan_end, 'infinity'), '[)')`,
          type: "timespan",
        };
      }
      const t = dimensionTable(a);
      const col = t?.columns.find((x) => x.name === b && x.role !== "timespan" && x.role !== "key");
      if (!t || !col) throw this.unknown(node, `${a} has no field '${b}' (fields: ${this.fieldsOf(e).join(", ")})`);
      if (col.dimension) return this.dimensionValue(col.dimension, node);
      if (col.role === "region") return { sql: "NULL", type: "region" };
      const alias = this.requireAlias(e, node);
      return { sql: `${alias}.${q(col.name)}`, type: whereTypeOf(col.type) };
    }
    if (node.parts.length === 2 && this.source.datasetQualifiers?.includes(a)) {
      const field = this.source.datasetField?.(a, b, this);
      if (field) return field;
      throw this.unknown(node, `datasets have the fields dataset_id, run, ingest_date`);
    }
    throw this.unknown(node, `'${a}' is neither a dimension element nor a dataset type of this query`);
  }

  private requireAlias(e: ElementSpec, node: WhereNode & { kind: "identifier" }): string {
    const alias = this.source.elementAlias(e.name, this);
    if (alias === null) throw this.unknown(node, `${this.source.what} are not related to ${e.name} records`);
    return alias;
  }

  // --- literals -------------------------------------------------------------------------------------

  private bindValue(node: WhereNode & { kind: "bind" }): Typed {
    if (!Object.prototype.hasOwnProperty.call(this.bind, node.name)) {
      throw this.error(FacilityErrorCode.WHERE_UNKNOWN_IDENTIFIER, node, `bind parameter :${node.name} has no value in bind`, { identifier: `:${node.name}` });
    }
    return this.valueOf(this.bind[node.name], node, `:${node.name}`);
  }

  private valueOf(value: unknown, node: { position: number }, label: string): Typed {
    if (typeof value === "string") return { sql: this.param(value, "string"), type: "string", text: value };
    if (typeof value === "boolean") return { sql: this.param(value, "bool"), type: "bool" };
    if (typeof value === "number" && Number.isFinite(value)) {
      return Number.isSafeInteger(value) ? { sql: this.param(value, "int"), type: "int" } : { sql: this.param(value, "float"), type: "float" };
    }
    if (Array.isArray(value)) return { sql: "", type: "string", list: value };
    throw this.typeError(node, `${label} must be a string, a number, a boolean or (in IN) a list, got ${shownValue(value)}`);
  }

  private timeLiteral(node: WhereNode & { kind: "time" }): Typed {
    if (node.iso === undefined) throw this.typeError(node, `time literal T'${node.raw}' lies outside years 0-9999`);
    return { sql: this.param(scaledToUtc(node.iso, node.scale), "time"), type: "time" };
  }

  // --- coercions ---------------------------------------------------------------------------------

  /** A string literal or bind read as the other side's type (time, uuid), when that makes sense. */
  private coerce(value: Typed, to: WhereType, node: { position: number }): Typed {
    if (value.type === to || value.text === undefined) return value;
    // Reuse the string's own parameter slot (an unused parameter would have no type).
    const slot = /^\$(\d+)::text$/.exec(value.sql);
    const put = (v: unknown, type: WhereType) => {
      if (!slot) return this.param(v, type);
      this.params[Number(slot[1]) - 1] = v;
      return `$${slot[1]}::${SQL_CAST[type]}`;
    };
    if (to === "time") {
      const utc = toUtcText(value.text);
      if (utc === null) throw this.typeError(node, `'${shownValue(value.text)}' is not a time (use T'2025-06-01T00:00:00' or an ISO 8601 string)`);
      return { sql: put(utc, "time"), type: "time" };
    }
    if (to === "uuid") {
      if (!UUID_RE.test(value.text)) throw this.typeError(node, `'${shownValue(value.text)}' is not a UUID`);
      return { sql: put(value.text, "uuid"), type: "uuid" };
    }
    return value;
  }

  private comparable(lhs: Typed, rhs: Typed, node: WhereNode & { kind: "binary" }): [Typed, Typed] {
    lhs = this.coerce(lhs, rhs.type, node.rhs);
    rhs = this.coerce(rhs, lhs.type, node.rhs);
    const numeric = (t: WhereType) => t === "int" || t === "float";
    if (lhs.list || rhs.list) throw this.typeError(node, `a list bind can only be used in IN (...)`);
    if (lhs.type === "region" || rhs.type === "region") throw this.typeError(node, `regions are only compared with OVERLAPS (visit.region OVERLAPS POINT(ra, dec))`);
    if (numeric(lhs.type) && numeric(rhs.type)) return [lhs, rhs];
    if (lhs.type !== rhs.type) throw this.typeError({ position: node.opPosition }, `cannot compare a ${lhs.type} with a ${rhs.type} ('${node.op}' at position ${node.opPosition})`);
    return [lhs, rhs];
  }

  private asRange(t: Typed, node: { position: number }): string {
    if (t.type === "timespan") return t.sql;
    if (t.type === "time") return `tstzrange(${t.sql}, ${t.sql}, '[]')`;
    throw this.typeError(node, `expected a time or a timespan, found a ${t.type}`);
  }

  // --- nodes --------------------------------------------------------------------------------------

  compile(node: WhereNode): Typed {
    switch (node.kind) {
      case "identifier":
        return this.identifier(node);
      case "number":
        return node.isInteger && Number.isSafeInteger(node.value)
          ? { sql: this.param(node.value, "int"), type: "int" }
          : { sql: this.param(node.value, "float"), type: "float" };
      case "string":
        return { sql: this.param(node.value, "string"), type: "string", text: node.value };
      case "time":
        return this.timeLiteral(node);
      case "bind":
        return this.bindValue(node);
      case "range":
        throw this.typeError(node, "a range is only allowed inside IN (...)");
      case "unary": {
        const operand = this.compile(node.operand);
        if (node.op === "NOT") {
          if (operand.type !== "bool") throw this.typeError(node, `NOT needs a condition, found a ${operand.type}`);
          return { sql: `(NOT ${operand.sql})`, type: "bool" };
        }
        if (operand.type !== "int" && operand.type !== "float") throw this.typeError(node, `unary ${node.op} needs a number, found a ${operand.type}`);
        return { sql: `(${node.op}${operand.sql})`, type: operand.type };
      }
      case "binary":
        return this.binary(node);
      case "in":
        return this.inList(node);
      case "overlaps": {
        const match = this.regions.get(node);
        if (match) return this.regionCondition(match);
        const lhs = this.compile(node.lhs);
        const rhs = this.compile(node.rhs);
        if (lhs.type === "region" || rhs.type === "region") {
          const other = lhs.type === "region" ? node.rhs : node.lhs;
          throw this.typeError(
            other,
            `a region OVERLAPS another region: POINT(ra, dec), CIRCLE(ra, dec, radius), BOX(ra, dec, width, height), POLYGON(ra1, dec1, …), REGION('…') or a bind holding one; the operand at position ${other.position} is not a region`,
          );
        }
        const l = this.coerce(lhs, "time", node.lhs);
        const r = this.coerce(rhs, "time", node.rhs);
        return { sql: `(${this.asRange(l, node.lhs)} && ${this.asRange(r, node.rhs)})`, type: "bool" };
      }
      case "function":
        return this.func(node);
      case "tuple": {
        const [a, b] = node.items.map((i) => this.compile(i));
        const begin = this.coerce(a, "time", node.items[0]);
        const end = this.coerce(b, "time", node.items[1]);
        if (begin.type !== "time" || end.type !== "time") throw this.typeError(node, `a timespan (begin, end) needs two times`);
        return { sql: `tstzrange(${begin.sql}, ${end.sql}, '[)')`, type: "timespan" };
      }
    }
  }

  /**
   * A chain of ANDs (or ORs) as one flat SQL condition, walked without recursion: the chain may be as
   * long as the term limit allows, and Postgres then sees one level, not one per operator.
   */
  private chain(node: WhereNode & { kind: "binary" }): Typed {
    const operands: WhereNode[] = [];
    const stack: WhereNode[] = [node];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.kind === "binary" && n.op === node.op) stack.push(n.rhs, n.lhs);
      else operands.push(n);
    }
    const parts = operands.map((n) => {
      const t = this.compile(n);
      if (t.type !== "bool") throw this.typeError(n, `${node.op} needs conditions on both sides, found a ${t.type} at position ${n.position}`);
      return t.sql;
    });
    return { sql: `(${parts.join(` ${node.op} `)})`, type: "bool" };
  }

  private binary(node: WhereNode & { kind: "binary" }): Typed {
    if (node.op === "AND" || node.op === "OR") return this.chain(node);
    const lhs = this.compile(node.lhs);
    const rhs = this.compile(node.rhs);
    switch (node.op) {
      case "+":
      case "-":
      case "*":
      case "/":
      case "%": {
        for (const [t, n] of [[lhs, node.lhs], [rhs, node.rhs]] as const) {
          if (t.type !== "int" && t.type !== "float") throw this.typeError(n, `'${node.op}' needs numbers, found a ${t.type} at position ${n.position}`);
        }
        const type: WhereType = lhs.type === "int" && rhs.type === "int" && node.op !== "/" ? "int" : "float";
        if (node.op === "%" && type !== "int") throw this.typeError(node, "'%' needs integers");
        const l = node.op === "/" ? `(${lhs.sql})::double precision` : lhs.sql;
        return { sql: `(${l} ${node.op} ${rhs.sql})`, type };
      }
      default: {
        if ((lhs.type === "timespan" || rhs.type === "timespan") && node.op !== "=" && node.op !== "!=") {
          const l = this.asRange(this.coerce(lhs, "time", node.lhs), node.lhs);
          const r = this.asRange(this.coerce(rhs, "time", node.rhs), node.rhs);
          if (node.op === "<") return { sql: `(${l} << ${r})`, type: "bool" };
          if (node.op === ">") return { sql: `(${l} >> ${r})`, type: "bool" };
          throw this.typeError(node, `timespans are compared with <, > (entirely before/after) or OVERLAPS, not '${node.op}'`);
        }
        const [l, r] = this.comparable(lhs, rhs, node);
        if (l.type === "bool" && node.op !== "=" && node.op !== "!=") throw this.typeError(node, `booleans are compared with = or != only`);
        const op = node.op === "!=" ? "<>" : node.op;
        return { sql: `(${l.sql} ${op} ${r.sql})`, type: "bool" };
      }
    }
  }

  private inList(node: WhereNode & { kind: "in" }): Typed {
    const lhs = this.compile(node.expr);
    if (lhs.type === "bool" || lhs.type === "timespan" || lhs.type === "region") {
      throw this.typeError(node.expr, `IN needs a number, string, time or UUID on its left, found a ${lhs.type}`);
    }
    const scalars: unknown[] = [];
    const parts: string[] = [];
    const numeric = (t: WhereType) => t === "int" || t === "float";
    const addValue = (t: Typed, item: { position: number }) => {
      const v = this.coerce(t, lhs.type, item);
      if (!(v.type === lhs.type || (numeric(v.type) && numeric(lhs.type)))) {
        throw this.typeError(item, `IN list item at position ${item.position} is a ${v.type}, the left side a ${lhs.type}`);
      }
      parts.push(`${lhs.sql} = ${v.sql}`);
    };
    for (const item of node.items as InItem[]) {
      if (item.kind === "range") {
        if (lhs.type !== "int") throw this.typeError(item, `a range needs an integer on the left of IN, found a ${lhs.type}`);
        const [a, b] = [this.param(item.start, "int"), this.param(item.stop, "int")];
        let sql = `(${lhs.sql} BETWEEN ${a} AND ${b}`;
        if (item.stride !== null && item.stride > 1) sql += ` AND (${lhs.sql} - ${a}) % ${this.param(item.stride, "int")} = 0`;
        parts.push(sql + ")");
      } else if (item.kind === "number" || item.kind === "string") {
        const v: Typed =
          item.kind === "string"
            ? { sql: "", type: "string", text: item.value }
            : { sql: "", type: item.isInteger ? "int" : "float" };
        if (item.kind === "string" && (lhs.type === "time" || lhs.type === "uuid")) addValue(this.compile(item), item);
        else if (v.type === lhs.type || (numeric(v.type) && numeric(lhs.type))) scalars.push(item.value);
        else throw this.typeError(item, `IN list item at position ${item.position} is a ${v.type}, the left side a ${lhs.type}`);
      } else if (item.kind === "bind") {
        const v = this.bindValue(item);
        if (v.list) {
          const coerced: unknown[] = [];
          for (const x of v.list) {
            if (lhs.type === "time" || lhs.type === "uuid") {
              // Checked one by one, sent as one array: a list of any length is one parameter.
              const t = this.coerce({ sql: "", type: "string", text: typeof x === "string" ? x : JSON.stringify(x) }, lhs.type, item);
              coerced.push(this.params.pop());
              void t;
              continue;
            }
            const t: WhereType | null =
              typeof x === "string" ? "string" : typeof x === "boolean" ? "bool" : typeof x === "number" && Number.isFinite(x) ? (Number.isSafeInteger(x) ? "int" : "float") : null;
            if (t === null || !(t === lhs.type || (numeric(t) && numeric(lhs.type)))) {
              throw this.typeError(item, `:${item.name} holds ${shownValue(x)}, the left side of IN is a ${lhs.type}`);
            }
            scalars.push(x);
          }
          if (coerced.length) parts.push(`${lhs.sql} = ANY(${this.param(coerced, `${lhs.type}[]` as `${WhereType}[]`)})`);
          if (!v.list.length) parts.push("false");
        } else addValue(v, item);
      } else {
        addValue(this.compile(item), item);
      }
    }
    if (scalars.length) parts.unshift(`${lhs.sql} = ANY(${this.param(scalars, `${lhs.type === "int" && scalars.every(Number.isSafeInteger) ? "int" : lhs.type}[]` as `${WhereType}[]`)})`);
    const sql = parts.length === 1 ? parts[0] : `(${parts.join(" OR ")})`;
    return { sql: node.negated ? `(NOT ${sql})` : `(${sql})`, type: "bool" };
  }

  private func(node: FunctionNode): Typed {
    switch (node.name) {
      case "UUID": {
        const arg = node.args[0] as WhereNode & { kind: "string" };
        return { sql: this.param(arg.value.replace(/^urn:uuid:/i, "").replace(/[{}]/g, ""), "uuid"), type: "uuid" };
      }
      case "GLOB": {
        const target = this.compile(node.args[0]);
        if (target.type !== "string") throw this.typeError(node.args[0], `GLOB needs a string field, found a ${target.type}`);
        const pattern = this.compile(node.args[1]);
        if (pattern.type !== "string" || pattern.text === undefined) throw this.typeError(node.args[1], "GLOB needs a string pattern");
        this.params.pop();
        return { sql: `(${target.sql} LIKE ${this.param(globToLike(pattern.text), "string")} ESCAPE '\\')`, type: "bool" };
      }
      default:
        throw this.typeError(node, `${node.name}() at position ${node.position} is a region; regions are used with OVERLAPS (visit.region OVERLAPS ${node.name}(…))`);
    }
  }

  /** A resolved spatial constraint: the row's key is among the overlapping records' keys (or pixels). */
  private regionCondition(match: RegionMatch): Typed {
    if (match.kind === "constant") return { sql: match.value ? "true" : "false", type: "bool" };
    const name = match.element;
    const dims = match.kind === "pixels" ? [name] : dimensionTable(name)!.keyDimensions;
    const values = dims.map((d) => this.source.dimension(d, this));
    const missing = dims.filter((_, i) => values[i] === null);
    if (missing.length) {
      throw this.unknown(match.identifier, `${this.source.what} are not related to ${name} regions (they have no ${missing.join(", ")} dimension)`);
    }
    if (match.kind === "pixels") {
      return { sql: match.pixels.length ? `(${values[0]} = ANY(${this.param(match.pixels, "int[]")}))` : "false", type: "bool" };
    }
    if (!match.keys.length) return { sql: "false", type: "bool" };
    const arrays = dims.map((d, i) => this.param(match.keys.map((k) => k[i]), `${whereTypeOf(primaryKeyField(d).type)}[]` as `${WhereType}[]`));
    return { sql: `((${values.join(", ")}) IN (SELECT * FROM unnest(${arrays.join(", ")})))`, type: "bool" };
  }
}

/** A value from the input as shown in a message: a few dozen characters at most. */
function shownValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Which elements have a field of a given name (for "did you mean exposure.observation_type?"). */
const DIMENSION_FIELD_INDEX: Map<string, string[]> = (() => {
  const m = new Map<string, string[]>();
  const add = (field: string, e: string) => {
    if (!m.has(field)) m.set(field, []);
    if (!m.get(field)!.includes(e)) m.get(field)!.push(e);
  };
  for (const name of ["instrument", "skymap", "day_obs", "detector", "group", "physical_filter", "subfilter", "tract", "visit_system", "exposure", "patch", "visit"]) {
    const t = dimensionTable(name);
    if (!t) continue;
    for (const c of t.columns) if (c.role === "metadata" || c.role === "alternate") add(c.name, name);
    if (t.element.hasTimespan) add("timespan", name);
    if (t.element.hasRegion) add("region", name);
  }
  return m;
})();

export interface CompiledWhere {
  /** The condition (SQL, "true" for an empty expression). */
  sql: string;
  /** LEFT JOINs the condition needs, in order. */
  joins: string[];
  /** True when the joins may repeat a row (count distinct rows). */
  multipliesRows?: boolean;
}

/**
 * Parses and compiles an expression. `params` is appended to (the caller's earlier parameters keep
 * their numbers). Empty or null → `true`. Spatial constraints read the stored regions through `db`.
 */
export async function compileWhere(
  db: EntityManager | null,
  expression: string | null | undefined,
  source: RowSource,
  params: unknown[],
  bind: Record<string, unknown> | null | undefined,
): Promise<CompiledWhere> {
  const tree = expression ? parseWhere(expression) : null;
  if (tree === null) return { sql: "true", joins: [] };
  const c = new Compiler(expression!, source, params, bind ?? {});
  c.regions = await resolveRegions(db, tree, bind ?? {}, (code, node, message) => c.error(code, node, message));
  const sql = c.compileCondition(tree);
  return c.multipliesRows ? { sql, joins: c.joins, multipliesRows: true } : { sql, joins: c.joins };
}

// --- row sources ----------------------------------------------------------------------------------

/** Joins an element's record table given a way to get dimension values; null when a key is missing. */
function joinVia(name: string, c: Compiler, dimension: (d: string) => string | null): string | null {
  const t = dimensionTable(name);
  if (!t) return null;
  const keys: string[] = [];
  for (const d of t.keyDimensions) {
    const v = dimension(d);
    if (v === null) return null;
    keys.push(v);
  }
  return c.joinElement(t, keys);
}

/** Join relations a query goes through for a dimension the rows lack (visit_definition: exposure ↔ visit). */
const ALWAYS_JOINED = ELEMENTS.filter((e) => e.kind === "element" && e.alwaysJoin);

/**
 * Rows of the datasets table `d`: every non-skypix dimension is a typed column holding the full
 * data ID (NULL for dataset types without that dimension); skypix values are read from data_id.
 * A dimension a dataset type lacks is reached, as daf_butler's queries do, through an always-joined
 * relation whose other dimensions it has: `visit = 5` or `visit.region OVERLAPS …` on raws
 * (instrument, exposure, detector) goes through visit_definition.
 */
export function datasetSource(types: ReadonlyArray<{ name: string; dimensions: readonly string[] }>): RowSource {
  const own = (name: string) => `d.${q(name)}`;
  const through = (name: string, lacking: typeof types, c: Compiler): string | null => {
    for (const rel of ALWAYS_JOINED) {
      const required = requiredClosure(rel.requires);
      if (!required.includes(name)) continue;
      const others = required.filter((d) => d !== name);
      if (!lacking.some((t) => others.every((d) => t.dimensions.includes(d)))) continue;
      const alias = c.joinRelation(dimensionTable(rel.name)!, others.map((d) => [d, own(d)]));
      return `${alias}.${q(name)}`;
    }
    return null;
  };
  const dimension = (name: string, c: Compiler): string | null => {
    if (!hasElement(name)) return null;
    const e = element(name);
    if (e.kind === "skypix") return `(d.data_id ->> ${`'${name}'`})::bigint`;
    if (e.kind !== "dimension") return null;
    const lacking = types.filter((t) => !t.dimensions.includes(name));
    if (!lacking.length) return own(name);
    const via = through(name, lacking, c);
    // NULL for the types without it, which then match nothing; unknown when no type has it at all.
    if (via === null) return lacking.length === types.length ? null : own(name);
    return lacking.length === types.length ? via : `COALESCE(${own(name)}, ${via})`;
  };
  return {
    what: "datasets",
    datasetQualifiers: types.map((t) => t.name),
    dimension,
    elementAlias: (name, c) => joinVia(name, c, (d) => dimension(d, c)),
    datasetField(qualifier, field, c) {
      if (field === "ingest_date") return { sql: "d.ingest_date", type: "time" };
      if (qualifier === null) return null;
      if (field === "dataset_id") return { sql: "d.id", type: "uuid" };
      if (field === "run") return { sql: "(SELECT name FROM collections WHERE id = d.run_id)", type: "string" };
      void c;
      return null;
    },
  };
}

/**
 * Rows of one element's record table `r`. Dimensions it does not hold itself are reached through
 * the dimensions it has that imply them (band through physical_filter for exposure records).
 */
export function recordSource(t: DimensionTable): RowSource {
  const source: RowSource = {
    what: `${t.element.name} records`,
    dimension(name, c) {
      if (name === t.element.name) {
        const key = t.columns.find((x) => x.role === "key");
        return key ? `r.${q(key.name)}` : null;
      }
      const own = t.columns.find((x) => x.dimension === name && x.role !== "key");
      if (own) return `r.${q(own.name)}`;
      // Through an implying dimension the row has.
      for (const col of t.columns) {
        if (!col.dimension || col.dimension === name) continue;
        const via = dimensionTable(col.dimension);
        if (!via || !via.element.implies.includes(name)) continue;
        const alias = source.elementAlias(col.dimension, c);
        if (alias) return `${alias}.${q(name)}`;
      }
      return null;
    },
    elementAlias(name, c) {
      if (name === t.element.name) return "r";
      return joinVia(name, c, (d) => source.dimension(d, c));
    },
  };
  return source;
}

/**
 * Runs a statement holding a compiled where condition. Arithmetic that fails on the rows' values
 * (`/ 0`, `% 0`, an integer overflow, a timespan ending before it begins, a value that is not a
 * number) fails in the database with a data exception (SQLSTATE class 22): that is the
 * expression's fault, reported as WHERE_EVALUATION_ERROR with the database's reason.
 */
export async function evaluateWhere<T>(expression: string | null | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const state = sqlState(err);
    if (!expression || !state?.startsWith("22")) throw err;
    const reason = capped(String((err as Error).message ?? err));
    throw new DbbError(FacilityErrorCode.WHERE_EVALUATION_ERROR, `Invalid where expression: evaluating it on the stored rows failed: ${reason} (check divisions, remainders, integer ranges and timespans)`, {
      expression: excerpt(expression),
      sqlState: state,
    });
  }
}
