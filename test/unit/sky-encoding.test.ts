import YAML from "yaml";
import { contains, overlaps } from "../../subgraphs/facility/sky/overlap";
import { box, circle, convexHull, point, polygon, Region, RegionError, union } from "../../subgraphs/facility/sky/region";
import { decodeRegion, encodeRegion, parseIvoaPos, regionFromStored, regionToHex } from "../../subgraphs/facility/sky/region-encoding";
import { fromLonLatDegrees, norm, RAD_PER_DEG, toLonLatDegrees, Vec3 } from "../../subgraphs/facility/sky/vector";
import { as, errorOf } from "../support/sky";

/**
 * Regions from daf_butler's tests/data/registry/spatial.yaml (a Butler YAML export written with
 * sphgeom's YAML representer: `region: !<lsst.sphgeom.ConvexPolygon> {encoded: <hex>}`), made by
 * daf_butler's tests/data/registry/spatial.py from Mq3c/Q3c pixels near (RA, Dec) = (0, 0).
 */
const SPATIAL = {
  visit1:
    "704d451894e4feef3f2df2f2f7ac03683f53bc30b89490903f6080025d14ffef3fb4655dd5d003683fc5d8707f771b8e3fd47dc347f9feef3f53de11724108783fad0e8b035e1b8e3faf1050449cfeef3f5d5a7de96209823f03f849486f90903ff5511f7111feef3ff70a8ad0940c853f3493bccecf96933fb93758d2d3fdef3f4fb2aa456c0c853ff51de0686a1a953f6b79a49191fdef3f26af86ae400c853ff98e1a27469e963f669174e2c7fdef3f6b9e40a8070c7e3f04af3a8e6c9e963ffe5aba04ecfdef3f12465249e703723f0607741a869e963ffe5aba04ecfdef3f133f5249e703723f0607741a869e963f9f43984af7fdef3faa1168dffa02683fea4cd9128e9e963f5410c48d39feef3f89dd1d9b2c03683f0ed46784ad1a953f5410c48d39feef3f89dd1d9b2c03683f4ed26784ad1a953f",
  visit2:
    "70550548f08effef3f21b35a98eb01583f92c821d18f0d853f40573b4bc5ffef3f4b4d64601402583f39592a1be60d7e3f0173bfa4d9ffef3f24f2f5a42302583f3b7618f7e908783f1da70f9ac7ffef3f1ed1b918f304723f09cafd69dc08783f135961188fffef3f923a9633b30d7e3f92339633b30d7e3f65dc7ed93fffef3fa06d6421bf09823f4637f1c75b0d853f9fdf24d41dffef3faef091f3ab09823f2ffe2d127111883f9fdf24d41dffef3faef091f3ab09823fae012e127111883f76e61a3bf7feef3fb41738319609823f3bb6789f0e168b3f9ec0741f10ffef3f707a37f23b0d7e3f643efbb123168b3f9ec0741f10ffef3f707337f23b0d7e3f643efbb123168b3f5fec4b8d3fffef3f2489a93ff103683fb631a6d84b168b3f2392c94f46ffef3f819edf1ab501583fbf5b989151168b3f",
  visit1detector1:
    "705410d72e77feef3fbb059adc5a03683fe677a21a0e97933f3b26271b5cfeef3f08ca4664cb07783f9daa5586fd96933f7f9db07a1efeef3f0fb68b1a9d07783fd61d53a89b1a953f7f9db07a1efeef3f0fb68b1a9d07783f961f53a89b1a953fbb082d38dcfdef3f4a4af8556b07783f84fbd4ee7a9e963ffe5aba04ecfdef3f12465249e703723f0607741a869e963ffe5aba04ecfdef3f133f5249e703723f0607741a869e963f9f43984af7fdef3faa1168dffa02683fea4cd9128e9e963f5410c48d39feef3f89dd1d9b2c03683f0ed46784ad1a953f5410c48d39feef3f89dd1d9b2c03683f4ed26784ad1a953f",
  visit1detector2:
    "7013ce7ac447feef3fc0388ec47f0c7e3ff4824412f196933ff5511f7111feef3ff70a8ad0940c853f3493bccecf96933fb93758d2d3fdef3f4fb2aa456c0c853ff51de0686a1a953f6b79a49191fdef3f26af86ae400c853ff98e1a27469e963f669174e2c7fdef3f6b9e40a8070c7e3f04af3a8e6c9e963f",
  visit1detector4:
    "70119fd527b5feef3f34ccf281e60c7e3fb563f22a7c90903faf1050449cfeef3f5d5a7de96209823f03f849486f90903f46bac4e167feef3fb50b69614509823f88072e7c8713923fa608d0c480feef3fa35c024eb50c7e3ff3e4c78b9513923f",
  visit2detector4:
    "70540e7e71a3ffef3fc3865d41c108783f94b21a50c60d7e3f135961188fffef3f923a9633b30d7e3f92339633b30d7e3f4024df3276ffef3f71ff70d19b0d7e3f7251f0c4dd09823f905acc8b8affef3f9060128eae08783f742b6d3de909823f",
  tract0:
    "7022408b0df0feef3f20378b0df0fe6f3fe23d8b0df0fe8f3ff1d8af0460ffef3fefcfaf0460ff6f3f75e0830388ff873f31aaeb0730ffef3fb0a5eb0730ff7f3f65bdf00564ff873f31aaeb0730ffef3fb1aeeb0730ff7f3f65bdf00564ff873f3e1c2f0fe0feef3f6e57630b28ff873fef52630b28ff873f911ade5e30fdef3f2d962647e4fd873f0d952647e4fd973f553df64a80fdef3fd438f64a80fd7f3f20af383820fe973f58462440b0fdef3f573d2440b0fd6f3fe2351b3044fe973f22408b0df0feef3f20378b0df0fe6f3f61428b0df0fe8f3f",
  tract1:
    "70f6ff0b00f0ffef3ff4f60b00f0ff6f3fff47169da603d2bc80fdbf00c0ffef3f0002c000c0ff7f3ffd2cf4978b03d2bc87e3cb0370ffef3fe5ecd80294ff873ff42a74905e03d2bcf1d8af0460ffef3ff5e4830388ff873fefcfaf0460ff6f3f31aaeb0730ffef3fe5c1f00564ff873fb0a5eb0730ff7f3f31aaeb0730ffef3fe5c1f00564ff873fb1aeeb0730ff7f3f3e1c2f0fe0feef3f6e57630b28ff873f6e57630b28ff873f31aaeb0730ffef3fb1aeeb0730ff7f3fe5c1f00564ff873f31aaeb0730ffef3fb0a5eb0730ff7f3fe5c1f00564ff873ff1d8af0460ffef3fefcfaf0460ff6f3ff5e4830388ff873f",
  tract0patch0:
    "70ac51ad1f60feef3fab48ad1f60fe6f3fec51cc13fcfe933fad47682730feef3f2d4c682730fe7f3fac2ba118defe933f553df64a80fdef3fd441f64a80fd7f3f20af383820fe973f58462440b0fdef3f573d2440b0fd6f3fe2351b3044fe973f",
};

