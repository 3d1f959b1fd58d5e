/**
 * sphgeom's binary region encoding (Region.encode() / Region.decode()), the stored forms in which a
 * dimension record's region reaches the gateway, and IVOA POS strings (the where language's REGION()).
 *
 * Encoding (lsst/sphgeom src/*.cc `encode`, include/lsst/sphgeom/codec.h): one type-code byte, then
 * IEEE-754 doubles, little-endian:
 * - ConvexPolygon 'p' (0x70): x, y, z of each vertex in order; 1 + 24·n bytes, n ≥ 3.
 * - Circle 'c' (0x63): center x, y, z, squared chord length, opening angle (radians); 41 bytes.
 * - Box 'b' (0x62): lon a, lon b, lat a, lat b (radians); 33 bytes. Decoding normalizes as sphgeom's
 *   Box::decode does (NormalizedAngleInterval::fromRadians, latitude clipped to ±π/2).
 * - Ellipse 'e' (0x65): the 3×3 matrix S row-major, a, b, γ, |tan a|, |tan b|; 113 bytes.
 * - UnionRegion 'u' (0x75) / IntersectionRegion 'i' (0x69) (src/CompoundRegion.cc): the type code,
 *   then for every operand its encoded length as a little-endian uint64 followed by its encoding
 *   (operands may themselves be compound; any number of operands, including none).
 * HEALPixel regions ('h', newer sphgeom) are not supported (RegionError).
 *
 * Stored forms (`regionFromStored`):
 * - lowercase hex of the encoding: daf_butler's JSON (DimensionRecord.to_simple writes
 *   `region.encode().hex()`, python/lsst/daf/butler/dimensions/_records.py; pydantic_utils.py's
 *   SerializableRegion serializes as hex too), and upper case hex is accepted;
 * - a mapping `{encoded: "<hex>"}`: sphgeom's YAML representer (python/lsst/sphgeom/_yaml.py) writes
 *   regions in YAML exports as `!<lsst.sphgeom.ConvexPolygon> {encoded: <hex>}` (tags for Circle,
 *   Box, Ellipse, UnionRegion, IntersectionRegion alike); a YAML parser that does not know the tag
 *   yields that mapping (as does daf_butler's tests/data/registry/spatial.yaml);
 * - base64 of the encoding: daf_butler's registry database column type Base64Region
 *   (python/lsst/daf/butler/ddl.py) stores regions as base64 text, and its union aggregate joins
 *   several with ':' (each part decoded and the parts combined into a UnionRegion), which is accepted;
 * - Postgres bytea text (`\x…`) and `0x…` hex;
 * - a Uint8Array (Buffer) or ArrayBuffer of the encoding.
 * Hex and base64 never collide: every hex encoding starts with the digit 6 or 7 (the type codes are
 * 0x62…0x75) and every base64 one with a letter.
 *
 * IVOA POS (`parseIvoaPos`): sphgeom's Region.from_ivoa_pos (python/lsst/sphgeom/_continue_class.py;
 * tests/test_ivoa.py): whitespace-separated, shape names upper case, degrees:
 * `CIRCLE lon lat radius` → Circle(center, radius); `RANGE lon1 lon2 lat1 lat2` → Box of
 * the two corners, +Inf/−Inf longitudes → 360/0 and latitudes → ±90; `POLYGON lon1 lat1 …` (at least 3
 * pairs) → ConvexPolygon of the points. daf_butler's where-language REGION('…') passes its string
 * to from_ivoa_pos. Deviation: a negative radius, a RANGE with lat1 > lat2 and non-finite coordinates
 * are rejected (RegionError) where sphgeom would build an empty or invalid region.
 */
import { boxFromRanges, checkPolygonVertices, circle, convexHull, positionOf, Region, RegionError, squaredChordLengthFor } from "./region";
import { isFiniteVec, normalizeLonRadians, Vec3 } from "./vector";

