import { healpixBoundary, healpixCentre, healpixDecRange, healpixIndex, healpixXyf, nestedIndex, nestedIndexBig, nestedXyf } from "../../subgraphs/facility/sky/healpix";
import { mocContains, mocDecRange, parseMoc } from "../../subgraphs/facility/sky/moc";
import { RegionError } from "../../subgraphs/facility/sky/region";
import { fromLonLatDegrees, Vec3 } from "../../subgraphs/facility/sky/vector";
import { seededRandom } from "../../lib/seeded-random";

/** HEALPix point → pixel (RING and NESTED) and MOC containment. */
const random = seededRandom(11);
function randomPoints(n: number): Vec3[] {
  return Array.from({ length: n }, () => {
    const z = 2 * random() - 1;
    const phi = 2 * Math.PI * random();
    const s = Math.sqrt(1 - z * z);
    return [s * Math.cos(phi), s * Math.sin(phi), z] as Vec3;
  });
}
const points = randomPoints(48_000);

describe("healpixIndex", () => {
  it("puts the base pixels where HEALPix has them: 0-3 north of the equatorial zone, 4-7 on the equator at RA 0/90/180/270, 8-11 south", () => {
    for (const nested of [true, false]) {
      expect(healpixIndex(fromLonLatDegrees(45, 60), 1, nested)).toBe(0);
      expect(healpixIndex(fromLonLatDegrees(315, 60), 1, nested)).toBe(3);
      expect(healpixIndex(fromLonLatDegrees(0, 0), 1, nested)).toBe(4);
      expect(healpixIndex(fromLonLatDegrees(180, 0), 1, nested)).toBe(6);
      expect(healpixIndex(fromLonLatDegrees(135, -60), 1, nested)).toBe(9);
    }
  });

  it("numbers RING pixels from the north pole ring by ring: the first ring holds 0-3, the last 12·nside²-4 … -1", () => {
    expect(healpixIndex(fromLonLatDegrees(10, 89.99), 4, false)).toBe(0);
    expect(healpixIndex(fromLonLatDegrees(100, 89.99), 4, false)).toBe(1);
    expect(healpixIndex(fromLonLatDegrees(280, -89.99), 4, false)).toBe(12 * 16 - 1);
  });

  it("is equal-area: 48,000 uniform points fill each of the 48 pixels of nside 2 alike, in both schemes", () => {
    for (const nested of [true, false]) {
      const counts = new Array(48).fill(0);
      for (const p of points) counts[healpixIndex(p, 2, nested)]++;
      // Binomial: mean 1000, sd ≈ 31; 6 sd apart would be a wrong pixel boundary.
      expect(Math.min(...counts)).toBeGreaterThan(1000 - 190);
      expect(Math.max(...counts)).toBeLessThan(1000 + 190);
    }
  });

  it("nests: a point's NESTED pixel at order k is its pixel at order k+1 divided by 4, up to order 24", () => {
    for (const p of points.slice(0, 2000)) {
      for (let order = 0; order < 24; order++) {
        expect(Math.floor(healpixIndex(p, 2 ** (order + 1), true) / 4)).toBe(healpixIndex(p, 2 ** order, true));
      }
    }
  });

  it("stays exact next to the poles and across RA 0", () => {
    expect(healpixIndex(fromLonLatDegrees(359.9999999, 0), 1024, false)).not.toBe(healpixIndex(fromLonLatDegrees(0.0000001, 0), 1024, false));
    const nearPole = healpixIndex(fromLonLatDegrees(30, 90 - 1e-9), 2 ** 20, true);
    expect(Math.floor(nearPole / 4 ** 20)).toBe(0);
  });

  it("inverts nestedIndex with nestedXyf, and agrees with the BigInt index", () => {
    for (const p of points.slice(0, 500)) {
      const xyf = healpixXyf(p, 2 ** 16);
      const i = nestedIndex(2 ** 16, xyf);
      expect(nestedXyf(2 ** 16, i)).toEqual(xyf);
      expect(nestedIndexBig(16, xyf)).toBe(BigInt(i));
    }
  });

  it("bounds each pixel's declinations: every point lies in its pixel's range", () => {
    for (const p of points.slice(0, 5000)) {
      const xyf = healpixXyf(p, 8);
      const [lo, hi] = healpixDecRange(8, xyf);
      const dec = (Math.asin(p[2]) * 180) / Math.PI;
      expect(dec).toBeGreaterThanOrEqual(lo);
      expect(dec).toBeLessThanOrEqual(hi);
    }
  });

  it("refuses an nside the scheme cannot use", () => {
    expect(() => healpixIndex([1, 0, 0], 3, true)).toThrow(RegionError);
    expect(() => healpixIndex([1, 0, 0], 0, false)).toThrow(RegionError);
    expect(healpixIndex([1, 0, 0], 3, false)).toBeGreaterThanOrEqual(0);
  });
});