/** The patches of each tract in spatial.yaml, in export order (patch ids 0-5): Q3C pixel polygons. */
const PATCHES: Record<"tract0" | "tract1", string[]> = {
  tract0: [
    "70ac51ad1f60feef3fab48ad1f60fe6f3fec51cc13fcfe933fad47682730feef3f2d4c682730fe7f3fac2ba118defe933f553df64a80fdef3fd441f64a80fd7f3f20af383820fe973f58462440b0fdef3f573d2440b0fd6f3fe2351b3044fe973f",
    "70ad47682730feef3f2c43682730fe7f3fac2ba118defe933f63012a36e0fdef3f4a839f2868fe873fbe3fda21acfe933f911ade5e30fdef3f2d962647e4fd873f0d952647e4fd973f553df64a80fdef3fd438f64a80fd7f3f20af383820fe973f",
    "7022408b0df0feef3f20378b0df0fe6f3fe23d8b0df0fe8f3f96c7be12c0feef3f16ccbe12c0fe7f3f56c5be12c0fe8f3fad47682730feef3f2d4c682730fe7f3fec2da118defe933fac51ad1f60feef3fab48ad1f60fe6f3f2c54cc13fcfe933f",
    "7096c7be12c0feef3f15c3be12c0fe7f3f56c5be12c0fe8f3fdb9d491d70feef3fa438f715d4fe873f9b9b491d70fe8f3f63012a36e0fdef3f4a839f2868fe873ffe41da21acfe933fad47682730feef3f2c43682730fe7f3fec2da118defe933f",
    "70f1d8af0460ffef3fefcfaf0460ff6f3f75e0830388ff873f31aaeb0730ffef3fb1aeeb0730ff7f3f65bdf00564ff873f96c7be12c0feef3f16ccbe12c0fe7f3fd6c9be12c0fe8f3f22408b0df0feef3f20378b0df0fe6f3f61428b0df0fe8f3f",
    "7031aaeb0730ffef3fb0a5eb0730ff7f3f65bdf00564ff873f3e1c2f0fe0feef3f6e57630b28ff873fef52630b28ff873fdb9d491d70feef3fa438f715d4fe873f1ba0491d70fe8f3f96c7be12c0feef3f15c3be12c0fe7f3fd6c9be12c0fe8f3f",
  ],
  tract1: [
    "701efb2b01b0ffef3f1cf22b01b0ff6f3f9df62b01b0ff7f3f00ecff0280ffef3f80f0ff0280ff7f3f80e7ff0280ff7f3f31aaeb0730ffef3fb1aeeb0730ff7f3fe5c1f00564ff873ff1d8af0460ffef3fefcfaf0460ff6f3ff5e4830388ff873f",
    "7000ecff0280ffef3f80e7ff0280ff7f3f80e7ff0280ff7f3f31aaeb0730ffef3fe5c1f00564ff873fb0a5eb0730ff7f3f3e1c2f0fe0feef3f6e57630b28ff873f6e57630b28ff873f31aaeb0730ffef3fb0a5eb0730ff7f3fe5c1f00564ff873f",
    "70b0ff2f00e0ffef3faef62f00e0ff6f3faef62f00e0ff6f3f1efb2b01b0ffef3f9eff2b01b0ff7f3f1cf22b01b0ff6f3f00ecff0280ffef3f80f0ff0280ff7f3f80f0ff0280ff7f3f1efb2b01b0ffef3f1cf22b01b0ff6f3f9eff2b01b0ff7f3f",
    "701efb2b01b0ffef3f9df62b01b0ff7f3f1cf22b01b0ff6f3ff1d8af0460ffef3ff5e4830388ff873fefcfaf0460ff6f3f31aaeb0730ffef3fe5c1f00564ff873fb1aeeb0730ff7f3f00ecff0280ffef3f80e7ff0280ff7f3f80f0ff0280ff7f3f",
    "70f6ff0b00f0ffef3ff4f60b00f0ff6f3fff47169da603d2bc80fdbf00c0ffef3f0002c000c0ff7f3ffd2cf4978b03d2bc1efb2b01b0ffef3f9eff2b01b0ff7f3f20042c01b0ff6f3fb0ff2f00e0ffef3faef62f00e0ff6f3fb2083000e0ff6f3f",
    "7080fdbf00c0ffef3ffff8bf00c0ff7f3ffd2cf4978b03d2bc87e3cb0370ffef3fe5ecd80294ff873ff42a74905e03d2bcf1d8af0460ffef3ff5e4830388ff873ff3e1af0460ff6f3f1efb2b01b0ffef3f9df62b01b0ff7f3f20042c01b0ff6f3f",
  ],
};

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const hexBytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));

