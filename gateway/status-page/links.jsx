// Links: a matrix of source facility (rows) → destination facility (columns), each cell the
// transfer rate over the last hour and the last day, a small time series of the window chosen
// (attempts DONE up, FAILED down in red), and the failures by reason.
import React, { useState } from "react";
import * as Plot from "@observablehq/plot";
import { PlotFigure } from "./plot-figure";
import { formatBytes, formatBytesPerSecond, formatCount, formatFileRate } from "./units";

const key = (source, destination) => `${source ?? "?"}>${destination}`;

function Sparkline({ window, link, theme }) {
  const points = [];
  const start = new Date(window.since).getTime();
  for (let i = 0; i < window.buckets; i++) {
    const t0 = new Date(start + i * window.bucketSeconds * 1000);
    const t1 = new Date(start + (i + 1) * window.bucketSeconds * 1000);
    points.push({ t0, t1, done: link?.doneSeries[i] ?? 0, failed: -(link?.failedSeries[i] ?? 0), bytes: link?.bytesSeries[i] ?? 0 });
  }
  const max = Math.max(1, ...points.map((p) => Math.max(p.done, -p.failed)));
  const title = (p) =>
    `${p.t0.toISOString().slice(11, 16)}–${p.t1.toISOString().slice(11, 16)} UTC\n${p.done} done (${formatBytes(p.bytes)}), ${-p.failed} failed`;
  return (
    <PlotFigure
      className="sparkline"
      label="transfer attempts per time bucket"
      deps={[JSON.stringify(points), theme]}
      make={() =>
        Plot.plot({
          width: 220,
          height: 62,
          marginTop: 4,
          marginBottom: 18,
          marginLeft: 4,
          marginRight: 4,
          x: { type: "utc", domain: [points[0].t0, points[points.length - 1].t1], ticks: 2, tickSize: 2, tickFormat: "%H:%M", label: null },
          y: { domain: [-max, max], axis: null },
          marks: [
            Plot.ruleY([0], { stroke: "currentColor", strokeOpacity: 0.3 }),
            Plot.rectY(points, { x1: "t0", x2: "t1", y: "done", fill: "var(--ok)", insetLeft: 0.5, insetRight: 0.5 }),
            Plot.rectY(points, { x1: "t0", x2: "t1", y: "failed", fill: "var(--bad)", insetLeft: 0.5, insetRight: 0.5 }),
            Plot.tip(points, Plot.pointerX({ x1: "t0", x2: "t1", y: "done", title })),
          ],
        })
      }
    />
  );
}

function LinkCell({ hour, day, windowName, windows, theme }) {
  if (!hour && !day) return <td className="link none">·</td>;
  const seconds = windows.lastHour ? windows.lastHour.buckets * windows.lastHour.bucketSeconds : 3600;
  const errors = [...(hour?.errors ?? [])];
  return (
    <td className="link" data-link={key((hour ?? day).source, (hour ?? day).destination)}>
      <div className="link-rate" title="bytes copied over the last hour">
        {formatBytesPerSecond((hour?.bytes ?? 0) / seconds)}
      </div>
      <div className="link-sub">
        <span data-metric="hour-done">{formatCount(hour?.done ?? 0)}</span> files in the last hour ({formatFileRate(hour?.done ?? 0, seconds)}) ·{" "}
        <span data-metric="day-done">{formatCount(day?.done ?? 0)}</span> in the day ({formatBytes(day?.bytes ?? 0)})
      </div>
      <Sparkline window={windows[windowName]} link={windowName === "lastHour" ? hour : day} theme={theme} />
      {(hour?.failed ?? 0) > 0 || (day?.failed ?? 0) > 0 ? (
        <div className="link-errors bad-text" data-metric="failed">
          {formatCount(hour?.failed ?? 0)} failed in the last hour, {formatCount(day?.failed ?? 0)} in the day
          {errors.length ? `: ${errors.map((e) => `${e.code} ×${e.count}`).join(", ")}` : ""}
          {!errors.length && day?.errors?.length ? `: ${day.errors.map((e) => `${e.code} ×${e.count}`).join(", ")}` : ""}
        </div>
      ) : null}
    </td>
  );
}

export function LinksSection({ slow, codes, down, theme }) {
  const [windowName, setWindowName] = useState("lastHour");
  const lastHour = slow?.lastHour;
  const lastDay = slow?.lastDay;
  if (!lastHour || !lastDay) return <p className="muted">Waiting for the first answer…</p>;
  const hour = new Map(lastHour.links.map((l) => [key(l.source, l.destination), l]));
  const day = new Map(lastDay.links.map((l) => [key(l.source, l.destination), l]));
  const sources = [...new Set([...codes, ...lastDay.links.map((l) => l.source ?? "?")])];
  const destinations = [...new Set([...codes, ...lastDay.links.map((l) => l.destination)])];
  return (
    <>
      <div className="section-tools" role="group" aria-label="time series window">
        Chart:{" "}
        {[
          ["lastHour", "last hour (5 min)"],
          ["lastDay", "last day (1 h)"],
        ].map(([name, text]) => (
          <button key={name} type="button" className={name === windowName ? "toggle on" : "toggle"} aria-pressed={name === windowName} onClick={() => setWindowName(name)}>
            {text}
          </button>
        ))}
      </div>
      <div className="table-scroll">
        <table className="links">
          <thead>
            <tr>
              <th scope="col">from ↓ to →</th>
              {destinations.map((d) => (
                <th scope="col" key={d} className={down.has(d.toLowerCase()) ? "down" : ""}>
                  {d}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sources.map((s) => (
              <tr key={s}>
                <th scope="row" className={down.has(s.toLowerCase()) ? "down" : ""}>
                  {s}
                </th>
                {destinations.map((d) =>
                  s === d ? (
                    <td key={d} className="link self" />
                  ) : (
                    <LinkCell key={d} hour={hour.get(key(s === "?" ? null : s, d))} day={day.get(key(s === "?" ? null : s, d))} windowName={windowName} windows={{ lastHour, lastDay }} theme={theme} />
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