describe("MOC", () => {
  it("parses MOC 2.0 ASCII with ranges, several orders, commas and a trailing max order", () => {
    const moc = parseMoc("3/3 10-12, 4/16-18 22\n5/19-20 29/");
    expect([...moc.orders.keys()].sort()).toEqual([3, 4, 5]);
    expect(moc.orders.get(3)).toEqual([[3n, 3n], [10n, 12n]]);
  });

  it("contains a point when the cell holding it at a listed order is listed, at orders up to 29", () => {
    for (const p of points.slice(0, 300)) {
      const cell = healpixIndex(p, 2 ** 6, true);
      expect(mocContains(parseMoc(`6/${cell}`), p)).toBe(true);
      expect(mocContains(parseMoc(`6/${(cell + 1) % (12 * 4 ** 6)}`), p)).toBe(false);
      const deep = nestedIndexBig(29, healpixXyf(p, 2 ** 29));
      expect(mocContains(parseMoc(`29/${deep}`), p)).toBe(true);
      expect(mocContains(parseMoc(`0/${Number(deep >> 58n)}`), p)).toBe(true);
    }
  });

  it("bounds its declinations for a prefilter", () => {
    const [lo, hi] = mocDecRange(parseMoc("0/8-11"));
    expect(lo).toBe(-90);
    expect(hi).toBeGreaterThanOrEqual(0);
  });

  it("refuses malformed text with RegionError naming the token", () => {
    expect(() => parseMoc("12")).toThrow(/before any 'order\//);
    expect(() => parseMoc("30/1")).toThrow(/order '30'/);
    expect(() => parseMoc("0/12")).toThrow(/0 … 11/);
    expect(() => parseMoc("1/5-2")).toThrow(RegionError);
  });
});

describe("healpixCentre and healpixBoundary", () => {
  /**
   * healpy 1.16.1 (Debian's python3-healpy): pix2ang(nside, p, nest=True, lonlat=True) and
   * vec2ang(boundaries(nside, p, step=1, nest=True).T, lonlat=True), rounded to 1e-10 degrees.
   */
  const HEALPY: Array<[number, number, [number, number], Array<[number, number]>]> = [
    [16, 1000, [285.0, 63.4482836803], [[281.25, 66.4435356909], [280.0, 63.4482836803], [288.0, 60.434438845], [290.0, 63.4482836803]]],
    [16, 0, [45.0, 2.3880154633], [[45.0, 4.7801918472], [42.1875, 2.3880154633], [45.0, 0.0], [47.8125, 2.3880154633]]],
    [16, 3071, [315.0, -2.3880154633], [[315.0, 0.0], [312.1875, -2.3880154633], [315.0, -4.7801918472], [317.8125, -2.3880154633]]],
    [32, 5000, [345.9375, 13.2480149057], [[345.9375, 14.4775121859], [344.53125, 13.2480149057], [345.9375, 12.0246991806], [347.34375, 13.2480149057]]],
    [8, 300, [337.5, 4.7801918472], [[337.5, 9.5940682269], [331.875, 4.7801918472], [337.5, 0.0], [343.125, 4.7801918472]]],
    [1, 4, [0.0, 0.0], [[0.0, 41.8103148958], [315.0, 0.0], [0.0, -41.8103148958], [45.0, 0.0]]],
  ];
  const close = (a: [number, number], b: [number, number]) => {
    const dRa = Math.abs(((a[0] - b[0] + 540) % 360) - 180);
    expect(dRa).toBeLessThan(1e-8);
    expect(Math.abs(a[1] - b[1])).toBeLessThan(1e-8);
  };

  it("puts centres and corners where healpy does", () => {
    for (const [nside, pixel, centre, corners] of HEALPY) {
      close(healpixCentre(nside, pixel), centre);
      const outline = healpixBoundary(nside, pixel, 1);
      expect(outline).toHaveLength(4);
      outline.forEach((corner, i) => close(corner, corners[i]));
    }
  });

  it("gives each pixel a centre inside it and an outline around it, also at the poles", () => {
    for (const nside of [1, 4, 16, 32]) {
      for (let pixel = 0; pixel < 12 * nside * nside; pixel += Math.max(1, Math.floor(nside * nside / 7))) {
        const [ra, dec] = healpixCentre(nside, pixel);
        expect(healpixIndex(fromLonLatDegrees(ra, dec), nside, true)).toBe(pixel);
        // A point a little way from each outline point towards the centre (on the sphere) is inside the pixel.
        const c = fromLonLatDegrees(ra, dec);
        for (const [bra, bdec] of healpixBoundary(nside, pixel, 2)) {
          const b = fromLonLatDegrees(bra, bdec);
          const p: Vec3 = [0.98 * b[0] + 0.02 * c[0], 0.98 * b[1] + 0.02 * c[1], 0.98 * b[2] + 0.02 * c[2]];
          expect(healpixIndex(p, nside, true)).toBe(pixel);
        }
      }
    }
  });
});
