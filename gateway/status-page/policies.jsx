// Policies and rules: per subscription and target, how many of the DIDs it matched are complete
// there (a progress bar); the STUCK rules with their last error and a Retry button (with a token
// pasted in, as in GraphiQL's headers); the rules REPLICATING the longest.
import React, { useState } from "react";
import { formatAge, formatCount, formatDuration, formatPercent } from "./units";

function ProgressBar({ ok, replicating, stuck, suspended, total }) {
  const pct = (n) => `${total > 0 ? (100 * n) / total : 0}%`;
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={total} aria-valuenow={ok} aria-label={`${ok} of ${total} complete`}>
      <span className="seg ok" style={{ width: pct(ok) }} />
      <span className="seg replicating" style={{ width: pct(replicating) }} />
      <span className="seg stuck" style={{ width: pct(stuck) }} />
      <span className="seg suspended" style={{ width: pct(suspended) }} />
    </div>
  );
}

function Subscriptions({ subscriptions }) {
  if (!subscriptions) return <p className="muted">Waiting for the first answer…</p>;
  if (!subscriptions.length) return <p className="muted">No policies.</p>;
  return (
    <table className="policies">
      <thead>
        <tr>
          <th scope="col">policy</th>
          <th scope="col">target</th>
          <th scope="col" className="wide">
            DIDs complete at the target
          </th>
          <th scope="col">file copies</th>
        </tr>
      </thead>
      <tbody>
        {subscriptions.flatMap((s) =>
          s.progress.map((p, i) => (
            <tr key={`${s.name}/${p.template}`} data-policy={s.name} data-template={p.template}>
              {i === 0 ? (
                <th scope="row" rowSpan={s.progress.length} title={s.comment ?? ""}>
                  {s.name}
                  {s.state !== "ACTIVE" ? <span className={`badge small ${s.state === "FAILING" ? "down" : "unknown"}`}>{s.state}</span> : null}
                  {s.lastError ? <div className="bad-text small">{s.lastError}</div> : null}
                </th>
              ) : null}
              <td>{p.rseExpression}</td>
              <td>
                <ProgressBar ok={p.ok} replicating={p.replicating} stuck={p.stuck} suspended={p.suspended} total={p.rules} />
                <span className="progress-text" data-metric="complete">
                  {formatCount(p.ok)} of {formatCount(p.rules)} ({formatPercent(p.ok, p.rules)})
                </span>
                <span className="muted">
                  {p.replicating ? ` · ${formatCount(p.replicating)} replicating` : ""}
                  {p.suspended ? ` · ${formatCount(p.suspended)} suspended` : ""}
                </span>
                {p.stuck ? <span className="bad-text"> · {formatCount(p.stuck)} stuck</span> : null}
              </td>
              <td className="num">
                {formatCount(p.locksOk)} / {formatCount(p.locks)}
              </td>
            </tr>
          )),
        )}
      </tbody>
    </table>
  );
}