const TYPE_POLYGON = 0x70; // 'p'
const TYPE_CIRCLE = 0x63; // 'c'
const TYPE_BOX = 0x62; // 'b'
const TYPE_ELLIPSE = 0x65; // 'e'
const TYPE_UNION = 0x75; // 'u'
const TYPE_INTERSECTION = 0x69; // 'i'
const TYPE_HEALPIXEL = 0x68; // 'h'

const CIRCLE_SIZE = 41;
const BOX_SIZE = 33;
const ELLIPSE_SIZE = 113;
const MAX_NESTING = 64;

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  byte(b: number): void {
    this.push(Uint8Array.of(b));
  }

  double(d: number): void {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, d, true);
    this.push(out);
  }

  u64(n: number): void {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
    this.push(out);
  }

  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function encodeInto(r: Region, w: Writer): void {
  switch (r.kind) {
    case "point":
      throw new RegionError("a POINT is a position, not a sphgeom region, and has no sphgeom encoding; use a CIRCLE of radius 0");
    case "polygon":
      checkPolygonVertices(r.vertices);
      w.byte(TYPE_POLYGON);
      for (const v of r.vertices) {
        w.double(v[0]);
        w.double(v[1]);
        w.double(v[2]);
      }
      return;
    case "circle":
      w.byte(TYPE_CIRCLE);
      w.double(r.center[0]);
      w.double(r.center[1]);
      w.double(r.center[2]);
      w.double(r.squaredChordLength ?? squaredChordLengthFor(r.openingAngle));
      w.double(r.openingAngle);
      return;
    case "box":
      w.byte(TYPE_BOX);
      w.double(r.lon[0]);
      w.double(r.lon[1]);
      w.double(r.lat[0]);
      w.double(r.lat[1]);
      return;
    case "ellipse":
      if (r.matrix.length !== 9) throw new RegionError(`an ellipse needs a 3×3 matrix (9 numbers), got ${r.matrix.length}`);
      w.byte(TYPE_ELLIPSE);
      for (const m of r.matrix) w.double(m);
      w.double(r.a);
      w.double(r.b);
      w.double(r.gamma);
      w.double(r.tana);
      w.double(r.tanb);
      return;
    case "union":
    case "intersection": {
      w.byte(r.kind === "union" ? TYPE_UNION : TYPE_INTERSECTION);
      for (const operand of r.operands) {
        const inner = new Writer();
        encodeInto(operand, inner);
        const bytes = inner.bytes();
        w.u64(bytes.length);
        w.push(bytes);
      }
      return;
    }
  }
}

/** sphgeom Region.encode(): the bytes of a region. RegionError for a POINT (not a sphgeom region). */
export function encodeRegion(r: Region): Uint8Array {
  const w = new Writer();
  encodeInto(r, w);
  return w.bytes();
}

