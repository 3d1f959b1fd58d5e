/**
 * How dimension records are stored: one table per dimension element of the universe
 * (dimension-universe.ts), `dim_<element>`, with typed columns, so that a `where` on a dimension
 * field compiles to indexed SQL. Skypix dimensions have no table (their regions are computed, not
 * stored) and neither does `band` (an implied-union dimension: its values are those of
 * physical_filter.band).
 *
 * Columns of an element's table, in this order:
 *   - its required dimensions (recursively), each named after the dimension, typed as its primary key;
 *   - its own keys (keys[0] is the primary key value, the others alternate keys), named as the fields;
 *   - its directly implied dimensions, named after the dimension;
 *   - its metadata fields;
 *   - `timespan_begin`, `timespan_end` (timestamptz, UTC; NULL = unbounded) when it has a timespan;
 *   - `region` (text: the lowercase hex of sphgeom's Region.encode(), as daf_butler serializes it) and
 *     its bounding box `region_lat_min`, `region_lat_max`, `region_lon_min`, `region_lon_max`
 *     (degrees; lon_min > lon_max when it wraps through 0), the SQL prefilter of spatial constraints
 *     (where/spatial.ts), when it has a region. The box columns were added by the RegionBounds
 *     migration, so the initial DDL leaves them out.
 * The primary key is (required dimensions…, primary key field); alternate keys are unique together
 * with the required dimensions.
 */
import { DIMENSION_NAMES, element, ElementSpec, ELEMENTS, FieldType, primaryKeyField, requiredClosure } from "./dimension-universe";

export type ColumnRole = "required" | "key" | "alternate" | "implied" | "metadata" | "timespan" | "region" | "bounds";

/** The bounding-box columns of a region, in the order boundingBox() fields map to them. */
export const REGION_BOUNDS = { latMin: "region_lat_min", latMax: "region_lat_max", lonMin: "region_lon_min", lonMax: "region_lon_max" } as const;

export interface Column {
  name: string;
  type: FieldType;
  role: ColumnRole;
  nullable: boolean;
  /** For required and implied columns: the dimension whose value the column holds. */
  dimension?: string;
}

export interface DimensionTable {
  element: ElementSpec;
  table: string;
  columns: Column[];
  /** Columns of the primary key, in order. */
  primaryKey: string[];
  /** The dimension whose value each primary key column holds (the element's own key: its name). */
  keyDimensions: string[];
}

/** A quoted SQL identifier (dimension names include SQL keywords such as "group"). */
export function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export const SQL_TYPES: Record<FieldType, string> = {
  int: "bigint",
  string: "text",
  float: "double precision",
  bool: "boolean",
  datetime: "timestamptz",
  hash: "text",
  timespan: "tstzrange",
  region: "text",
};

export function hasTable(e: ElementSpec): boolean {
  return e.kind === "element" || (e.kind === "dimension" && !e.impliedUnionTarget);
}

function tableOf(e: ElementSpec): DimensionTable {
  const columns: Column[] = [];
  const own = e.kind === "dimension" ? [e.name] : [];
  for (const dim of requiredClosure(e.requires)) {
    if (own.includes(dim)) continue;
    columns.push({ name: dim, type: primaryKeyField(dim).type, role: "required", nullable: false, dimension: dim });
  }
  e.keys.forEach((k, i) => columns.push({ name: k.name, type: k.type, role: i === 0 ? "key" : "alternate", nullable: false, dimension: i === 0 ? e.name : undefined }));
  for (const dim of e.implies) columns.push({ name: dim, type: primaryKeyField(dim).type, role: "implied", nullable: true, dimension: dim });
  for (const f of e.metadata) columns.push({ name: f.name, type: f.type, role: "metadata", nullable: f.nullable ?? true });
  if (e.hasTimespan) {
    columns.push({ name: "timespan_begin", type: "datetime", role: "timespan", nullable: true });
    columns.push({ name: "timespan_end", type: "datetime", role: "timespan", nullable: true });
  }
  if (e.hasRegion) {
    columns.push({ name: "region", type: "region", role: "region", nullable: true });
    for (const name of Object.values(REGION_BOUNDS)) columns.push({ name, type: "float", role: "bounds", nullable: true });
  }
  const keyColumns = columns.filter((c) => c.role === "required" || c.role === "key");
  return { element: e, table: `dim_${e.name}`, columns, primaryKey: keyColumns.map((c) => c.name), keyDimensions: keyColumns.map((c) => c.dimension!) };
}

/** Every element with a table, in universe order (dependencies first). */
export const DIMENSION_TABLES: readonly DimensionTable[] = ELEMENTS.filter(hasTable).map(tableOf);

const BY_ELEMENT = new Map(DIMENSION_TABLES.map((t) => [t.element.name, t]));

/** The table of an element, or undefined for skypix dimensions and band. */
export function dimensionTable(name: string): DimensionTable | undefined {
  return BY_ELEMENT.get(name);
}

/**
 * Dimensions a dataset row keeps in typed columns of its own (all but skypix): the full data ID
 * (required and implied values) is stored there, indexed, so a where on a dimension value uses an index.
 * Skypix values stay in the data_id jsonb.
 */
export const DATASET_DIMENSION_COLUMNS: readonly string[] = DIMENSION_NAMES.filter((d) => element(d).kind === "dimension");

/** DDL of the dimension tables as the initial migration made them (without the region bounds). */
export function dimensionTablesDdl(): string[] {
  const out: string[] = [];
  for (const t of DIMENSION_TABLES) {
    const cols = t.columns.filter((c) => c.role !== "bounds").map((c) => `${q(c.name)} ${SQL_TYPES[c.type]}${c.nullable ? "" : " NOT NULL"}`);
    cols.push(`PRIMARY KEY (${t.primaryKey.map(q).join(", ")})`);
    out.push(`CREATE TABLE ${t.table} (\n  ${cols.join(",\n  ")}\n)`);
    const required = t.columns.filter((c) => c.role === "required").map((c) => q(c.name));
    for (const alt of t.columns.filter((c) => c.role === "alternate")) {
      out.push(`CREATE UNIQUE INDEX ${t.table}_${alt.name} ON ${t.table} (${[...required, q(alt.name)].join(", ")})`);
    }
    for (const imp of t.columns.filter((c) => c.role === "implied")) {
      out.push(`CREATE INDEX ${t.table}_${imp.name} ON ${t.table} (${q(imp.name)})`);
    }
    if (t.element.kind === "element") {
      // Join relations are looked up from either side.
      const last = t.primaryKey[t.primaryKey.length - 1];
      out.push(`CREATE INDEX ${t.table}_${last} ON ${t.table} (${q(last)})`);
    }
  }
  return out;
}
