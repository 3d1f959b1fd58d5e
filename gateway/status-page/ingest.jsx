// Ingest on arrival, per facility: files ingested in the window, pending, failed (by error code),
// given up; a facility that is down keeps its last known row, greyed.
import React from "react";
import { formatAge, formatCount } from "./units";

export function IngestSection({ facilities, healthOf, now }) {
  if (!facilities.length) return <p className="muted">Waiting for the first answer…</p>;
  return (
    <table className="ingest">
      <thead>
        <tr>
          <th scope="col">facility</th>
          <th scope="col">ingested (24 h)</th>
          <th scope="col">not Butler datasets (24 h)</th>
          <th scope="col">pending</th>
          <th scope="col">failed</th>
          <th scope="col">of which given up</th>
          <th scope="col" className="wide">
            failures by code
          </th>
          <th scope="col">oldest waiting</th>
        </tr>
      </thead>
      <tbody>
        {facilities.map((f) => {
          const s = f.ingestSummary;
          const state = healthOf(f.code).state;
          const stale = f.staleSince?.ingestSummary;
          return (
            <tr key={f.code} data-ingest={f.code} data-state={state} className={state === "up" ? "" : "down"}>
              <th scope="row">
                {f.code}
                {state !== "up" ? <span className={`badge small ${state}`}>{state === "down" ? "DOWN" : state.toUpperCase()}</span> : null}
                {stale ? <div className="muted small">as of {formatAge(stale, now)}</div> : null}
              </th>
              {s ? (
                <>
                  <td className="num" data-metric="ingested">{formatCount(s.ingested)}</td>
                  <td className="num" data-metric="not-a-dataset">{formatCount(s.notADataset)}</td>
                  <td className="num" data-metric="pending">{formatCount(s.pending)}</td>
                  <td className={`num${s.failed ? " bad-text" : ""}`} data-metric="failed">{formatCount(s.failed)}</td>
                  <td className="num" data-metric="given-up">{formatCount(s.givenUp)}</td>
                  <td data-metric="failures">{s.failures.length ? s.failures.map((e) => `${e.code} ×${formatCount(e.count)}`).join(", ") : "–"}</td>
                  <td>{s.oldestOpen ? formatAge(s.oldestOpen, now) : "–"}</td>
                </>
              ) : (
                <td colSpan={7} className="muted">
                  no answer from {f.code}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
