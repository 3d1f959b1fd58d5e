/**
 * Spatial constraints of the where language: `visit.region OVERLAPS POINT(150.1, 2.2)`,
 * `CIRCLE(ra, dec, radius) OVERLAPS visit_detector_region.region`, `patch.region OVERLAPS :region`,
 * `htm7.region OVERLAPS BOX(…)`, with POINT, CIRCLE, BOX, POLYGON and REGION('IVOA POS' or the hex
 * of a sphgeom encoding) as the constant side, or a bind parameter holding such a string.
 *
 * Postgres here has no spherical geometry, so each constraint is resolved before the SQL is
 * compiled, as daf_butler resolves regions in Python: the element's records whose stored bounding
 * box meets the constant region's box are read (an indexed prefilter), their regions decoded and
 * tested exactly (sky/overlap.ts), and the constraint becomes "the row's key is one of these"
 * (compiler.ts). For a skypix dimension (htm1…htm24) the pixels that overlap the region are
 * computed. The rest of the expression stays SQL, so totals and pages stay exact.
 *
 * Not evaluated (WHERE_UNSUPPORTED): overlaps between two dimension regions (a spatial join such as
 * `visit.region OVERLAPS tract.region`), and HEALPix regions.
 */
import type { EntityManager } from "typeorm";
import { DbbError } from "../../../lib/errors";
import { dimensionTable, q } from "../dimension-tables";
import { element, hasElement } from "../dimension-universe";
import { FacilityErrorCode } from "../errors";
import { htmEnvelope, htmPixel } from "../sky/htm";
import { boundingBox, overlaps } from "../sky/overlap";
import { box, circle, point, polygon, Region, RegionError } from "../sky/region";
import { parseIvoaPos, regionFromStored } from "../sky/region-encoding";
import type { FunctionNode, IdentifierNode, OverlapsNode, WhereNode } from "./parser";

/** What a region OVERLAPS constraint resolved to. */
export type RegionMatch =
  | { kind: "constant"; value: boolean }
  /** Primary-key tuples (in the table's primary key order) of the element's records that overlap. */
  | { kind: "records"; element: string; identifier: IdentifierNode; keys: unknown[][] }
  /** Pixel indices of a skypix dimension that overlap. */
  | { kind: "pixels"; element: string; identifier: IdentifierNode; pixels: number[] };

export type RegionMatches = Map<OverlapsNode, RegionMatch>;

/** Builds an error of the where expression at a node (Compiler.error). */
export type WhereFail = (code: string, node: { position: number }, message: string) => DbbError;

type Operand = { kind: "element"; element: string; node: IdentifierNode } | { kind: "region"; region: Region } | { kind: "other" };

const REGION_FUNCTIONS = new Set(["POINT", "CIRCLE", "BOX", "POLYGON", "REGION"]);

/** A region from text: the hex (or {encoded}) of a sphgeom encoding, or an IVOA POS string. */
function regionFromText(value: unknown): Region {
  try {
    return regionFromStored(value);
  } catch (e) {
    if (typeof value !== "string") throw e;
    return parseIvoaPos(value);
  }
}

class RegionResolver {
  constructor(
    private readonly bind: Record<string, unknown>,
    private readonly fail: WhereFail,
  ) {}

  private bindValue(node: WhereNode & { kind: "bind" }): unknown {
    if (!Object.prototype.hasOwnProperty.call(this.bind, node.name)) {
      throw this.fail(FacilityErrorCode.WHERE_UNKNOWN_IDENTIFIER, node, `bind parameter :${node.name} has no value in bind`);
    }
    return this.bind[node.name];
  }

  /** A constant number: a literal, a bind holding a number, or arithmetic of those. */
  private numberOf(node: WhereNode, fn: string): number {
    switch (node.kind) {
      case "number":
        return node.value;
      case "bind": {
        const v = this.bindValue(node);
        if (typeof v === "number" && Number.isFinite(v)) return v;
        throw this.fail(FacilityErrorCode.WHERE_TYPE_ERROR, node, `${fn}() needs numbers (degrees); :${node.name} holds ${JSON.stringify(v)}`);
      }
      case "unary":
        if (node.op === "-" || node.op === "+") {
          const v = this.numberOf(node.operand, fn);
          return node.op === "-" ? -v : v;
        }
        break;
      case "binary": {
        const ops: Record<string, (a: number, b: number) => number> = { "+": (a, b) => a + b, "-": (a, b) => a - b, "*": (a, b) => a * b, "/": (a, b) => a / b };
        const op = ops[node.op];
        if (op) return op(this.numberOf(node.lhs, fn), this.numberOf(node.rhs, fn));
        break;
      }
      case "identifier":
        throw this.fail(
          FacilityErrorCode.WHERE_UNSUPPORTED,
          node,
          `${fn}() arguments must be constant numbers or bind parameters; '${node.parts.join(".")}' at position ${node.position} is a column`,
        );
    }
    throw this.fail(FacilityErrorCode.WHERE_TYPE_ERROR, node, `${fn}() needs numbers (degrees), found the expression at position ${node.position}`);
  }