describe("decoding daf_butler's stored regions (tests/data/registry/spatial.yaml)", () => {
  it("decodes every region and re-encodes it byte for byte", () => {
    for (const [name, hex] of Object.entries(SPATIAL)) {
      const r = as(regionFromStored(hex), "polygon");
      expect(r.vertices.length).toBe((hex.length / 2 - 1) / 24);
      for (const v of r.vertices) expect(Math.abs(norm(v) - 1)).toBeLessThan(1e-15);
      expect(regionToHex(r)).toBe(hex);
      expect(Buffer.from(encodeRegion(decodeRegion(hexBytes(hex)))).equals(Buffer.from(hex, "hex"))).toBe(true);
      expect(name.length).toBeGreaterThan(0);
    }
  });

  it("decodes known values: tract 0 lies near (RA, Dec) = (0.45, 1.0) degrees", () => {
    const r = as(regionFromStored(SPATIAL.tract0), "polygon");
    // First vertex: x = 0x3feffef00d8b4022 (little-endian 22408b0df0feef3f).
    expect(r.vertices[0][0]).toBe(view(hexBytes("22408b0df0feef3f")).getFloat64(0, true));
    const [lon, lat] = toLonLatDegrees(r.vertices[0]);
    expect(lon).toBeCloseTo(0.2238105003685, 12);
    expect(lat).toBeCloseTo(0.8951668817671, 12);
    expect(contains(r, fromLonLatDegrees(0.45, 1.0))).toBe(true);
    expect(contains(r, fromLonLatDegrees(0.45, 1.5))).toBe(false);
    // Tract 1's vertices have a tiny negative z (…d2bc): the tract touches the equator from above.
    const t1 = as(regionFromStored(SPATIAL.tract1), "polygon");
    expect(t1.vertices[0][2]).toBeLessThan(0);
    expect(t1.vertices[0][2]).toBeGreaterThan(-1e-12);
  });

  it("rebuilds each tract region byte for byte as the convex hull of its patches' vertices", () => {
    // spatial.py: tract region = ConvexPolygon(vertices of the patch pixels, in patch order), and
    // each patch region is that pixel's polygon, so sphgeom's hull output is known exactly.
    for (const tract of ["tract0", "tract1"] as const) {
      const points = PATCHES[tract].flatMap((hex) => as(regionFromStored(hex), "polygon").vertices);
      const hull = convexHull(points);
      expect(regionToHex({ kind: "polygon", vertices: hull })).toBe(SPATIAL[tract]);
      for (const hex of PATCHES[tract]) {
        for (const v of as(regionFromStored(hex), "polygon").vertices) expect(contains(regionFromStored(SPATIAL[tract]), v)).toBe(true);
      }
    }
  });

  it("has the topology the export was built with", () => {
    const visit1 = regionFromStored(SPATIAL.visit1);
    const visit2 = regionFromStored(SPATIAL.visit2);
    // A visit region is the convex hull of its detectors' pixels.
    for (const d of [SPATIAL.visit1detector1, SPATIAL.visit1detector2, SPATIAL.visit1detector4]) {
      const det = as(regionFromStored(d), "polygon");
      expect(overlaps(visit1, det)).toBe(true);
      for (const v of det.vertices) expect(contains(visit1, v)).toBe(true);
    }
    const d24 = as(regionFromStored(SPATIAL.visit2detector4), "polygon");
    for (const v of d24.vertices) expect(contains(visit2, v)).toBe(true);
    // Patch 0 of tract 0 is inside tract 0.
    const patch = as(regionFromStored(SPATIAL.tract0patch0), "polygon");
    for (const v of patch.vertices) expect(contains(regionFromStored(SPATIAL.tract0), v)).toBe(true);
    expect(overlaps(patch, regionFromStored(SPATIAL.tract0))).toBe(true);
  });
});

