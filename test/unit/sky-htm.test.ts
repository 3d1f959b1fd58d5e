import { HTM_MAX_LEVEL, htmEnvelope, htmIndex, htmLevel, htmPixel } from "../../subgraphs/facility/sky/htm";
import { boundingBox, contains, overlaps } from "../../subgraphs/facility/sky/overlap";
import { box, boxFromRanges, circle, polygon, Region, RegionError, union } from "../../subgraphs/facility/sky/region";
import { regionFromStored } from "../../subgraphs/facility/sky/region-encoding";
import { fromLonLatDegrees, fromLonLatRadians, normalize, orientation, RAD_PER_DEG, Vec3 } from "../../subgraphs/facility/sky/vector";
import { seededRandom } from "../../lib/seeded-random";

const DEG = RAD_PER_DEG;

/** "N32" → 62: roots S0..S3 = 8..11, N0..N3 = 12..15, then one base-4 digit per level. */
function fromName(name: string): number {
  let i = (name[0] === "N" ? 12 : 8) + Number(name[1]);
  for (const d of name.slice(2)) i = i * 4 + Number(d);
  return i;
}

function vertices(r: Region): Vec3[] {
  expect(r.kind).toBe("polygon");
  return (r as { vertices: Vec3[] }).vertices;
}

/** sphgeom's exact polygon containment: orientation(p, vᵢ, vᵢ₊₁) ≥ 0 for every edge. */
function exactlyInside(vs: Vec3[], p: Vec3): boolean {
  return vs.every((v, i) => orientation(p, v, vs[(i + 1) % vs.length]) >= 0);
}

describe("htmIndex: values from sphgeom's tests (tests/testHtmPixelization.cc, test_HtmPixelization.py)", () => {
  const c = 0.2928932188134525; // 1/(2 + √2)
  const U = (x: number, y: number, z: number): Vec3 => normalize([x, y, z]);
  const cases: Array<[Vec3, string]> = [
    [[1, 0, 0], "N32"], [[0, 1, 0], "N22"], [[0, 0, 1], "N31"], [[-1, 0, 0], "N12"], [[0, -1, 0], "N02"], [[0, 0, -1], "S01"],
    [U(1, 1, 0), "N30"], [U(-1, 1, 0), "N20"], [U(-1, -1, 0), "N10"], [U(1, -1, 0), "N00"],
    [U(1, 0, 1), "N31"], [U(0, 1, 1), "N21"], [U(-1, 0, 1), "N11"], [U(0, -1, 1), "N01"],
    [U(1, 0, -1), "S00"], [U(0, 1, -1), "S10"], [U(-1, 0, -1), "S20"], [U(0, -1, -1), "S30"],
    [U(1, 1, 1), "N33"], [U(-1, 1, 1), "N23"], [U(-1, -1, 1), "N13"], [U(1, -1, 1), "N03"],
    [U(1, 1, -1), "S03"], [U(-1, 1, -1), "S13"], [U(-1, -1, -1), "S23"], [U(1, -1, -1), "S33"],
    [U(c, c, 1), "N31"], [U(1, c, c), "N32"], [U(c, 1, c), "N30"],
    [U(-c, c, 1), "N21"], [U(-c, 1, c), "N22"], [U(-1, c, c), "N20"],
    [U(-c, -c, 1), "N11"], [U(-1, -c, c), "N12"], [U(-c, -1, c), "N10"],
    [U(c, -c, 1), "N01"], [U(c, -1, c), "N02"], [U(1, -c, c), "N00"],
    [U(c, c, -1), "S01"], [U(1, c, -c), "S00"], [U(c, 1, -c), "S02"],
    [U(-c, c, -1), "S11"], [U(-c, 1, -c), "S10"], [U(-1, c, -c), "S12"],
    [U(-c, -c, -1), "S21"], [U(-1, -c, -c), "S20"], [U(-c, -1, -c), "S22"],
    [U(c, -c, -1), "S31"], [U(c, -1, -c), "S30"], [U(1, -c, -c), "S32"],
  ];

  it("indexes the axes, midpoints and trixel centers at levels 0, 1 and 2", () => {
    cases.forEach(([p, name], i) => {
      const index = fromName(name);
      expect(htmIndex(p, 0)).toBe(Math.floor(index / 4));
      expect(htmIndex(p, 1)).toBe(index);
      expect(exactlyInside(vertices(htmPixel(index)), p)).toBe(true);
      if (i >= 26) {
        // The point is the center of a level-2 trixel.
        expect(htmIndex(p, 2)).toBe(index * 4 + 3);
        expect(htmEnvelope({ kind: "circle", center: p, openingAngle: 1e-8 }, 2)).toEqual([index * 4 + 3]);
      }
    });
  });

  it("agrees with other HTM libraries at level 20 and with sphgeom's level-1 example", () => {
    expect(htmIndex(fromLonLatDegrees(1, 1), 20)).toBe(17043491373057);
    expect(htmIndex(normalize([1, 1, 1]), 1)).toBe(63);
  });

  it("gives sphgeom's level-13 envelopes of tiny circles around the axes", () => {
    const tiny = (p: Vec3) => htmEnvelope({ kind: "circle", center: p, openingAngle: 1e-16 }, 13);
    expect(tiny([0, 0, -1])).toEqual([553648128, 620756992, 687865856, 754974720]);
    expect(tiny([0, 0, 1])).toEqual([822083584, 889192448, 956301312, 1023410176]);
    expect(tiny([1, 0, 0])).toEqual([536870912, 771751936, 805306368, 1040187392]);
    expect(tiny([0, 1, 0])).toEqual([570425344, 603979776, 973078528, 1006632960]);
    expect(tiny([-1, 0, 0])).toEqual([637534208, 671088640, 905969664, 939524096]);
    expect(tiny([0, -1, 0])).toEqual([704643072, 738197504, 838860800, 872415232]);
  });

  it("gives sphgeom's level-3 envelope of a 0.1° circle at (1, 1, 1): the single trixel 0x3ff", () => {
    expect(htmEnvelope({ kind: "circle", center: normalize([1, 1, 1]), openingAngle: 0.1 * DEG }, 3)).toEqual([0x3ff]);
  });
});

