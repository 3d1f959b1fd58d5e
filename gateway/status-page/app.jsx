// The status page's browser code, bundled at build time by scripts/build-status-page.mjs into
// dist/gateway/status-page/status.{js,css}: nothing is fetched from anywhere but this origin.
// Everything it shows comes from the gateway's public GraphQL (queries.ts) and GET /ready,
// refreshed in place: LIVE every few seconds, SLOW every half minute.
import React, { useCallback, useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import "./page.css";
import { FacilitiesSection } from "./facilities";
import { IngestSection } from "./ingest";
import { LinksSection } from "./links";
import { PoliciesSection } from "./policies";
import { LIVE_QUERY, LIVE_SECONDS, RETRY_MUTATION, SLOW_QUERY, SLOW_SECONDS, SLOW_VARIABLES } from "./queries";
import { SkySection } from "./sky";
import { facilityHealth, mergeFacilities, otherErrors, problemsOf, unavailableFacilities } from "./status-model";
import { formatAge } from "./units";

/** The GraphQL endpoint and the readiness report, relative to the page (a reverse proxy may add a prefix). */
const ENDPOINT = "graphql";
const READY = "ready";
const TIMEOUT_MS = 20000;

const params = new URLSearchParams(window.location.search);
const seconds = (name, fallback, min) => {
  const n = Number(params.get(name));
  return Number.isFinite(n) && n >= min ? Math.min(n, 3600) : fallback;
};
const liveSeconds = seconds("refresh", LIVE_SECONDS, 1);
const slowSeconds = Math.max(liveSeconds, seconds("slow", SLOW_SECONDS, 1));

async function request(url, init) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(url, { ...init, signal: controller.signal, credentials: "same-origin" });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      throw new Error(`HTTP ${res.status} from ${url}: ${text.slice(0, 200)}`);
    }
  } catch (err) {
    throw new Error(err?.name === "AbortError" ? `no answer from ${url} within ${TIMEOUT_MS / 1000} s` : (err?.message ?? String(err)));
  } finally {
    clearTimeout(timer);
  }
}