describe("encodeRegion byte layouts (sphgeom encode())", () => {
  it("Circle: 'c', center x y z, squared chord length, opening angle (41 bytes, little-endian doubles)", () => {
    const c = as(circle(10, 20, 0.5), "circle");
    const b = encodeRegion(c);
    expect(b.length).toBe(41);
    expect(b[0]).toBe(0x63);
    const d = view(b);
    expect(d.getFloat64(1, true)).toBe(c.center[0]);
    expect(d.getFloat64(9, true)).toBe(c.center[1]);
    expect(d.getFloat64(17, true)).toBe(c.center[2]);
    expect(d.getFloat64(25, true)).toBe(c.squaredChordLength);
    expect(d.getFloat64(33, true)).toBe(0.5 * RAD_PER_DEG);
    expect(regionToHex(c)).toMatch(/^63[0-9a-f]{80}$/);
    // Derived from the opening angle when not given.
    const bare = encodeRegion({ kind: "circle", center: [0, 0, 1], openingAngle: 0.3 });
    const s = Math.sin(0.15);
    expect(view(bare).getFloat64(25, true)).toBe(4 * s * s);
  });

  it("Box: 'b', lon a, lon b, lat a, lat b in radians (33 bytes)", () => {
    const r = as(box(0, 0, 2, 4), "box");
    const b = encodeRegion(r);
    expect(b.length).toBe(33);
    expect(b[0]).toBe(0x62);
    const d = view(b);
    expect([1, 9, 17, 25].map((at) => d.getFloat64(at, true))).toEqual([r.lon[0], r.lon[1], r.lat[0], r.lat[1]]);
    expect(decodeRegion(b)).toEqual(r);
  });

  it("ConvexPolygon: 'p' then x y z of each vertex (1 + 24 n bytes)", () => {
    const p = as(polygon([[0, 0], [10, 0], [10, 10], [0, 10]]), "polygon");
    const b = encodeRegion(p);
    expect(b.length).toBe(1 + 24 * 4);
    expect(b[0]).toBe(0x70);
    expect(view(b).getFloat64(1 + 24 * 2 + 16, true)).toBe(p.vertices[2][2]);
    expect(decodeRegion(b)).toEqual(p);
  });

  it("UnionRegion / IntersectionRegion: type code, then (uint64 LE length, encoding) per operand", () => {
    const c = circle(1, 1, 1);
    const bx = box(2, 2, 1, 1);
    const u = encodeRegion({ kind: "union", operands: [c, bx] });
    expect(u.length).toBe(1 + 8 + 41 + 8 + 33);
    expect(u[0]).toBe(0x75);
    expect(view(u).getBigUint64(1, true)).toBe(41n);
    expect(Buffer.from(u.subarray(9, 50)).equals(Buffer.from(encodeRegion(c)))).toBe(true);
    expect(view(u).getBigUint64(50, true)).toBe(33n);
    expect(Buffer.from(u.subarray(58)).equals(Buffer.from(encodeRegion(bx)))).toBe(true);
    expect(decodeRegion(u)).toEqual({ kind: "union", operands: [c, bx] });
    const i = encodeRegion({ kind: "intersection", operands: [c, { kind: "union", operands: [bx, c] }] });
    expect(i[0]).toBe(0x69);
    expect(encodeRegion(decodeRegion(i))).toEqual(i);
    expect(encodeRegion({ kind: "union", operands: [] })).toEqual(Uint8Array.of(0x75));
    expect(decodeRegion(Uint8Array.of(0x69))).toEqual({ kind: "intersection", operands: [] });
  });

  it("Ellipse: 'e', the matrix S row-major, a, b, gamma, |tan a|, |tan b| (113 bytes)", () => {
    // sphgeom Ellipse(Z, alpha = 0.3): S = identity (row 2 = center), a = b = 0.3 - π/2, γ = 0.
    const a = 0.3 - Math.PI / 2;
    const e: Region = { kind: "ellipse", matrix: [1, 0, 0, 0, 1, 0, 0, 0, 1], a, b: a, gamma: 0, tana: Math.abs(Math.tan(a)), tanb: Math.abs(Math.tan(a)) };
    const bytes = encodeRegion(e);
    expect(bytes.length).toBe(113);
    expect(bytes[0]).toBe(0x65);
    expect(view(bytes).getFloat64(73, true)).toBe(a);
    expect(decodeRegion(bytes)).toEqual(e);
    expect(contains(e, [0, 0, 1])).toBe(true);
    expect(contains(e, [Math.sin(0.29), 0, Math.cos(0.29)])).toBe(true);
    expect(contains(e, [Math.sin(0.31), 0, Math.cos(0.31)])).toBe(false);
  });

  it("refuses to encode a POINT, which is not a sphgeom region", () => {
    expect(errorOf(() => encodeRegion(point(1, 2))).message).toMatch(/not a sphgeom region/);
    expect(errorOf(() => regionToHex(union(point(1, 2)))).message).toMatch(/POINT/);
  });
});

