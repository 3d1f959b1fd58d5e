import { parseDocument, Document, Scalar, YAMLMap } from "yaml";
import type { CollectionTag, ScalarTag } from "yaml";
import { facilityError, FacilityErrorCode } from "../errors";

/**
 * The YAML dialect of daf_butler exports: `!uuid` dataset IDs, `!butler_time/tai/iso` times (TAI,
 * nanoseconds), `!lsst.daf.butler.Timespan` mappings of begin/end, `!!binary` hashes, and sphgeom
 * regions as sphgeom's YAML representer writes them: `!<lsst.sphgeom.ConvexPolygon>` (Circle, Box,
 * Ellipse, UnionRegion, IntersectionRegion) mappings `{encoded: <hex of Region.encode()>}`, read
 * as that mapping (sky/region-encoding.ts decodes it).
 */

/** A UUID to be written with the `!uuid` tag. */
export class YamlUuid {
  constructor(readonly value: string) {}
}

/** A TAI ISO time (`YYYY-MM-DD HH:MM:SS.fffffffff`) to be written with `!butler_time/tai/iso`. */
export class YamlTaiTime {
  constructor(readonly value: string) {}
}

/** A timespan to be written with `!lsst.daf.butler.Timespan`. */
export class YamlTimespan {
  constructor(
    readonly begin: YamlTaiTime | null,
    readonly end: YamlTaiTime | null,
  ) {}
}

const uuidTag: ScalarTag = {
  tag: "!uuid",
  identify: (v) => v instanceof YamlUuid,
  resolve: (s: string) => s,
  stringify: (item) => ((item as Scalar).value as YamlUuid).value,
};

const timeTag: ScalarTag = {
  tag: "!butler_time/tai/iso",
  identify: (v) => v instanceof YamlTaiTime,
  // Read as {tai: "..."}, which the record and certification code turn into UTC.
  resolve: (s: string) => ({ tai: s }) as unknown as string,
  stringify: (item) => `'${((item as Scalar).value as YamlTaiTime).value}'`,
};

const timespanTag: CollectionTag = {
  tag: "!lsst.daf.butler.Timespan",
  collection: "map",
  nodeClass: YAMLMap,
  identify: (v) => v instanceof YamlTimespan,
  resolve: (map) => {
    const m = (map as YAMLMap).toJSON() as { begin?: unknown; end?: unknown };
    return { begin: m.begin ?? null, end: m.end ?? null } as unknown as YAMLMap;
  },
  createNode: (schema, value, ctx) => {
    const ts = value as YamlTimespan;
    return YAMLMap.from(schema, { begin: ts.begin, end: ts.end }, ctx);
  },
};

/** The sphgeom class of an encoded region, from its type-code byte. */
const REGION_CLASSES: Record<string, string> = { "70": "ConvexPolygon", "63": "Circle", "62": "Box", "65": "Ellipse", "75": "UnionRegion", "69": "IntersectionRegion" };

/** A region (the hex of its sphgeom encoding) to be written with its `!<lsst.sphgeom.…>` tag. */
export class YamlRegion {
  readonly className: string;
  constructor(readonly hex: string) {
    this.className = REGION_CLASSES[hex.slice(0, 2)] ?? "Region";
  }
}

const regionTags: CollectionTag[] = [...Object.values(REGION_CLASSES), "Region"].map((name) => ({
  tag: `lsst.sphgeom.${name}`,
  collection: "map",
  nodeClass: YAMLMap,
  identify: (v) => v instanceof YamlRegion && v.className === name,
  resolve: (map) => ({ encoded: (map as YAMLMap).get("encoded") }) as unknown as YAMLMap,
  createNode: (schema, value, ctx) => YAMLMap.from(schema, { encoded: (value as YamlRegion).hex }, ctx),
}));

const TAGS = [uuidTag, timeTag, timespanTag, ...regionTags];

export function parseButlerYaml(text: string): unknown {
  const doc = parseDocument(text, { customTags: (tags) => [...tags, ...TAGS, "binary"] });
  if (doc.errors.length) {
    throw facilityError(FacilityErrorCode.IMPORT_FORMAT_ERROR, `the file is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
  }
  return doc.toJS({ maxAliasCount: -1 });
}

export function stringifyButlerYaml(value: unknown): string {
  const doc = new Document(value, { customTags: (tags) => [...tags, ...TAGS, "binary"] });
  return doc.toString({ lineWidth: 0 });
}