describe("htmPixel and htmLevel", () => {
  it("uses sphgeom's root triangles", () => {
    expect(vertices(htmPixel(8))).toEqual([[1, 0, 0], [0, 0, -1], [0, 1, 0]]);
    expect(vertices(htmPixel(15))).toEqual([[0, 1, 0], [0, 0, 1], [1, 0, 0]]);
    for (let i = 8; i < 16; i++) {
      const v = vertices(htmPixel(i));
      expect(orientation(v[0], v[1], v[2])).toBe(1);
    }
  });

  it("recognizes valid indices only (sphgeom test_level / InvalidTrixel)", () => {
    for (let level = 0; level <= HTM_MAX_LEVEL; level++) {
      for (let root = 8; root < 16; root++) expect(htmLevel(root * 4 ** level)).toBe(level);
    }
    expect(htmLevel(0)).toBe(-1);
    expect(htmLevel(16 * 4 ** HTM_MAX_LEVEL)).toBe(-1);
    for (let i = 0; i < 8; i++) expect(() => htmPixel(i)).toThrow(RegionError);
    for (let i = 4; i < 2 ** 50; i *= 4) expect(() => htmPixel(i)).toThrow(RegionError);
    expect(() => htmPixel(8.5)).toThrow(RegionError);
    expect(() => htmIndex([1, 0, 0], 25)).toThrow(RegionError);
    expect(() => htmIndex([1, 0, 0], -1)).toThrow(RegionError);
    expect(() => htmIndex([0, 0, 0], 3)).toThrow(RegionError);
  });

  it("places every point in the trixel of its index, at every level, and nests levels", () => {
    const next = seededRandom(5);
    const points: Vec3[] = [fromLonLatDegrees(0, 0), fromLonLatDegrees(359.9999999, 0), fromLonLatDegrees(45, 90), fromLonLatDegrees(0, -90)];
    for (let i = 0; i < 150; i++) points.push(fromLonLatRadians(next() * 2 * Math.PI, Math.asin(2 * next() - 1)));
    for (const p of points) {
      let prev: { level: number; index: number } | null = null;
      for (const level of [0, 1, 2, 5, 7, 10, 13, 16, 20, 24]) {
        const index = htmIndex(p, level);
        expect(htmLevel(index)).toBe(level);
        const tri = htmPixel(index);
        expect(exactlyInside(vertices(tri), p)).toBe(true);
        expect(contains(tri, p)).toBe(true);
        if (prev) expect(Math.floor(index / 4 ** (level - prev.level))).toBe(prev.index);
        prev = { level, index };
      }
    }
  });
});