describe("decodeRegion errors", () => {
  it("says what is wrong with bytes that are not an encoding", () => {
    expect(errorOf(() => decodeRegion(new Uint8Array(0))).message).toMatch(/empty/);
    expect(errorOf(() => decodeRegion(Uint8Array.of(0x78, 1, 2))).message).toMatch(/unknown type code 0x78/);
    expect(errorOf(() => decodeRegion(Uint8Array.of(0x63, 0, 0))).message).toMatch(/Circle takes 41 bytes/);
    expect(errorOf(() => decodeRegion(Uint8Array.of(0x62))).message).toMatch(/Box takes 33 bytes/);
    expect(errorOf(() => decodeRegion(new Uint8Array(1 + 24 * 2).fill(0x70, 0, 1))).message).toMatch(/n ≥ 3/);
    expect(errorOf(() => decodeRegion(new Uint8Array(50).fill(0x65, 0, 1))).message).toMatch(/Ellipse takes 113/);
    const u = encodeRegion({ kind: "union", operands: [circle(1, 1, 1)] });
    expect(errorOf(() => decodeRegion(u.subarray(0, u.length - 1))).message).toMatch(/truncated/);
    expect(errorOf(() => decodeRegion(u.subarray(0, 5))).message).toMatch(/truncated/);
    expect(errorOf(() => decodeRegion(Uint8Array.of(0x68, 0))).message).toMatch(/HEALPix/);
  });
});

