import { facilityHealth, mergeFacilities, problemsOf, ReadyBody, unavailableFacilities } from "../../gateway/status-page/status-model";

/** What the status page makes of /ready and of its GraphQL answers (gateway/status-page/status-model.ts). */
const ready: ReadyBody = {
  status: "not-ready",
  catalog: { name: "catalog", state: "up" },
  facilities: [
    { name: "USDF", state: "up" },
    { name: "UKDF", state: "down", error: "fetch failed" },
    { name: "FrDF", state: "schema-mismatch", error: "serves another schema" },
  ],
};
const unavailable = { errors: [{ message: "UKDF did not answer", extensions: { code: "FACILITY_UNAVAILABLE", facility: "UKDF" } }, { message: "x", extensions: { code: "QUERY_TIMEOUT" } }] };

describe("facilityHealth", () => {
  it("takes each facility's state from /ready, matching codes regardless of case", () => {
    expect(facilityHealth("usdf", ready, new Set())).toEqual({ state: "up", error: null });
    expect(facilityHealth("UKDF", ready, new Set())).toEqual({ state: "down", error: "not answering: fetch failed" });
    expect(facilityHealth("FrDF", ready, new Set())).toEqual({ state: "schema-mismatch", error: "serves another schema" });
    expect(facilityHealth("SUMMIT", ready, new Set())).toEqual({ state: "unknown", error: null });
  });

  it("counts a facility down as soon as an answer lacks its part, before /ready's next check", () => {
    const down = unavailableFacilities(unavailable);
    expect([...down]).toEqual(["ukdf"]);
    expect(facilityHealth("USDF", { ...ready, facilities: [{ name: "USDF", state: "up" }] }, new Set(["usdf"])).state).toBe("down");
  });
});

describe("mergeFacilities", () => {
  it("keeps a silent facility's last agents and ingest, marked stale since the answer that had them", () => {
    const first = mergeFacilities(null, [{ code: "UKDF", agents: [{ id: "a" }], ingestSummary: { failed: 0 }, transferCounts: { queued: 1 } }], 0);
    expect(first[0].staleSince).toBeUndefined();
    const second = mergeFacilities(first, [{ code: "UKDF", agents: null, ingestSummary: null, transferCounts: { queued: 2 } }], 1000);
    expect(second[0]).toEqual({ code: "UKDF", agents: [{ id: "a" }], ingestSummary: { failed: 0 }, transferCounts: { queued: 2 }, staleSince: { agents: 1000, ingestSummary: 1000 } });
    // Still silent: stale since the same time, not the last round.
    const third = mergeFacilities(second, [{ code: "UKDF", agents: null, ingestSummary: null }], 2000);
    expect(third[0].staleSince).toEqual({ agents: 1000, ingestSummary: 1000 });
    // Back: fresh values, nothing stale.
    const fourth = mergeFacilities(third, [{ code: "UKDF", agents: [], ingestSummary: { failed: 1 } }], 3000);
    expect(fourth[0]).toEqual({ code: "UKDF", agents: [], ingestSummary: { failed: 1 } });
  });
});

describe("problemsOf", () => {
  it("lists what is broken, worst first, each with a stable key", () => {
    const problems = problemsOf({
      ready,
      gatewayError: null,
      unavailable: unavailableFacilities(unavailable),
      live: {
        facilities: [
          { code: "USDF", agents: [{ id: "agent-usdf@h:1", state: "LATE" }], transferCounts: { queued: 4, retrying: 1, active: 0 }, ingestSummary: { failed: 2, failures: [{ code: "BAD_FITS_HEADER", count: 2 }] } },
          { code: "UKDF", agents: null, transferCounts: { queued: 0, retrying: 0, active: 0 }, ingestSummary: null },
        ],
        stuck: { totalCount: 1, nodes: [{ error: "raw:f.fits to UKDF_DISK: CHECKSUM_MISMATCH: what the source sent is not the catalog's file" }] },
      },
      slow: {
        subscriptions: [{ name: "raw-to-usdf", state: "FAILING", lastError: "INSUFFICIENT_TARGET_RSES" }, { name: "ok", state: "ACTIVE", lastError: null }],
        lastHour: { links: [{ source: "FrDF", destination: "UKDF", failed: 3, errors: [{ code: "CHECKSUM_MISMATCH", count: 3 }] }, { source: "SUMMIT", destination: "USDF", failed: 0, errors: [] }] },
      },
    });
    expect(problems.map((p) => [p.severity, p.key])).toEqual([
      ["bad", "facility-down:UKDF"],
      ["bad", "facility-schema:FrDF"],
      ["bad", "rules-stuck"],
      ["bad", "subscription-failing:raw-to-usdf"],
      ["bad", "no-agent:USDF"],
      ["warn", "agent-late:agent-usdf@h:1"],
      ["warn", "ingest-failed:USDF"],
      ["warn", "link-failed:FrDF>UKDF"],
    ]);
    expect(problems.find((p) => p.key === "link-failed:FrDF>UKDF")!.text).toBe("3 failed transfer attempts FrDF → UKDF in the last hour (CHECKSUM_MISMATCH ×3)");
    expect(problems.find((p) => p.key === "no-agent:USDF")!.text).toBe("USDF has 5 transfers waiting and no live agent");
  });

  it("says when the gateway itself does not answer, and nothing when all is well", () => {
    expect(problemsOf({ ready: null, gatewayError: "no answer from graphql within 20 s", live: null, slow: null, unavailable: new Set() })).toEqual([
      { severity: "bad", key: "gateway", text: "The gateway is not answering: no answer from graphql within 20 s" },
    ]);
    const allUp: ReadyBody = { catalog: { name: "catalog", state: "up" }, facilities: [{ name: "USDF", state: "up" }] };
    expect(problemsOf({ ready: allUp, gatewayError: null, live: { facilities: [{ code: "USDF", agents: [{ id: "a", state: "ALIVE" }] }], stuck: { totalCount: 0, nodes: [] } }, slow: null, unavailable: new Set() })).toEqual([]);
  });
});