/** Lowercase hex of encodeRegion (daf_butler's JSON form, `region.encode().hex()`). */
export function regionToHex(r: Region): string {
  return Buffer.from(encodeRegion(r)).toString("hex");
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

const TYPE_NAMES: Record<number, string> = {
  [TYPE_POLYGON]: "ConvexPolygon",
  [TYPE_CIRCLE]: "Circle",
  [TYPE_BOX]: "Box",
  [TYPE_ELLIPSE]: "Ellipse",
  [TYPE_UNION]: "UnionRegion",
  [TYPE_INTERSECTION]: "IntersectionRegion",
};

function bad(message: string): RegionError {
  return new RegionError(`not a sphgeom region encoding: ${message}`);
}

/** sphgeom's NormalizedAngleInterval::fromRadians(a, b). */
function lonInterval(a: number, b: number): [number, number] {
  if (Number.isNaN(a) || Number.isNaN(b)) return [NaN, NaN];
  const twoPi = 2 * Math.PI;
  const normalized = (x: number) => x >= 0 && x <= twoPi;
  if (!normalized(a) || !normalized(b)) {
    if (a > b) throw bad(`the Box longitude interval [${a}, ${b}] is invalid`);
    if (b - a >= twoPi) return [0, twoPi];
  }
  return [normalizeLonRadians(a), normalizeLonRadians(b)];
}

function decodeAt(bytes: Uint8Array, depth: number): Region {
  if (bytes.length === 0) throw bad("it is empty");
  if (depth > MAX_NESTING) throw bad(`compound regions are nested more than ${MAX_NESTING} deep`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d = (at: number) => view.getFloat64(at, true);
  const tc = bytes[0];
  const name = TYPE_NAMES[tc];
  switch (tc) {
    case TYPE_POLYGON: {
      const n = bytes.length;
      if (n < 1 + 24 * 3 || (n - 1) % 24 !== 0) throw bad(`a ConvexPolygon takes 1 + 24·n bytes with n ≥ 3 vertices, got ${n} bytes`);
      const vertices: Vec3[] = [];
      for (let at = 1; at < n; at += 24) {
        const v: Vec3 = [d(at), d(at + 8), d(at + 16)];
        if (!isFiniteVec(v)) throw bad("a ConvexPolygon vertex has a non-finite coordinate");
        vertices.push(v);
      }
      return { kind: "polygon", vertices };
    }
    case TYPE_CIRCLE: {
      if (bytes.length !== CIRCLE_SIZE) throw bad(`a Circle takes ${CIRCLE_SIZE} bytes, got ${bytes.length}`);
      const center: Vec3 = [d(1), d(9), d(17)];
      if (!isFiniteVec(center)) throw bad("the Circle center has a non-finite coordinate");
      return { kind: "circle", center, squaredChordLength: d(25), openingAngle: d(33) };
    }
    case TYPE_BOX: {
      if (bytes.length !== BOX_SIZE) throw bad(`a Box takes ${BOX_SIZE} bytes, got ${bytes.length}`);
      let lon = lonInterval(d(1), d(9));
      let lat: [number, number] = [d(17), d(25)];
      // Box::_enforceInvariants
      const latEmpty = !(lat[0] <= lat[1]);
      if (!latEmpty) lat = [Math.max(lat[0], -0.5 * Math.PI), Math.min(lat[1], 0.5 * Math.PI)];
      if (!(lat[0] <= lat[1])) lon = [NaN, NaN];
      else if (Number.isNaN(lon[0]) || Number.isNaN(lon[1])) lat = [1, 0];
      return { kind: "box", lon, lat };
    }
    case TYPE_ELLIPSE: {
      if (bytes.length !== ELLIPSE_SIZE) throw bad(`an Ellipse takes ${ELLIPSE_SIZE} bytes, got ${bytes.length}`);
      const matrix: number[] = [];
      for (let i = 0; i < 9; i++) matrix.push(d(1 + 8 * i));
      if (!matrix.every(Number.isFinite)) throw bad("the Ellipse matrix has a non-finite entry");
      return { kind: "ellipse", matrix, a: d(73), b: d(81), gamma: d(89), tana: d(97), tanb: d(105) };
    }
    case TYPE_UNION:
    case TYPE_INTERSECTION: {
      const operands: Region[] = [];
      let at = 1;
      while (at < bytes.length) {
        if (at + 8 > bytes.length) throw bad(`the encoded ${name} is truncated`);
        const size = view.getBigUint64(at, true);
        at += 8;
        if (size > BigInt(bytes.length - at)) throw bad(`the encoded ${name} is truncated`);
        const end = at + Number(size);
        operands.push(decodeAt(bytes.subarray(at, end), depth + 1));
        at = end;
      }
      return { kind: tc === TYPE_UNION ? "union" : "intersection", operands };
    }
    case TYPE_HEALPIXEL:
      throw new RegionError("HEALPix pixel regions (sphgeom type code 'h') are not supported");
    default:
      throw bad(`unknown type code 0x${tc.toString(16).padStart(2, "0")} (expected one of 'p', 'c', 'b', 'e', 'u', 'i')`);
  }
}

/** sphgeom Region.decode(): the region of an encoding. RegionError on bytes that are not one. */
export function decodeRegion(bytes: Uint8Array): Region {
  if (!(bytes instanceof Uint8Array)) throw new RegionError("a region encoding must be bytes (a Uint8Array)");
  return decodeAt(bytes, 0);
}

// ---------------------------------------------------------------------------------------------
// Stored forms
// ---------------------------------------------------------------------------------------------

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const REGION_KINDS = new Set(["point", "circle", "polygon", "box", "ellipse", "union", "intersection"]);

function preview(s: string): string {
  return s.length > 40 ? `${JSON.stringify(s.slice(0, 40))}…` : JSON.stringify(s);
}

function fromHex(hex: string): Region {
  return decodeRegion(new Uint8Array(Buffer.from(hex, "hex")));
}

function fromBase64(text: string): Region {
  return decodeRegion(new Uint8Array(Buffer.from(text, "base64")));
}

/** One stored string: hex, \x / 0x hex, or base64. */
function fromEncodedText(text: string): Region {
  let s = text.trim();
  let explicitHex = false;
  if (s.startsWith("\\x") || s.startsWith("0x") || s.startsWith("0X")) {
    s = s.slice(2);
    explicitHex = true;
  }
  if (s.length === 0) throw new RegionError("a stored region is an empty string; expected the hex of a sphgeom Region.encode()");
  const hexShaped = HEX.test(s) && s.length % 2 === 0;
  if (hexShaped) {
    try {
      return fromHex(s);
    } catch (e) {
      if (explicitHex || !(BASE64.test(s) && s.length % 4 === 0)) throw e;
      try {
        return fromBase64(s);
      } catch {
        throw e;
      }
    }
  }
  if (!explicitHex && BASE64.test(s) && s.length % 4 === 0) return fromBase64(s);
  throw new RegionError(
    `${preview(text)} is not a stored sphgeom region; expected the hex (or base64) of Region.encode(), e.g. "7022408b…" for a ConvexPolygon`,
  );
}

/**
 * The region of a dimension record's stored `region` value, in any form daf_butler writes it: the
 * hex of sphgeom's encoding (JSON), a `{encoded: hex}` mapping (sphgeom's YAML tag), base64 (its
 * registry database column, ':'-joined parts for a union), `\x`/`0x` hex, or the encoding's bytes.
 * A Region object is passed through. RegionError for anything else.
 */
export function regionFromStored(value: unknown): Region {
  if (value === null || value === undefined) throw new RegionError("no region is stored (null)");
  if (value instanceof Uint8Array) return decodeRegion(value);
  if (value instanceof ArrayBuffer) return decodeRegion(new Uint8Array(value));
  if (typeof value === "string") {
    const s = value.trim();
    if (s.includes(":") && !s.startsWith("\\x")) {
      const parts = s.split(":").map((p) => p.trim());
      if (parts.some((p) => p.length === 0)) throw new RegionError(`${preview(value)} has an empty part between ':' separators`);
      const operands = parts.map(fromEncodedText);
      return operands.length === 1 ? operands[0] : { kind: "union", operands };
    }
    return fromEncodedText(s);
  }
  if (typeof value === "object") {
    const encoded = value instanceof Map ? value.get("encoded") : (value as Record<string, unknown>).encoded;
    if (typeof encoded === "string") {
      const hex = encoded.replace(/\s+/g, "");
      if (!HEX.test(hex) || hex.length % 2 !== 0) {
        throw new RegionError(`the 'encoded' value of a stored region must be hex (sphgeom's YAML form), got ${preview(encoded)}`);
      }
      return fromHex(hex);
    }
    if (encoded instanceof Uint8Array) return decodeRegion(encoded);
    const kind = (value as { kind?: unknown }).kind;
    if (typeof kind === "string" && REGION_KINDS.has(kind)) return value as Region;
  }
  throw new RegionError(
    `a stored region must be the hex of a sphgeom Region.encode() (or {encoded: hex}, base64, or bytes), got ${typeof value === "object" ? "an object" : typeof value}`,
  );
}

// ---------------------------------------------------------------------------------------------
// IVOA POS
// ---------------------------------------------------------------------------------------------

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/** A number as Python's float() reads the POS tokens (decimal, exponent, inf, nan). */
function posNumber(token: string, text: string): number {
  if (DECIMAL.test(token)) return Number(token);
  const m = SPECIAL.exec(token);
  if (m) {
    if (m[2].toLowerCase() === "nan") return NaN;
    return m[1] === "-" ? -Infinity : Infinity;
  }
  throw new RegionError(`${JSON.stringify(token)} in POS string ${preview(text)} is not a number`);
}

const POS_FORMS =
  "expected 'CIRCLE lon lat radius', 'RANGE lon1 lon2 lat1 lat2' or 'POLYGON lon1 lat1 lon2 lat2 lon3 lat3 …' (degrees, shape in upper case)";

function finiteOrFail(values: number[], shape: string): void {
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RegionError(`${shape} coordinates must be finite numbers of degrees, got ${v}`);
  }
}

/** The region of an IVOA POS string (SIAv2), as sphgeom's Region.from_ivoa_pos reads it. */
export function parseIvoaPos(text: string): Region {
  if (typeof text !== "string") throw new RegionError(`a POS region must be a string; ${POS_FORMS}`);
  const tokens = text.trim().split(/\s+/).filter((t) => t.length > 0);
  if (tokens.length === 0) throw new RegionError(`the POS string is empty; ${POS_FORMS}`);
  const [shape, ...rest] = tokens;
  if (shape !== "CIRCLE" && shape !== "RANGE" && shape !== "POLYGON") {
    const hint = ["CIRCLE", "RANGE", "POLYGON"].includes(shape.toUpperCase()) ? ` (write ${shape.toUpperCase()} in upper case)` : "";
    throw new RegionError(`unrecognized shape ${JSON.stringify(shape)} in POS string ${preview(text)}${hint}; ${POS_FORMS}`);
  }
  const n = rest.map((t) => posNumber(t, text));
  switch (shape) {
    case "CIRCLE": {
      if (n.length !== 3) throw new RegionError(`CIRCLE requires 3 numbers (lon lat radius) but got ${n.length} in ${preview(text)}`);
      finiteOrFail(n, "CIRCLE");
      return circle(n[0], n[1], n[2]);
    }
    case "RANGE": {
      if (n.length !== 4) throw new RegionError(`RANGE requires 4 numbers (lon1 lon2 lat1 lat2) but got ${n.length} in ${preview(text)}`);
      if (n.some(Number.isNaN)) throw new RegionError(`RANGE bounds must be numbers, got NaN in ${preview(text)}`);
      const lon = (x: number) => (x === Infinity ? 360 : x === -Infinity ? 0 : x);
      const lat = (x: number) => (x === Infinity ? 90 : x === -Infinity ? -90 : x);
      return boxFromRanges(lon(n[0]), lon(n[1]), lat(n[2]), lat(n[3]));
    }
    default: {
      if (n.length % 2 !== 0) throw new RegionError(`POLYGON requires an even number of numbers (lon lat pairs) but got ${n.length} in ${preview(text)}`);
      if (n.length < 6) throw new RegionError(`POLYGON requires at least 3 vertices (6 numbers), got ${n.length / 2} in ${preview(text)}`);
      finiteOrFail(n, "POLYGON");
      const points: Vec3[] = [];
      for (let i = 0; i < n.length; i += 2) points.push(positionOf(n[i], n[i + 1], `POLYGON vertex ${i / 2 + 1}`));
      return { kind: "polygon", vertices: convexHull(points) };
    }
  }
}