describe("regionFromStored: the forms daf_butler stores and exports", () => {
  const hex = SPATIAL.visit1detector2;
  const bytes = hexBytes(hex);
  const expected = decodeRegion(bytes);

  it("reads hex (JSON to_simple / SerializableRegion), upper case too, and bytes", () => {
    expect(regionFromStored(hex)).toEqual(expected);
    expect(regionFromStored(hex.toUpperCase())).toEqual(expected);
    expect(regionFromStored(`  ${hex}\n`)).toEqual(expected);
    expect(regionFromStored(bytes)).toEqual(expected);
    expect(regionFromStored(Buffer.from(hex, "hex"))).toEqual(expected);
    expect(regionFromStored(bytes.slice().buffer)).toEqual(expected);
    expect(regionFromStored(`\\x${hex}`)).toEqual(expected);
    expect(regionFromStored(`0x${hex}`)).toEqual(expected);
  });

  it("reads sphgeom's YAML form, a mapping {encoded: hex} under a !<lsst.sphgeom.*> tag", () => {
    const text = [
      "- type: dimension",
      "  element: visit_detector_region",
      "  records:",
      "  - instrument: Cam1",
      "    visit: 1",
      "    detector: 2",
      "    region: !<lsst.sphgeom.ConvexPolygon>",
      `      encoded: ${hex}`,
    ].join("\n");
    const doc = YAML.parse(text, { logLevel: "error" }) as Array<{ records: Array<{ region: unknown }> }>;
    expect(regionFromStored(doc[0].records[0].region)).toEqual(expected);
    expect(regionFromStored({ encoded: hex })).toEqual(expected);
    expect(regionFromStored(new Map([["encoded", hex]]))).toEqual(expected);
  });

  it("reads base64 (the registry's Base64Region column) and ':'-joined base64 unions", () => {
    const b64 = Buffer.from(bytes).toString("base64");
    expect(regionFromStored(b64)).toEqual(expected);
    const other = encodeRegion(circle(3, 3, 1));
    const joined = `${b64}:${Buffer.from(other).toString("base64")}`;
    expect(regionFromStored(joined)).toEqual({ kind: "union", operands: [expected, decodeRegion(other)] });
  });

  it("passes a Region through and rejects everything else with a clear message", () => {
    const c = circle(1, 2, 3);
    expect(regionFromStored(c)).toBe(c);
    expect(errorOf(() => regionFromStored(null)).message).toMatch(/no region/);
    expect(errorOf(() => regionFromStored(42)).message).toMatch(/hex of a sphgeom Region.encode\(\)/);
    expect(errorOf(() => regionFromStored("CIRCLE 1 2 3")).message).toMatch(/not a stored sphgeom region/);
    expect(errorOf(() => regionFromStored("zz")).message).toMatch(/not a stored sphgeom region/);
    expect(errorOf(() => regionFromStored("")).message).toMatch(/empty/);
    expect(errorOf(() => regionFromStored("7011")).message).toMatch(/ConvexPolygon/);
    expect(errorOf(() => regionFromStored({ encoded: "not hex" })).message).toMatch(/must be hex/);
    expect(errorOf(() => regionFromStored({ something: 1 })).message).toMatch(/an object/);
  });
});

