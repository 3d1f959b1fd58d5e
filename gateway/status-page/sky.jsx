// The sky: all-sky maps (Mollweide, RA increasing to the left as on the sky, a 30° RA/Dec grid) of
// the raws by HEALPix pixel, one for all raws and one per facility with what it holds, the same
// colour scale on each, and the policies' sky footprints drawn on the map of the facility they
// send to (and on the map of all raws). A pixel whose raws a facility does not hold is outlined,
// so "UKDF only gets its part of the sky" is seen at once. Hover a pixel for its counts.
import React from "react";
import * as Plot from "@observablehq/plot";
import { geoGraticule } from "d3-geo";
import { geoMollweide } from "d3-geo-projection";
import { convexRing, footprintOf } from "./footprint";
import { PlotFigure } from "./plot-figure";
import { formatCount } from "./units";

const lon = (ra) => (ra > 180 ? ra - 360 : ra);
/** RA and Dec lines every 30°. */
const GRATICULE = geoGraticule().step([30, 30])();

/** The facility an RSE expression sends to, when it names one RSE of a known facility. */
function facilityOfExpression(expression, rseFacility) {
  return rseFacility.get(expression.trim()) ?? null;
}

/** The policies with a drawable sky footprint, each with the facilities its templates send to. */
export function skyFootprints(subscriptions, slowFacilities) {
  const rseFacility = new Map();
  for (const f of slowFacilities ?? []) for (const r of f.rses ?? []) rseFacility.set(r.name, f.code);
  const out = [];
  for (const s of subscriptions ?? []) {
    const sky = s.filter?.sky;
    if (!sky) continue;
    const { geometry, notDrawn } = footprintOf(sky);
    const targets = [...new Set(s.rules.map((t) => facilityOfExpression(t.rseExpression, rseFacility)).filter(Boolean))];
    out.push({ name: s.name, geometry, notDrawn, targets, expressions: s.rules.map((t) => t.rseExpression) });
  }
  return out;
}

function tipText(cell, facilities) {
  const lines = [`HEALPix ${cell.pixel} (nside ${cell.nside})`, `RA ${cell.ra.toFixed(1)}°, Dec ${cell.dec.toFixed(1)}°`, `${formatCount(cell.files)} raws`];
  facilities.forEach((f, i) => lines.push(`${f}: ${formatCount(cell.held[i])}`));
  return lines.join("\n");
}

function SkyPanel({ title, subtitle, cells, value, max, facilities, footprints, theme, down, testId }) {
  const raLabels = [60, 120, 240, 300, 0].map((ra) => ({ ra, label: `${ra}°` }));
  const decLabels = [-60, -30, 0, 30, 60].map((dec) => ({ dec, label: `${dec > 0 ? "+" : ""}${dec}°` }));
  const present = cells.filter((c) => value(c) > 0);
  const missing = cells.filter((c) => value(c) === 0);
  const colors = theme === "dark" ? ["#1e3a5f", "#7fd3ff"] : ["#bcd7f2", "#0b3d91"];
  return (
    <figure className={`sky-panel${down ? " down" : ""}`} data-sky={testId}>
      <figcaption>
        <strong>{title}</strong> <span className="muted">{subtitle}</span>
      </figcaption>
      <PlotFigure
        className="sky-plot"
        label={`${title}: ${subtitle}`}
        deps={[JSON.stringify(cells.map((c) => [c.pixel, value(c)])), max, theme, JSON.stringify(footprints.map((f) => f.name))]}
        make={() =>
          Plot.plot({
            width: 440,
            height: 240,
            margin: 8,
            projection: ({ width, height }) => geoMollweide().reflectX(true).fitExtent([[8, 8], [width - 8, height - 8]], { type: "Sphere" }),
            color: { type: "linear", domain: [0, max], range: colors },
            marks: [
              Plot.sphere({ fill: "var(--sky-bg)", stroke: "currentColor", strokeOpacity: 0.5 }),
              Plot.geo(GRATICULE, { stroke: "currentColor", strokeOpacity: 0.15 }),
              Plot.geo(missing, { geometry: (c) => c.geometry, fill: "none", stroke: "var(--muted)", strokeDasharray: "2,2", strokeWidth: 0.8 }),
              Plot.geo(present, { geometry: (c) => c.geometry, fill: (c) => value(c), stroke: "var(--fg)", strokeOpacity: 0.25, strokeWidth: 0.5 }),
              ...footprints.map((f) =>
                Plot.geo([f.geometry], { fill: "var(--accent)", fillOpacity: 0.08, stroke: "var(--accent)", strokeWidth: 2 }),
              ),
              Plot.text(raLabels, { x: (d) => lon(d.ra), y: 0, text: "label", fontSize: 10, fill: "currentColor", fillOpacity: 0.7, dy: 8 }),
              Plot.text(decLabels, { x: 179.9, y: "dec", text: "label", fontSize: 10, fill: "currentColor", fillOpacity: 0.7, textAnchor: "start", dx: 6 }),
              Plot.tip(cells, Plot.pointer({ x: (c) => lon(c.ra), y: (c) => c.dec, title: (c) => tipText(c, facilities), maxRadius: 30 })),
            ],
          })
        }
      />
    </figure>
  );
}

export function SkySection({ sky, subscriptions, slowFacilities, theme, down }) {
  if (!sky) return <p className="muted">Waiting for the first answer…</p>;
  const cells = sky.cells.map((c) => ({
    ...c,
    nside: sky.nside,
    geometry: { type: "Polygon", coordinates: [convexRing(c.boundary.map(([ra, dec]) => [ra, dec]))] },
  }));
  const footprints = skyFootprints(subscriptions, slowFacilities);
  const drawn = footprints.filter((f) => f.geometry);
  const max = Math.max(1, ...cells.map((c) => c.files));
  const total = (i) => cells.reduce((n, c) => n + c.held[i], 0);
  return (
    <>
      <div className="sky-grid">
        <SkyPanel
          title="All raws"
          subtitle={`${formatCount(sky.files)} files in ${formatCount(cells.length)} pixels${sky.withoutPosition ? `, ${formatCount(sky.withoutPosition)} without a position` : ""}`}
          cells={cells}
          value={(c) => c.files}
          max={max}
          facilities={sky.facilities}
          footprints={drawn}
          theme={theme}
          testId="all"
        />
        {sky.facilities.map((f, i) => (
          <SkyPanel
            key={f}
            title={f}
            subtitle={`holds ${formatCount(total(i))} of ${formatCount(sky.files)}`}
            cells={cells}
            value={(c) => c.held[i]}
            max={max}
            facilities={sky.facilities}
            footprints={drawn.filter((fp) => fp.targets.includes(f))}
            theme={theme}
            down={down.has(f.toLowerCase())}
            testId={f}
          />
        ))}
      </div>
      <p className="legend">
        Colour: raws per HEALPix pixel (nside {sky.nside}, ≈ {(Math.sqrt(41253 / (12 * sky.nside * sky.nside))).toFixed(1)}° across), 0 to {formatCount(max)}. Dashed: pixels
        with raws that this facility does not hold. Hover a pixel for its counts.
        {footprints.map((f) => (
          <span key={f.name} className="footprint-key">
            {" "}
            <span className="swatch accent" /> {f.name} → {f.targets.length ? f.targets.join(", ") : f.expressions.join(", ")}
            {f.notDrawn.length ? ` (${f.notDrawn.join(", ")} part not drawn)` : ""}
          </span>
        ))}
      </p>
    </>
  );
}