  private functionRegion(node: FunctionNode): Region {
    const fn = node.name;
    try {
      if (fn === "REGION") {
        const arg = node.args[0];
        const text = arg.kind === "string" ? arg.value : arg.kind === "bind" ? this.bindValue(arg) : undefined;
        if (text === undefined) throw this.fail(FacilityErrorCode.WHERE_UNSUPPORTED, arg, "REGION() takes a string or a bind parameter holding one");
        return regionFromText(text);
      }
      const n = node.args.map((a) => this.numberOf(a, fn));
      if (fn === "POINT") return point(n[0], n[1]);
      if (fn === "CIRCLE") return circle(n[0], n[1], n[2]);
      if (fn === "BOX") return box(n[0], n[1], n[2], n[3]);
      const coords: Array<[number, number]> = [];
      for (let i = 0; i + 1 < n.length; i += 2) coords.push([n[i], n[i + 1]]);
      return polygon(coords);
    } catch (e) {
      if (e instanceof RegionError) throw this.fail(FacilityErrorCode.WHERE_TYPE_ERROR, node, `${fn}() at position ${node.position}: ${e.message}`);
      throw e;
    }
  }

  private operand(node: WhereNode, otherIsRegion: boolean): Operand {
    if (node.kind === "identifier" && node.parts.length === 2 && node.parts[1] === "region" && hasElement(node.parts[0]) && element(node.parts[0]).hasRegion) {
      return { kind: "element", element: node.parts[0], node };
    }
    if (node.kind === "function" && REGION_FUNCTIONS.has(node.name)) return { kind: "region", region: this.functionRegion(node) };
    if (node.kind === "bind" && otherIsRegion) {
      const v = this.bindValue(node);
      try {
        return { kind: "region", region: regionFromText(v) };
      } catch (e) {
        if (!(e instanceof RegionError)) throw e;
        throw this.fail(
          FacilityErrorCode.WHERE_TYPE_ERROR,
          node,
          `:${node.name} must hold a region (an IVOA POS string such as 'CIRCLE 150.1 2.2 0.5', or the hex of a sphgeom encoding): ${e.message}`,
        );
      }
    }
    return { kind: "other" };
  }

  private static regionish(node: WhereNode): boolean {
    return (
      (node.kind === "identifier" && node.parts.length === 2 && node.parts[1] === "region") ||
      (node.kind === "function" && REGION_FUNCTIONS.has(node.name))
    );
  }

  /** Classifies an OVERLAPS node; null when it is not spatial (timespans). */
  classify(node: OverlapsNode): [Operand, Operand] | null {
    const lr = RegionResolver.regionish(node.lhs);
    const rr = RegionResolver.regionish(node.rhs);
    if (!lr && !rr) return null;
    const a = this.operand(node.lhs, rr);
    const b = this.operand(node.rhs, lr);
    if (a.kind === "other" || b.kind === "other") return null; // the compiler reports the type error
    return [a, b];
  }
}

/** Every OVERLAPS node of a tree. */
function overlapsNodes(node: WhereNode, out: OverlapsNode[] = []): OverlapsNode[] {
  switch (node.kind) {
    case "overlaps":
      out.push(node);
      overlapsNodes(node.lhs, out);
      overlapsNodes(node.rhs, out);
      break;
    case "binary":
      overlapsNodes(node.lhs, out);
      overlapsNodes(node.rhs, out);
      break;
    case "unary":
      overlapsNodes(node.operand, out);
      break;
    case "in":
      overlapsNodes(node.expr, out);
      for (const i of node.items) overlapsNodes(i, out);
      break;
    case "function":
    case "tuple":
      for (const a of node.kind === "function" ? node.args : node.items) overlapsNodes(a, out);
      break;
  }
  return out;
}

