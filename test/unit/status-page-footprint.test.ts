import { convexRing, footprintOf } from "../../gateway/status-page/footprint";

/**
 * A policy's sky filter as GeoJSON for the map (gateway/status-page/footprint.ts): d3-geo takes a
 * ring as the small side only when it is clockwise seen from outside the sphere (on a map with
 * east to the right and north up); otherwise it fills the rest of the sky.
 */
/** Twice the signed area of a ring in the plane (lon right, lat up): negative when clockwise. */
function planarArea(ring: Array<[number, number]>): number {
  let a = 0;
  for (let i = 0; i + 1 < ring.length; i++) a += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return a;
}

describe("footprintOf", () => {
  it("winds d3-geo's example polygon as d3 does (clockwise), whichever way it was given", () => {
    // d3-geo's README: [[0,0],[0,10],[10,10],[10,0]] is a small clockwise square.
    const given = convexRing([[0, 0], [0, 10], [10, 10], [10, 0]]);
    const reversed = convexRing([[10, 0], [10, 10], [0, 10], [0, 0]]);
    expect(given).toEqual([[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]);
    expect(planarArea(reversed)).toBeLessThan(0);
    expect(reversed[0]).toEqual(reversed[reversed.length - 1]);
  });

  it("draws the demo's UK footprint across RA 0 as one small clockwise ring in d3's longitudes", () => {
    const { geometry, notDrawn } = footprintOf({ polygon: [[300, -70], [60, -70], [60, -32], [0, -30], [300, -32]] });
    expect(notDrawn).toEqual([]);
    const [[ring]] = geometry!.coordinates;
    expect(ring).toHaveLength(6);
    expect(ring.every(([lon]) => lon > -180 && lon <= 180)).toBe(true);
    expect(new Set(ring.map(([lon]) => lon))).toEqual(new Set([-60, 60, 0]));
    // Clockwise on the map (the footprint crosses lon 0, so the plane sees it whole).
    expect(planarArea(ring)).toBeLessThan(0);
  });

  it("draws cones as circles and boxes along their parallels, clockwise; unions as several polygons", () => {
    const cone = footprintOf({ cone: { ra: 150, dec: 2, radius: 5 } }).geometry!.coordinates[0][0];
    expect(cone).toHaveLength(73);
    const lons = cone.map(([lon]) => lon);
    expect(Math.min(...lons)).toBeCloseTo(145, 0);
    expect(Math.max(...lons)).toBeCloseTo(155, 0);
    expect(planarArea(cone)).toBeLessThan(0);
    const box = footprintOf({ box: { raMin: 350, raMax: 10, decMin: -40, decMax: -20 } }).geometry!.coordinates[0][0];
    // East along the top (the ring closes on its first point), back west along the bottom.
    expect(box.filter(([, lat]) => lat === -20).map(([lon]) => lon)).toEqual([-10, -8, -6, -4, -2, 0, 2, 4, 6, 8, 10, -10]);
    expect(box.filter(([, lat]) => lat === -40).map(([lon]) => lon)).toEqual([10, 8, 6, 4, 2, 0, -2, -4, -6, -8, -10]);
    expect(planarArea(box)).toBeLessThan(0);
    const union = footprintOf({ anyOf: [{ cone: { ra: 0, dec: 0, radius: 1 } }, { moc: "5/100" }, { polygon: [[0, 0], [10, 0], [5, 5]] }] });
    expect(union.geometry!.coordinates).toHaveLength(2);
    expect(union.notDrawn).toEqual(["moc"]);
  });

  it("leaves out what it cannot draw: HEALPix and MOC footprints, malformed parts", () => {
    expect(footprintOf({ healpix: { nside: 8, pixels: [1] } })).toEqual({ geometry: null, notDrawn: ["healpix"] });
    expect(footprintOf({ polygon: [[0, 0]] })).toEqual({ geometry: null, notDrawn: ["polygon"] });
    expect(footprintOf("not a footprint")).toEqual({ geometry: null, notDrawn: ["?"] });
  });
});