describe("htmEnvelope", () => {
  const regions: Array<[string, Region]> = [
    ["circle", circle(150, 2, 0.7)],
    ["circle across RA 0", circle(0, 0.3, 0.5)],
    ["box across RA 0", box(0, -0.2, 1.5, 1)],
    ["polar cap", boxFromRanges(0, 360, 88.5, 90)],
    ["polygon around the south pole", polygon([[0, -88], [120, -88], [240, -88]])],
    ["arcsecond polygon", polygon([[150, 2], [150 + 2 / 3600, 2], [150, 2 + 2 / 3600]])],
    ["union", union(circle(10, 10, 0.2), box(12, 10, 0.3, 0.3))],
    ["stored visit region", regionFromStored("7013ce7ac447feef3fc0388ec47f0c7e3ff4824412f196933ff5511f7111feef3ff70a8ad0940c853f3493bccecf96933fb93758d2d3fdef3f4fb2aa456c0c853ff51de0686a1a953f6b79a49191fdef3f26af86ae400c853ff98e1a27469e963f669174e2c7fdef3f6b9e40a8070c7e3f04af3a8e6c9e963f")],
  ];

  it.each(regions)("covers every point sampled inside a %s, sorted and unique", (_name, r) => {
    const next = seededRandom(11);
    for (const level of [3, 7, 10]) {
      const env = htmEnvelope(r, level);
      expect(env.length).toBeGreaterThan(0);
      for (let i = 1; i < env.length; i++) expect(env[i]).toBeGreaterThan(env[i - 1]);
      for (const i of env) expect(htmLevel(i)).toBe(level);
      const set = new Set(env);
      // Sample points uniformly in the region's bounding box and keep those inside the region.
      const bb = boundingBox(r);
      const z0 = Math.sin(bb.latMin * DEG);
      const z1 = Math.sin(bb.latMax * DEG);
      const width = bb.lonMax >= bb.lonMin ? bb.lonMax - bb.lonMin : bb.lonMax + 360 - bb.lonMin;
      let found = 0;
      for (let k = 0; k < 4000 && found < 300; k++) {
        const p = fromLonLatRadians((bb.lonMin + width * next()) * DEG, Math.asin(z0 + (z1 - z0) * next()));
        if (!contains(r, p)) continue;
        found++;
        expect(set.has(htmIndex(p, level))).toBe(true);
      }
      expect(found).toBeGreaterThan(0);
    }
  });

  it("lists exactly the pixels that overlap the region (brute force at level 4)", () => {
    const all: number[] = [];
    for (let i = 8 * 4 ** 4; i < 16 * 4 ** 4; i++) all.push(i);
    for (const [, r] of regions) {
      expect(htmEnvelope(r, 4)).toEqual(all.filter((i) => overlaps(htmPixel(i), r)));
    }
  });

  it("lists every pixel of the sphere for a full region, and refuses huge results", () => {
    expect(htmEnvelope(circle(0, 0, 180), 2)).toHaveLength(128);
    expect(() => htmEnvelope(circle(0, 0, 30), 20)).toThrow(/more than 100000 level-20 HTM pixels/);
    expect(() => htmEnvelope(box(0, 0, 40, 40), 24)).toThrow(RegionError);
    expect(() => htmEnvelope(circle(0, 0, 1), 10, 10)).toThrow(/more than 10 /);
    expect(htmEnvelope(circle(0, 0, 1e-6), 24).length).toBeLessThanOrEqual(8);
  });
});