/** Longitude condition of the prefilter: the stored lon range [min, max] (wrapping when min > max) meets [a, b]. */
function longitudeCondition(a: number, b: number, p: (v: unknown) => string): string {
  if (a <= 0 && b >= 360) return "true";
  const pa = p(a);
  const pb = p(b);
  const startInQuery = a <= b ? `(region_lon_min BETWEEN ${pa} AND ${pb})` : `(region_lon_min >= ${pa} OR region_lon_min <= ${pb})`;
  const queryStartInRecord = `(CASE WHEN region_lon_min <= region_lon_max THEN ${pa} BETWEEN region_lon_min AND region_lon_max ELSE (${pa} >= region_lon_min OR ${pa} <= region_lon_max) END)`;
  return `(${startInQuery} OR ${queryStartInRecord})`;
}

/** Keys of an element's records whose region overlaps `region`. */
async function recordsOverlapping(db: EntityManager, elementName: string, region: Region): Promise<unknown[][]> {
  const t = dimensionTable(elementName)!;
  const bounds = boundingBox(region);
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}::double precision`;
  };
  const lat = `region_lat_max >= ${p(bounds.latMin)} AND region_lat_min <= ${p(bounds.latMax)}`;
  const lon = longitudeCondition(bounds.lonMin, bounds.lonMax, p);
  const rows: Array<Record<string, unknown>> = await db.query(
    `SELECT ${t.primaryKey.map(q).join(", ")}, region FROM ${t.table} WHERE region IS NOT NULL AND ${lat} AND ${lon}`,
    params,
  );
  const keys: unknown[][] = [];
  for (const row of rows) {
    let stored: Region;
    try {
      stored = regionFromStored(row.region);
    } catch {
      continue; // text stored before regions were validated; it has no bounds either
    }
    if (overlaps(stored, region)) keys.push(t.primaryKey.map((k) => row[k]));
  }
  return keys;
}

/** Pixels of a skypix dimension that overlap a region. */
function pixelsOverlapping(elementName: string, region: Region, node: IdentifierNode, fail: WhereFail): number[] {
  const sky = element(elementName).skypix!;
  if (sky.system !== "htm") {
    throw fail(FacilityErrorCode.WHERE_UNSUPPORTED, node, `${sky.system} pixel regions are not evaluated here; HTM levels (htm1…htm24) are`);
  }
  try {
    return htmEnvelope(region, sky.level).filter((i) => overlaps(htmPixel(i), region));
  } catch (e) {
    if (e instanceof RegionError) throw fail(FacilityErrorCode.WHERE_UNSUPPORTED, node, `${elementName}: ${e.message}`);
    throw e;
  }
}

/**
 * Resolves every spatial OVERLAPS of a parsed expression. `db` may be null only when the expression
 * has no constraint on stored regions.
 */
export async function resolveRegions(db: EntityManager | null, tree: WhereNode, bind: Record<string, unknown>, fail: WhereFail): Promise<RegionMatches> {
  const out: RegionMatches = new Map();
  const resolver = new RegionResolver(bind, fail);
  for (const node of overlapsNodes(tree)) {
    const pair = resolver.classify(node);
    if (!pair) continue;
    const [a, b] = pair;
    if (a.kind === "region" && b.kind === "region") {
      out.set(node, { kind: "constant", value: overlaps(a.region, b.region) });
      continue;
    }
    if (a.kind === "element" && b.kind === "element") {
      throw fail(
        FacilityErrorCode.WHERE_UNSUPPORTED,
        node,
        `${a.element}.region OVERLAPS ${b.element}.region is a spatial join between dimension regions, which this registry view does not evaluate; ` +
          `compare a region with POINT, CIRCLE, BOX, POLYGON or REGION`,
      );
    }
    const [el, constant] = (a.kind === "element" ? [a, b] : [b, a]) as [Operand & { kind: "element" }, Operand & { kind: "region" }];
    if (element(el.element).kind === "skypix") {
      out.set(node, { kind: "pixels", element: el.element, identifier: el.node, pixels: pixelsOverlapping(el.element, constant.region, el.node, fail) });
    } else {
      if (!db) throw new Error("resolveRegions needs a database to evaluate stored regions");
      out.set(node, { kind: "records", element: el.element, identifier: el.node, keys: await recordsOverlapping(db, el.element, constant.region) });
    }
  }
  return out;
}