describe("parseIvoaPos (sphgeom Region.from_ivoa_pos, tests/test_ivoa.py)", () => {
  it("accepts the IVOA documentation examples", () => {
    for (const pos of [
      "CIRCLE 12.0 34.0 0.5",
      "RANGE 12.0 12.5 34.0 36.0",
      "POLYGON 12.0 34.0 14.0 35.0 14. 36.0 12.0 35.0",
      "RANGE 0 360.0 -2.0 2.0",
      "RANGE 0 360.0 89.0 +Inf",
      "RANGE -Inf +Inf -Inf +Inf",
      "POLYGON 12 34 14 34 14 36 12 36",
      "RANGE 0 360 89 90",
    ]) {
      expect(() => parseIvoaPos(pos)).not.toThrow();
    }
  });

  it("rejects the malformed ones with RegionError", () => {
    for (const pos of ["circle 12 34 0.5", "CIRCLE 12 34 1 1", "RANGE 0 360", "POLYGON 0 1 2 3", "POLYGON 0 1 2 3 4 5 6", "CONVEXPOLYGON 0 1 2 3 4 5", "", "CIRCLE a b c"]) {
      expect(() => parseIvoaPos(pos)).toThrow(RegionError);
    }
    expect(errorOf(() => parseIvoaPos("circle 12 34 0.5")).message).toMatch(/upper case/);
    expect(errorOf(() => parseIvoaPos("CIRCLE 12 34 -1")).message).toMatch(/radius must be >= 0/);
    expect(errorOf(() => parseIvoaPos("RANGE 0 10 5 -5")).message).toMatch(/low to high/);
    expect(errorOf(() => parseIvoaPos("CIRCLE 12 95 1")).message).toMatch(/Dec 95/);
  });

  it("builds the regions sphgeom builds", () => {
    const c = parseIvoaPos("CIRCLE 12.0 34.0 5");
    expect(c).toEqual(circle(12, 34, 5));
    expect(contains(c, fromLonLatDegrees(13, 33))).toBe(true);
    expect(contains(c, fromLonLatDegrees(12, 40))).toBe(false);

    const r = as(parseIvoaPos("RANGE 1 2 5 6"), "box");
    expect(contains(r, fromLonLatDegrees(1.5, 5.4))).toBe(true);
    expect(contains(r, fromLonLatDegrees(4, 10))).toBe(false);
    const up = parseIvoaPos("RANGE 1 2 20 +Inf");
    expect(contains(up, fromLonLatDegrees(1.7, 80))).toBe(true);
    expect(contains(up, fromLonLatDegrees(1.7, 10))).toBe(false);
    const east = parseIvoaPos("RANGE 50 +Inf 20 30");
    expect(contains(east, fromLonLatDegrees(60, 25))).toBe(true);
    expect(contains(east, fromLonLatDegrees(49, 21))).toBe(false);
    const west = parseIvoaPos("RANGE -Inf +50 20 30");
    expect(contains(west, fromLonLatDegrees(40, 25))).toBe(true);
    expect(contains(west, fromLonLatDegrees(60, 21))).toBe(false);
    const band = as(parseIvoaPos("RANGE -Inf +Inf 20 30"), "box");
    expect(band.lon).toEqual([0, 2 * Math.PI]);
    expect(contains(band, fromLonLatDegrees(10, 25))).toBe(true);
    expect(contains(band, fromLonLatDegrees(359, 25))).toBe(true);
    expect(contains(band, fromLonLatDegrees(49, 19))).toBe(false);
    const wrap = as(parseIvoaPos("RANGE 350 10 -5 5"), "box");
    expect(wrap.lon[0]).toBeGreaterThan(wrap.lon[1]);
    expect(contains(wrap, fromLonLatDegrees(0, 0))).toBe(true);
    expect(contains(wrap, fromLonLatDegrees(180, 0))).toBe(false);

    const p = parseIvoaPos("POLYGON 12.0 34.0 14.0 35.0 14. 36.0 12.0 35.0");
    expect(p.kind).toBe("polygon");
    expect(contains(p, fromLonLatDegrees(13, 35))).toBe(true);
    expect(contains(p, fromLonLatDegrees(14, 34))).toBe(false);
    expect(p).toEqual(polygon([[12, 34], [14, 35], [14, 36], [12, 35]]));
  });

  it("round-trips a POS circle through the encoding", () => {
    const c = parseIvoaPos("  CIRCLE\t150.1  2.2 0.01 ");
    expect(decodeRegion(encodeRegion(c))).toEqual(c);
    const v: Vec3 = fromLonLatDegrees(150.1, 2.2 + 0.0099);
    expect(contains(c, v)).toBe(true);
  });
});