function graphql(query, variables, headers = {}) {
  return request(ENDPOINT, {
    method: "POST",
    headers: { accept: "application/graphql-response+json, application/json", ...headers, "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  }).then((r) => r.body);
}

const THEMES = ["auto", "light", "dark"];

function useTheme() {
  const [choice, setChoice] = useState(() => {
    try {
      return THEMES.includes(localStorage.getItem("dbb-status-theme")) ? localStorage.getItem("dbb-status-theme") : "auto";
    } catch {
      return "auto";
    }
  });
  const media = window.matchMedia("(prefers-color-scheme: dark)");
  const [systemDark, setSystemDark] = useState(media.matches);
  useEffect(() => {
    const listener = (e) => setSystemDark(e.matches);
    media.addEventListener("change", listener);
    return () => media.removeEventListener("change", listener);
  }, []);
  const theme = choice === "auto" ? (systemDark ? "dark" : "light") : choice;
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    try {
      localStorage.setItem("dbb-status-theme", choice);
    } catch {
      // a browser that keeps nothing still shows the page
    }
  }, [theme, choice]);
  return [theme, choice, setChoice];
}

/** A timer that ticks every second, so ages ("4 s ago") move between refreshes. */
function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

/**
 * Runs `round` now and then `everySeconds` after each round ends (never two at once); returns a
 * function that runs the next round at once.
 */
function usePolling(round, everySeconds) {
  const timer = useRef(undefined);
  const running = useRef(false);
  const again = useRef(false);
  const run = useCallback(async () => {
    if (running.current) {
      again.current = true;
      return;
    }
    running.current = true;
    clearTimeout(timer.current);
    try {
      await round();
    } finally {
      running.current = false;
      if (again.current) {
        again.current = false;
        void run();
      } else {
        timer.current = setTimeout(run, everySeconds * 1000);
      }
    }
  }, []);
  useEffect(() => {
    void run();
    return () => clearTimeout(timer.current);
  }, []);
  return run;
}

function Problems({ problems }) {
  if (!problems.length) {
    return (
      <section className="problems ok" aria-label="problems" data-problems="0">
        <span className="dot ok" aria-hidden="true" /> All facilities up, nothing stuck, no failures in the last hour.
      </section>
    );
  }
  return (
    <section className="problems" aria-label="problems" data-problems={problems.length}>
      <ul>
        {problems.map((p) => (
          <li key={p.key} className={p.severity} data-problem={p.key}>
            <span className={`dot ${p.severity}`} aria-hidden="true" /> {p.text}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Section({ id, title, note, children }) {
  return (
    <section className="section" id={id} data-section={id}>
      <h2>
        {title} {note ? <span className="muted note">{note}</span> : null}
      </h2>
      {children}
    </section>
  );
}

function App() {
  const [theme, themeChoice, setThemeChoice] = useTheme();
  const now = useNow();
  const [live, setLive] = useState({ data: null, errors: [], at: 0, unavailable: new Set(), facilities: [], rounds: 0 });
  const [slow, setSlow] = useState({ data: null, errors: [], at: 0, rounds: 0 });
  const [ready, setReady] = useState(null);
  const [gatewayError, setGatewayError] = useState(null);
  const [token, setToken] = useState("");

  const liveRound = useCallback(async () => {
    const [r, reply] = await Promise.allSettled([request(READY), graphql(LIVE_QUERY)]);
    if (r.status === "fulfilled") setReady(r.value.body);
    if (reply.status === "rejected") {
      setGatewayError(reply.reason.message);
      return;
    }
    setGatewayError(r.status === "rejected" ? r.reason.message : null);
    const at = Date.now();
    setLive((prev) => {
      const data = reply.value.data ?? null;
      return {
        data: data ?? prev.data,
        errors: otherErrors(reply.value),
        at: data ? at : prev.at,
        unavailable: unavailableFacilities(reply.value),
        facilities: data ? mergeFacilities(prev.facilities, data.facilities, prev.at) : prev.facilities,
        rounds: prev.rounds + 1,
      };
    });
  }, []);
  const slowRound = useCallback(async () => {
    try {
      const reply = await graphql(SLOW_QUERY, SLOW_VARIABLES);
      setSlow((prev) => ({
        data: reply.data ?? prev.data,
        errors: otherErrors(reply),
        at: reply.data ? Date.now() : prev.at,
        rounds: prev.rounds + 1,
      }));
    } catch (err) {
      setGatewayError(err.message);
    }
  }, []);
  const refreshLive = usePolling(liveRound, liveSeconds);
  usePolling(slowRound, slowSeconds);

  const retry = useCallback(
    async (id) => {
      const bare = token.trim().replace(/^Bearer\s+/i, "");
      try {
        const reply = await graphql(RETRY_MUTATION, { id }, bare ? { authorization: `Bearer ${bare}` } : {});
        if (reply.errors?.length) {
          const e = reply.errors[0];
          return { ok: false, text: `${e.extensions?.code ?? "ERROR"}: ${e.message}` };
        }
        void refreshLive();
        const r = reply.data.retryRule;
        return { ok: true, text: `re-queued: now ${r.state}, ${r.locksReplicating} ${r.locksReplicating === 1 ? "copy" : "copies"} replicating` };
      } catch (err) {
        return { ok: false, text: err.message };
      }
    },
    [token],
  );

  const healthOf = (code) => facilityHealth(code, ready, live.unavailable);
  const down = new Set(live.facilities.map((f) => f.code).filter((c) => healthOf(c).state !== "up").map((c) => c.toLowerCase()));
  const problems = problemsOf({ ready, gatewayError, live: live.data, slow: slow.data, unavailable: live.unavailable });
  const codes = live.facilities.map((f) => f.code);
  const errors = [...live.errors, ...slow.errors];

  return (
    <div className="page" data-live-rounds={live.rounds} data-slow-rounds={slow.rounds}>
      <header className="top">
        <h1>
          Data Backbone <span className="muted">status</span>
        </h1>
        <nav aria-label="sections">
          <a href="#facilities">Facilities</a> <a href="#links">Links</a> <a href="#policies">Policies &amp; rules</a> <a href="#sky">Sky</a> <a href="#ingest">Ingest</a>{" "}
          <a href="./">GraphiQL</a>
        </nav>
        <div className="updated" aria-live="polite">
          <span className={`dot ${gatewayError ? "bad" : "ok"}`} aria-hidden="true" /> updated{" "}
          <time data-updated={live.at}>{live.at ? new Date(live.at).toLocaleTimeString("en-GB") : "…"}</time> ({live.at ? formatAge(live.at, now) : "…"}), every{" "}
          {liveSeconds} s; maps and links every {slowSeconds} s
        </div>
        <label className="theme">
          Theme{" "}
          <select value={themeChoice} onChange={(e) => setThemeChoice(e.target.value)}>
            {THEMES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </header>
      <Problems problems={problems} />
      {errors.length ? (
        <section className="errors" aria-label="errors">
          {errors.map((e, i) => (
            <p key={i} className="bad-text">
              {e.extensions?.code ?? "ERROR"}: {e.message}
            </p>
          ))}
        </section>
      ) : null}
      <main>
        <Section id="facilities" title="Facilities" note="state from the gateway's /ready; queues and storage from the catalog; agents from each facility">
          <FacilitiesSection facilities={live.facilities} slowFacilities={slow.data?.facilities} healthOf={healthOf} now={now} />
        </Section>
        <Section id="links" title="Links" note="transfer attempts, source → destination: rate over the last hour, totals over the day">
          <LinksSection slow={slow.data} codes={codes} down={down} theme={theme} />
        </Section>
        <Section id="policies" title="Policies and rules">
          <PoliciesSection
            subscriptions={slow.data?.subscriptions}
            stuck={live.data?.stuck}
            replicating={live.data?.replicating}
            now={now}
            retry={retry}
            token={token}
            setToken={setToken}
          />
        </Section>
        <Section id="sky" title="Sky" note="raws by HEALPix pixel and by the facility that holds them">
          <SkySection sky={slow.data?.sky} subscriptions={slow.data?.subscriptions} slowFacilities={slow.data?.facilities} theme={theme} down={down} />
        </Section>
        <Section id="ingest" title="Ingest" note="arrivals at each facility and what its Butler made of them">
          <IngestSection facilities={live.facilities} healthOf={healthOf} now={now} />
        </Section>
      </main>
    </div>
  );
}

createRoot(document.getElementById("status")).render(<App />);
