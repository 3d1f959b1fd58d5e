// Facilities: one card each, with its state from /ready (up, down, schema-mismatch), its agents
// and their last heartbeat, its transfer queue, what it copies now, and its storage per RSE.
// A facility that is down keeps its last known values, greyed, with their age.
import React from "react";
import { formatAge, formatBytes, formatBytesPerSecond, formatCount } from "./units";

const STATE_TEXT = { up: "UP", down: "DOWN", "schema-mismatch": "SCHEMA MISMATCH", unknown: "…" };

export function StateBadge({ state }) {
  return <span className={`badge ${state}`}>{STATE_TEXT[state] ?? state}</span>;
}

function Metric({ label, value, tone, metric, wide }) {
  return (
    <div className={`metric${tone ? ` ${tone}` : ""}${wide ? " span2" : ""}`} data-metric={metric}>
      <div className="metric-value">{value}</div>
      <div className="metric-label">{label}</div>
    </div>
  );
}

function Agents({ agents, now }) {
  if (!agents) return <p className="muted">no answer</p>;
  if (!agents.length) return <p className="muted">no agent reported in the last day</p>;
  // Agents that stopped cleanly are history: counted, not listed.
  const running = agents.filter((a) => a.state !== "STOPPED");
  const stopped = agents.filter((a) => a.state === "STOPPED");
  return (
    <ul className="agents">
      {running.map((a) => (
        <li key={a.id} data-agent={a.id} data-state={a.state}>
          <span className={`dot ${a.state === "ALIVE" ? "ok" : "bad"}`} aria-hidden="true" />
          <span className="agent-id">{a.id}</span> <span className={`agent-state${a.state === "LATE" ? " bad-text" : ""}`}>{a.state}</span>
          <span className="muted">
            {" "}
            · heartbeat {formatAge(a.lastSeen, now)} · {a.activeTransfers}/{a.streams} streams · {formatBytesPerSecond(a.bytesPerSecond)}
          </span>
        </li>
      ))}
      {!running.length ? <li className="bad-text">no agent running</li> : null}
      {stopped.length ? (
        <li className="muted" data-stopped={stopped.length}>
          <span className="dot idle" aria-hidden="true" /> {stopped.length} stopped in the last day (last heartbeat {formatAge(stopped[0].lastSeen, now)})
        </li>
      ) : null}
    </ul>
  );
}

export function FacilityCard({ facility, rses, health, now }) {
  const t = facility.transferCounts;
  const agents = facility.agents;
  const alive = (agents ?? []).filter((a) => a.state === "ALIVE");
  const rate = alive.reduce((n, a) => n + a.bytesPerSecond, 0);
  const stale = facility.staleSince?.agents;
  const state = health.state;
  return (
    <article className={`card facility ${state}`} data-facility={facility.code} data-state={state}>
      <header>
        <h3>{facility.code}</h3>
        <StateBadge state={state} />
      </header>
      {state !== "up" && health.error ? <p className="down-note">{health.error}</p> : null}
      {stale ? (
        <p className="down-note" data-stale="true">
          No answer since {new Date(stale).toLocaleTimeString("en-GB")} ({formatAge(stale, now)}): its agents as they were then
        </p>
      ) : null}
      <div className="card-body">
        <p className="muted description">{facility.description}</p>
        <div className="metrics">
          <Metric label="copying now" value={agents ? formatBytesPerSecond(rate) : "–"} metric="rate" wide />
          <Metric label="queued" value={formatCount(t?.queued)} metric="queued" />
          <Metric label="active" value={formatCount(t?.active)} metric="active" />
          <Metric label="retrying" value={formatCount(t?.retrying)} tone={t?.retrying ? "warn" : ""} metric="retrying" />
          <Metric label={`failed (${t?.hours ?? 24} h)`} value={formatCount(t?.failed)} tone={t?.failed ? "bad" : ""} metric="failed" />
          <Metric label={`done (${t?.hours ?? 24} h)`} value={`${formatCount(t?.done)} · ${formatBytes(t?.bytes)}`} metric="done" wide />
        </div>
        <h4>Agents</h4>
        <Agents agents={agents} now={now} />
        <h4>Storage</h4>
        {rses ? (
          <table className="storage">
            <thead>
              <tr>
                <th scope="col">RSE</th>
                <th scope="col">files</th>
                <th scope="col">used</th>
                <th scope="col">copying in</th>
              </tr>
            </thead>
            <tbody>
              {rses.map((r) => (
                <tr key={r.name} data-rse={r.name}>
                  <td>
                    {r.name} <span className="muted">{r.kind}</span>
                    {!r.availabilityWrite ? <span className="warn-text"> read-only</span> : null}
                  </td>
                  <td className="num" data-metric="files">{formatCount(r.usage.files)}</td>
                  <td className="num" data-metric="bytes">{formatBytes(r.usage.bytes)}</td>
                  <td className="num">{r.usage.copyingFiles ? `${formatCount(r.usage.copyingFiles)} · ${formatBytes(r.usage.copyingBytes)}` : "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">…</p>
        )}
      </div>
    </article>
  );
}

export function FacilitiesSection({ facilities, slowFacilities, healthOf, now }) {
  if (!facilities.length) return <p className="muted">Waiting for the first answer…</p>;
  const rsesOf = new Map((slowFacilities ?? []).map((f) => [f.code, f.rses]));
  return (
    <div className="cards">
      {facilities.map((f) => (
        <FacilityCard key={f.code} facility={f} rses={rsesOf.get(f.code)} health={healthOf(f.code)} now={now} />
      ))}
    </div>
  );
}