function StuckRules({ stuck, now, retry }) {
  const [busy, setBusy] = useState(null);
  // The last Retry's outcome stays above the table: a rule re-queued leaves the table at the next refresh.
  const [outcome, setOutcome] = useState(null);
  const onRetry = async (rule) => {
    setBusy(rule.id);
    const result = await retry(rule.id);
    setOutcome({ ...result, rule: rule.id, did: rule.did ? `${rule.did.scope}:${rule.did.name}` : rule.id, at: Date.now() });
    setBusy(null);
  };
  const message = outcome ? (
    <p className={`retry-outcome ${outcome.ok ? "ok-text" : "bad-text"}`} role="status" data-rule={outcome.rule}>
      Retry of {outcome.did} ({formatAge(outcome.at, now)}): {outcome.text}
    </p>
  ) : null;
  if (!stuck) return <p className="muted">Waiting for the first answer…</p>;
  if (!stuck.totalCount) {
    return (
      <>
        {message}
        <p className="ok-text">No rule is STUCK.</p>
      </>
    );
  }
  return (
    <>
      {message}
      <table className="rules stuck">
        <thead>
          <tr>
            <th scope="col">DID</th>
            <th scope="col">target</th>
            <th scope="col">last error</th>
            <th scope="col">stuck for</th>
            <th scope="col" />
          </tr>
        </thead>
        <tbody>
          {stuck.nodes.map((r) => (
            <tr key={r.id} data-rule={r.id}>
              <td>
                <span className="did">{r.did ? `${r.did.scope}:${r.did.name}` : "?"}</span>
                <div className="muted small">
                  rule {r.id}
                  {r.subscription ? ` · policy ${r.subscription.name}` : ""}
                </div>
              </td>
              <td>
                {r.rseExpression}
                {r.sourceReplicaExpression ? <div className="muted small">from {r.sourceReplicaExpression}</div> : null}
              </td>
              <td className="error-text">{r.error ?? "–"}</td>
              <td title={`created ${r.createdAt}`}>{formatAge(r.updatedAt, now).replace(/ ago$/, "")}</td>
              <td>
                <button type="button" className="retry" disabled={busy === r.id} onClick={() => onRetry(r)}>
                  Retry
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {stuck.totalCount > stuck.nodes.length ? (
        <p className="muted">
          {formatCount(stuck.totalCount - stuck.nodes.length)} more: <code>ruleBacklog(state: STUCK)</code> in GraphiQL, or <code>dbb rule list --state STUCK</code>.
        </p>
      ) : null}
    </>
  );
}

function Replicating({ replicating, now }) {
  if (!replicating) return null;
  if (!replicating.totalCount) return <p className="ok-text">No rule is waiting.</p>;
  return (
    <>
      <table className="rules replicating">
        <thead>
          <tr>
            <th scope="col">DID</th>
            <th scope="col">target</th>
            <th scope="col">file copies</th>
            <th scope="col">waiting for</th>
          </tr>
        </thead>
        <tbody>
          {replicating.nodes.map((r) => (
            <tr key={r.id} data-rule={r.id}>
              <td>
                <span className="did">{r.did ? `${r.did.scope}:${r.did.name}` : "?"}</span>
                {r.subscription ? <div className="muted small">policy {r.subscription.name}</div> : null}
              </td>
              <td>{r.rseExpression}</td>
              <td className="num">
                {formatCount(r.locksOk)} OK · {formatCount(r.locksReplicating)} replicating
                {r.locksStuck ? <span className="bad-text"> · {formatCount(r.locksStuck)} stuck</span> : null}
              </td>
              <td>{formatDuration(Math.max(0, now - new Date(r.createdAt).getTime()) / 1000)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {replicating.totalCount > replicating.nodes.length ? <p className="muted">{formatCount(replicating.totalCount - replicating.nodes.length)} more, younger.</p> : null}
    </>
  );
}

export function PoliciesSection({ subscriptions, stuck, replicating, now, retry, token, setToken }) {
  return (
    <>
      <Subscriptions subscriptions={subscriptions} />
      <h3 id="stuck">
        Rules STUCK{" "}
        <span className="count" data-metric="stuck-count">
          {stuck ? formatCount(stuck.totalCount) : "…"}
        </span>
      </h3>
      <label className="token">
        Token for Retry (the rule's owner or <code>catalog:admin</code>; <code>npx dbb token --subject you --scope catalog:admin</code>):{" "}
        <input type="password" autoComplete="off" spellCheck={false} placeholder="Bearer token, kept in this tab only" value={token} onChange={(e) => setToken(e.target.value)} />
      </label>
      <StuckRules stuck={stuck} now={now} retry={retry} />
      <h3>
        Rules REPLICATING, oldest first{" "}
        <span className="count" data-metric="replicating-count">
          {replicating ? formatCount(replicating.totalCount) : "…"}
        </span>
      </h3>
      <Replicating replicating={replicating} now={now} />
    </>
  );
}
