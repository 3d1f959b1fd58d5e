import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { checksumsOf } from "../../lib/checksum";
import { jsonOf, runDbb, runDbbInTerminal } from "../support/dbb-cli";
import { ok } from "../support/graphql-client";
import { DBB } from "../support/processes";
import { CLAIM, REPORT } from "../support/replication";
import { startStatusFederation, StatusFederation } from "../support/status-federation";

/**
 * `dbb rule …`, `dbb did …`, `dbb transfers watch` and `dbb completion`, each run as a process of
 * its own against one gateway over a catalog and four facilities, shared by the suite (4 raw
 * files on every facility, a rule on their dataset; one transfer attempt before a lock is STUCK).
 */
let fed: StatusFederation;
let dir: string;
let url: string;
let tokens: { writer: string; other: string; reader: string; agent: string; admin: string };
const DATASET = "raw:LSSTCam/raw/20250601";

beforeAll(async () => {
  // The subscription matcher runs (its re-evaluation jobs are tested); the judge does not.
  fed = await startStatusFederation("cli_cmds", 4, { DBB_TRANSFER_MAX_ATTEMPTS: "1", DBB_TRANSFER_BACKOFF_SECONDS: "0", DBB_SUBSCRIPTIONS_INTERVAL_SECONDS: "1" });
  url = fed.gateway.url;
  dir = mkdtempSync(path.join(tmpdir(), "dbb-cli-"));
  tokens = {
    admin: fed.catalog.tokens.admin,
    writer: await fed.catalog.token("campaign-bot", ["catalog:write"]),
    other: await fed.catalog.token("other-bot", ["catalog:write"]),
    reader: fed.catalog.tokens.reader,
    agent: await fed.catalog.token("agent-frdf", ["agent:FrDF"]),
  };
  await ok(url, `mutation { addRse(input: {name: "FRDF_SCRATCH", facility: "FrDF", kind: POSIX, protocol: {root: "/scratch"}}) { name } }`, {}, tokens.admin);
}, 300_000);
afterAll(async () => {
  await fed?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** dbb against the suite's gateway, with a token (or none). */
const dbb = (args: string[], token?: string, input?: string) => runDbb(args, { DBB_URL: url, DBB_DATA_DIR: dir, ...(token ? { DBB_TOKEN: token } : {}) }, input);

describe("dbb rule", () => {
  let id: string;

  it("adds a rule and prints it as JSON; without a token, with one lacking catalog:write, or with bad arguments it refuses with 1 or 2", async () => {
    const none = await dbb(["rule", "add", DATASET, "FRDF_SCRATCH"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/needs a token with the scope 'catalog:write': set DBB_TOKEN.*\[UNAUTHENTICATED\]/);
    const forbidden = await dbb(["rule", "add", DATASET, "FRDF_SCRATCH", "--json"], tokens.reader);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/lacks the scope 'catalog:write'.*\[FORBIDDEN\]\n {2}the token needs the scope 'catalog:write'/);
    expect(jsonOf(forbidden)).toEqual({ error: { code: "FORBIDDEN", message: expect.stringMatching(/catalog:write/), details: expect.objectContaining({ requiredScopes: ["catalog:write"] }) } });
    for (const bad of [["--lifetime", "soon"], ["--grouping", "SOMETIMES"], ["--copies", "0"]]) {
      const r = await dbb(["rule", "add", DATASET, "FRDF_SCRATCH", ...bad], tokens.writer);
      expect([bad, r.code]).toEqual([bad, 2]);
      expect(r.stdout).toBe("");
    }
    expect((await dbb(["rule", "add", "no-scope-here", "FRDF_SCRATCH"], tokens.writer)).stderr).toMatch(/'no-scope-here' is not a DID: write SCOPE:NAME/);

    const before = Date.now();
    const added = await dbb(["rule", "add", DATASET, "FRDF_SCRATCH", "--lifetime", "30d", "--comment", "reprocessing at FrDF", "--priority", "4", "--json"], tokens.writer);
    expect(added.code).toBe(0);
    const rule = jsonOf(added);
    expect(rule).toMatchObject({
      account: "campaign-bot",
      did: { scope: "raw", name: "LSSTCam/raw/20250601" },
      rseExpression: "FRDF_SCRATCH",
      copies: 1,
      grouping: "DATASET",
      priority: 4,
      comment: "reprocessing at FrDF",
      state: "REPLICATING",
      locksOk: 0,
      locksReplicating: 4,
      locksStuck: 0,
    });
    expect(Date.parse(rule.expiresAt) - before).toBeGreaterThan(30 * 86400_000 - 60_000);
    expect(Date.parse(rule.expiresAt) - before).toBeLessThan(30 * 86400_000 + 60_000);
    id = rule.id;
  }, 120_000);

  it("transfers watch shows the rule's transfers per facility: queued, then done and failed as the agent reports; plain lines when piped", async () => {
    const first = await dbb(["transfers", "watch", "--once", "--json", "--facility", "FrDF"]);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split("\n")).toHaveLength(1);
    expect(jsonOf(first)).toEqual({ time: expect.any(String), facilities: [{ facility: "FrDF", queued: 4, active: 0, done: 0, failed: 0, donePerMinute: null, bytesPerSecond: null }] });

    const [a, b] = (await ok(url, CLAIM, { f: "FrDF", n: 2 }, tokens.agent)).claimTransfers;
    const active = jsonOf(await dbb(["transfers", "watch", "--once", "--json", "--facility", "FrDF"]));
    expect(active.facilities[0]).toMatchObject({ queued: 2, active: 2, done: 0 });
    await ok(url, REPORT, { id: a.id, lease: a.lease, o: { outcome: "DONE", bytes: a.file.bytes } }, tokens.agent);
    await ok(url, REPORT, { id: b.id, lease: b.lease, o: { outcome: "FAILED", error: "connection reset by FrDF's S3" } }, tokens.agent);

    const all = await dbb(["transfers", "watch", "--rounds", "2", "--interval", "1"]);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split("\n");
    expect(lines).toHaveLength(8); // 4 facilities, 2 rounds
    const frdf = lines.filter((l) => / FrDF /.test(l));
    expect(frdf[0]).toMatch(/^\S+Z FrDF queued=2 active=0 done=1 done\/min=- bytes\/s=- failed=1$/);
    expect(frdf[1]).toMatch(/^\S+Z FrDF queued=2 active=0 done=1 done\/min=0\.0 bytes\/s=0 failed=1$/);
    expect(lines.filter((l) => / USDF queued=0 active=0 done=0 /.test(l))).toHaveLength(2);

    // On a terminal the table is drawn, then redrawn in place (cursor up over it, erase to the end).
    const screen = await runDbbInTerminal(["transfers", "watch", "--rounds", "2", "--interval", "1", "--facility", "FrDF"], { DBB_URL: url });
    expect(screen.code).toBe(0);
    const drawn = screen.stdout.split("\x1b[3F\x1b[J");
    expect(drawn).toHaveLength(2);
    for (const d of drawn) expect(d).toMatch(/FACILITY +QUEUED +ACTIVE +DONE +DONE\/MIN +BYTES\/S +FAILED\r?\nFrDF +2 +0 +1 +/);
  }, 120_000);

  it("lists rules by state and DID, shows one with its locks, retries its STUCK lock, suspends and resumes it", async () => {
    const stuck = jsonOf(await dbb(["rule", "list", "--state", "stuck", "--json"]));
    expect(stuck.rules.map((r: any) => [r.id, r.state, r.locksOk, r.locksStuck])).toEqual([[id, "STUCK", 1, 1]]);
    expect(stuck.totalCount).toBe(1);
    expect(stuck.rules[0].error).toMatch(/connection reset/);
    const onDataset = jsonOf(await dbb(["rule", "list", "--did", DATASET, "--json"]));
    expect(onDataset.rules.map((r: any) => r.id).sort()).toEqual([id, fed.ruleId].sort());
    const text = await dbb(["rule", "list", "--account", "campaign-bot"]);
    expect(text.stdout.split("\n")[0]).toMatch(/^ID +STATE +DID +RSE EXPRESSION +COPIES +LOCKS OK\/REPL\/STUCK +ACCOUNT +EXPIRES$/);
    expect(text.stdout).toContain(`${id}  STUCK  ${DATASET}  FRDF_SCRATCH`);

    const shown = jsonOf(await dbb(["rule", "show", id, "--locks", "--json"]));
    expect(shown.locks.totalCount).toBe(4);
    expect(shown.locks.nodes.map((l: any) => l.state).sort()).toEqual(["OK", "REPLICATING", "REPLICATING", "STUCK"]);
    expect((await dbb(["rule", "show", id])).stdout).toMatch(/^id: +\S+\n(.*\n)*state: +STUCK\n(.*\n)*locks ok\/replicating\/stuck: 1\/2\/1\n/);

    const notOwner = await dbb(["rule", "retry", id], tokens.other);
    expect(notOwner.code).toBe(1);
    expect(notOwner.stderr).toMatch(/belongs to 'campaign-bot'; only its owner or catalog:admin may change it \[FORBIDDEN\]/);
    const retried = jsonOf(await dbb(["rule", "retry", id, "--json"], tokens.writer));
    expect(retried).toMatchObject({ id, state: "REPLICATING", locksOk: 1, locksReplicating: 3, locksStuck: 0 });
    const suspended = await dbb(["rule", "suspend", id], tokens.writer);
    expect(suspended.stdout).toBe(`suspended rule ${id}: SUSPENDED, locks ok/replicating/stuck 1/3/0\n`);
    expect(jsonOf(await dbb(["rule", "resume", id, "--json"], tokens.writer)).state).toBe("REPLICATING");
  }, 120_000);

  it("deletes a rule; showing it afterwards exits 1 with RULE_NOT_FOUND", async () => {
    expect(jsonOf(await dbb(["rule", "delete", id, "--json"], tokens.writer))).toEqual({ id, deleted: true });
    const gone = await dbb(["rule", "show", id, "--json"]);
    expect(gone.code).toBe(1);
    expect(jsonOf(gone).error.code).toBe("RULE_NOT_FOUND");
    expect(gone.stderr).toMatch(/\[RULE_NOT_FOUND\]/);
  }, 60_000);
});

describe("dbb did", () => {
  const file = (i: number) => `LSSTCam/raw/20250602/MC_O_20250602_000001_d${i}.fits`;
  const DID_QUERY = `query($s: String!, $n: String!) { did(scope: $s, name: $n) { bytes adler32 md5 metadata replicas { rse { name } path } } }`;

  it("registers a file list in chunks with metadata, replicas and a state file; run again, it adds nothing", async () => {
    const list = path.join(dir, "files.txt");
    writeFileSync(list, [0, 1, 2].map((i) => `${file(i)} ${1000 + i} ${(0xabc0 + i).toString(16)} {"detector": ${i}}`).join("\n") + "\n");
    const forbidden = await dbb(["did", "register", list, "--rse", "USDF_DISK", "--scope", "raw"], tokens.reader);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toMatch(/lacks the scope 'catalog:write'/);

    const run = await dbb(["did", "register", list, "--rse", "USDF_DISK", "--scope", "raw", "--meta", "instrument=LSSTCam", "--chunk", "2", "--json"], tokens.writer);
    expect(run.code).toBe(0);
    expect(jsonOf(run)).toEqual({
      list: path.resolve(list),
      rse: "USDF_DISK",
      scope: "raw",
      lines: 3,
      done: 3,
      didsAdded: 3,
      didsExisting: 0,
      replicasAdded: 3,
      replicasExisting: 0,
      complete: true,
      stateFile: `${list}.dbb-register.json`,
    });
    expect(JSON.parse(readFileSync(`${list}.dbb-register.json`, "utf8"))).toMatchObject({ done: 3, complete: true });
    const d = (await ok(url, DID_QUERY, { s: "raw", n: file(1) })).did;
    expect(d).toEqual({ bytes: 1001, adler32: "0000abc1", md5: null, metadata: { instrument: "LSSTCam", detector: 1 }, replicas: [{ rse: { name: "USDF_DISK" }, path: file(1) }] });

    const again = await dbb(["did", "register", list, "--rse", "USDF_DISK", "--scope", "raw", "--restart"], tokens.writer);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("registered 3 of 3 files on USDF_DISK in scope raw: 0 new DIDs (3 already there), 0 new replicas (3 already there)\n");
  }, 120_000);

  it("stops at a chunk the catalog refuses, keeps what went before, and continues there when run again", async () => {
    const list = path.join(dir, "more.txt");
    const lines = [3, 4, 0, 5].map((i) => `${file(i)} ${2000 + i} 0000abcd`); // line 3: d0 exists with another size
    writeFileSync(list, lines.join("\n") + "\n");
    const failed = await dbb(["did", "register", list, "--rse", "FRDF_DISK", "--scope", "raw", "--chunk", "2"], tokens.writer);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/line 3: raw:\S+_d0\.fits is registered with 1000 bytes.*the list says 2000 bytes/);
    expect(failed.stderr).toMatch(/stopped after 2 of 4 files/);
    expect(failed.stderr).toMatch(/run the same command again to continue there \[DID_ALREADY_EXISTS\]/);
    expect(JSON.parse(readFileSync(`${list}.dbb-register.json`, "utf8"))).toMatchObject({ done: 2, complete: false, error: { line: 3, code: "DID_ALREADY_EXISTS" } });

    lines[2] = `${file(6)} 2006 0000abcd`;
    writeFileSync(list, lines.join("\n") + "\n");
    const resumed = await dbb(["did", "register", list, "--rse", "FRDF_DISK", "--scope", "raw", "--chunk", "2", "--json"], tokens.writer);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .*more\.txt at file 3 of 4/);
    expect(jsonOf(resumed)).toMatchObject({ done: 4, didsAdded: 4, didsExisting: 0, replicasAdded: 4, complete: true });
    expect((await ok(url, DID_QUERY, { s: "raw", n: file(6) })).did.replicas).toEqual([{ rse: { name: "FRDF_DISK" }, path: file(6) }]);

    const bad = path.join(dir, "bad.txt");
    writeFileSync(bad, `${file(7)} 12 abc\n${file(8)} twelve abc\n`);
    const usage = await dbb(["did", "register", bad, "--rse", "FRDF_DISK", "--scope", "raw"], tokens.writer);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/bad\.txt line 2: expected 'PATH SIZE ADLER32/);
    expect(existsSync(`${bad}.dbb-register.json`)).toBe(false);
  }, 120_000);

  it("computes size, adler32 and md5 from local files with --compute, naming them relative to --root", async () => {
    const root = path.join(dir, "data");
    mkdirSync(path.join(root, "LSSTCam/raw/20250603"), { recursive: true });
    const contents = [Buffer.from("SIMPLE  =                    T"), Buffer.alloc(70_000, 7)];
    contents.forEach((c, i) => writeFileSync(path.join(root, `LSSTCam/raw/20250603/f${i}.fits`), c));
    const list = path.join(dir, "local.txt");
    writeFileSync(list, contents.map((_, i) => path.join(root, `LSSTCam/raw/20250603/f${i}.fits`)).join("\n") + "\n");
    const run = await dbb(["did", "register", list, "--compute", "--root", root, "--rse", "SUMMIT_DISK", "--scope", "raw", "--json"], tokens.writer);
    expect(run.code).toBe(0);
    expect(jsonOf(run)).toMatchObject({ done: 2, didsAdded: 2, replicasAdded: 2 });
    for (const [i, c] of contents.entries()) {
      const d = (await ok(url, DID_QUERY, { s: "raw", n: `LSSTCam/raw/20250603/f${i}.fits` })).did;
      const sums = checksumsOf(c);
      expect(d).toMatchObject({ bytes: c.length, adler32: sums.adler32, md5: sums.md5, replicas: [{ rse: { name: "SUMMIT_DISK" }, path: `LSSTCam/raw/20250603/f${i}.fits` }] });
    }
  }, 120_000);

  it("attaches files to a dataset from arguments and a file, counting only new attachments", async () => {
    await ok(url, `mutation { addDids(input: [{scope: "raw", name: "LSSTCam/raw/20250602", type: DATASET}]) { count } }`, {}, tokens.writer);
    const from = path.join(dir, "children.txt");
    writeFileSync(from, `raw:${file(1)}\n# and\nraw:${file(2)}\n`);
    const run = await dbb(["did", "attach", "raw:LSSTCam/raw/20250602", `raw:${file(0)}`, "--from", from, "--json"], tokens.writer);
    expect(run.code).toBe(0);
    expect(jsonOf(run)).toEqual({ parent: { scope: "raw", name: "LSSTCam/raw/20250602" }, children: 3, attached: 3 });
    const again = await dbb(["did", "attach", "raw:LSSTCam/raw/20250602", `raw:${file(0)}`, `raw:${file(3)}`], tokens.writer);
    expect(again.stdout).toBe("attached 1 new of 2 to raw:LSSTCam/raw/20250602\n");
    const children = await ok(url, `{ did(scope: "raw", name: "LSSTCam/raw/20250602") { children { totalCount } } }`);
    expect(children.did.children.totalCount).toBe(4);
  }, 60_000);

  it("sets metadata (JSON values, null removes a key) and reads all of it or the keys asked", async () => {
    const did = `raw:${file(0)}`;
    const set = await dbb(["did", "meta", "set", did, "quality=0.95", "flagged=true", "note=needs a look", "detector=null", "--json"], tokens.writer);
    expect(set.code).toBe(0);
    expect(jsonOf(set)).toEqual({ scope: "raw", name: file(0), metadata: { instrument: "LSSTCam", quality: 0.95, flagged: true, note: "needs a look" } });
    const got = await dbb(["did", "meta", "get", did, "quality", "note"]);
    expect(got.stdout).toBe("note: needs a look\nquality: 0.95\n");
    const missing = await dbb(["did", "meta", "get", did, "quality", "seeing", "--json"]);
    expect(missing.code).toBe(1);
    expect(jsonOf(missing)).toEqual({ scope: "raw", name: file(0), metadata: { quality: 0.95 } });
    expect(missing.stderr).toMatch(/has no metadata key 'seeing'/);
    const unknown = await dbb(["did", "meta", "get", "raw:LSSTCam/raw/none.fits"]);
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringMatching(/\[DID_NOT_FOUND\]/)]);
    expect((await dbb(["did", "meta", "set", did, "novalue"], tokens.writer)).code).toBe(2);
  }, 60_000);
});

describe("dbb completion", () => {
  const bash = (line: string) =>
    execFileSync("bash", ["-c", `source <(node ${DBB} completion bash); read -ra COMP_WORDS <<< "$1"; [[ "$1" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _dbb_complete; echo "\${COMPREPLY[*]}"`, "_", line], { encoding: "utf8" }).trim();

  it("completes subcommands, options and option values in bash from the program's command tree", () => {
    expect(bash("dbb ").split(" ")).toEqual(expect.arrayContaining(["serve", "rule", "status", "did", "transfers", "butler", "completion"]));
    expect(bash("dbb rule ").split(" ")).toEqual(["add", "list", "show", "retry", "delete", "suspend", "resume"]);
    expect(bash("dbb did meta ")).toBe("set get");
    expect(bash("dbb rule list --url http://x --st")).toBe("--state");
    expect(bash("dbb rule list --state ")).toBe("OK REPLICATING STUCK SUSPENDED");
    expect(bash("dbb rule add raw:x FRDF_DISK --grouping ")).toBe("ALL DATASET NONE");
    expect(bash("dbb status --").split(" ")).toEqual(expect.arrayContaining(["--from", "--json", "--summary", "--url", "--help"]));
  });

  const hasZsh = (() => {
    try {
      execFileSync("zsh", ["-c", "true"]);
      return true;
    } catch {
      return false;
    }
  })();
  // zsh's completion builtins are replaced by functions printing what they were given.
  const zsh = (...words: string[]) =>
    execFileSync(
      "zsh",
      [
        "-c",
        `compdef() { :; }; _describe() { shift 3; print -r -- "\${(@P)1}"; }; compadd() { shift; print -r -- "\${(@P)1}"; }; _files() { print files; }
         source <(node ${DBB} completion zsh); words=("$@"); CURRENT=$#; _dbb`,
        "_",
        ...words,
      ],
      { encoding: "utf8" },
    ).trim();

  (hasZsh ? it : it.skip)("completes subcommands with their descriptions, options and option values in zsh", () => {
    expect(zsh("dbb", "rule", "")).toMatch(/^add:add a rule and queue the transfers .* list:rules by state/);
    expect(zsh("dbb", "rule", "list", "--state", "")).toBe("OK REPLICATING STUCK SUSPENDED");
    expect(zsh("dbb", "status", "--")).toMatch(/--from:read DIDs from a file/);
    expect(zsh("dbb", "did", "register", "")).toBe("files");
  });

  it("refuses an unknown shell with exit code 2", async () => {
    const r = await runDbb(["completion", "fish"]);
    expect([r.code, r.stdout]).toEqual([2, ""]);
    expect(r.stderr).toMatch(/no completion for 'fish': bash or zsh/);
  });
});

describe("dbb subscription", () => {
  const NAME = "night-20250601-to-frdf";
  const FILTER = `{scopes: [raw], didTypes: [FILE], namePattern: "LSSTCam/raw/20250601/*"}`;

  it("adds a subscription from JSON/YAML text, refusing a bad filter or template with 2 before anything is sent", async () => {
    for (const bad of [["--filter", "{scopes: raw"], ["--filter", "{colour: red}"], ["--rule", "{copies: 2}"]]) {
      const args = ["subscription", "add", NAME, "--filter", FILTER, "--rule", "{rseExpression: FRDF_DISK}", ...bad];
      const r = await dbb(args, tokens.writer);
      expect([bad, r.code, r.stdout]).toEqual([bad, 2, ""]);
    }
    const none = await dbb(["subscription", "add", NAME, "--filter", FILTER, "--rule", "{rseExpression: FRDF_DISK}"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/catalog:write/);
    const added = jsonOf(await dbb(["subscription", "add", NAME, "--filter", FILTER, "--rule", `{"rseExpression": "FRDF_DISK", "activity": "T0 Raw"}`, "--comment", "the night to FrDF", "--json"], tokens.writer));
    expect(added).toMatchObject({ name: NAME, account: "campaign-bot", active: true, comment: "the night to FrDF", filter: { scopes: ["raw"], didTypes: ["FILE"] } });
    expect(added.rules).toEqual([expect.objectContaining({ rseExpression: "FRDF_DISK", activity: "T0 Raw", copies: 1 })]);
  }, 60_000);

  it("dry-runs it (4 files match), re-evaluates it over the files already there, and lists and shows it with the rules it made", async () => {
    const dry = jsonOf(await dbb(["subscription", "dry-run", NAME, "--json"]));
    expect(dry.matchedCount).toBe(4);
    expect(dry.rules.map((r: any) => r.rseExpression)).toEqual(["FRDF_DISK", "FRDF_DISK", "FRDF_DISK", "FRDF_DISK"]);
    const tried = await dbb(["subscription", "dry-run", "--filter", `{scopes: [raw], namePattern: "LSSTCam/raw/20250601/*", minBytes: 18000001}`]);
    expect(tried.stdout).toMatch(/^3 DIDs match now:\n/);
    const job = jsonOf(await dbb(["subscription", "reevaluate", NAME, "--wait", "--interval", "1", "--json"], tokens.writer));
    expect(job.state).toBe("DONE");
    const listed = jsonOf(await dbb(["subscription", "list", "--json"]));
    expect(listed.find((s: any) => s.name === NAME)).toMatchObject({ matchedDids: 4, rulesCreated: 4 });
    expect((await dbb(["subscription", "list"])).stdout.split("\n")[0]).toMatch(/^NAME +STATE +ACCOUNT +MATCHED +RULES +TEMPLATES +LAST ERROR$/);
    const shown = jsonOf(await dbb(["subscription", "show", NAME, "--rules", "10", "--json"]));
    expect(shown.madeRules.totalCount).toBe(4);
    const ruled = jsonOf(await dbb(["rule", "list", "--subscription", NAME, "--json"]));
    expect(ruled.rules.map((r: any) => r.rseExpression)).toEqual(["FRDF_DISK", "FRDF_DISK", "FRDF_DISK", "FRDF_DISK"]);
    const missing = await dbb(["subscription", "show", "no-such-subscription", "--json"]);
    expect([missing.code, jsonOf(missing).error.code]).toEqual([1, "SUBSCRIPTION_NOT_FOUND"]);
  }, 120_000);
});

describe("dbb obsolete and dbb removal", () => {
  let id: string;
  const NIGHT = ["--did", DATASET, "--facility", "UKDF"];

  it("refuses without something named or a reason (2), without a token or with one lacking catalog:remove (1)", async () => {
    expect((await dbb(["obsolete", "--reason", "x"], tokens.admin)).code).toBe(2);
    const noReason = await dbb(["obsolete", ...NIGHT], tokens.admin);
    expect([noReason.code, noReason.stdout]).toEqual([2, ""]);
    expect(noReason.stderr).toMatch(/--reason is required/);
    const none = await dbb(["obsolete", ...NIGHT, "--reason", "x"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/needs a token with the scope 'catalog:remove'/);
    const writer = await dbb(["obsolete", ...NIGHT, "--reason", "x", "--json"], tokens.writer);
    expect([writer.code, jsonOf(writer).error.code]).toEqual([1, "FORBIDDEN"]);
  }, 60_000);

  it("a dry run prints per facility what would go and be kept, and changes nothing", async () => {
    const dry = jsonOf(await dbb(["obsolete", ...NIGHT, "--reason", "UKDF keeps only its footprint", "--dry-run", "--json"], tokens.admin));
    expect(dry).toMatchObject({ id: null, dryRun: true, state: "PLANNED", reason: "UKDF keeps only its footprint", facilities: ["UKDF"], rulesRemoved: 0 });
    expect(dry.perFacility).toEqual([expect.objectContaining({ facility: "UKDF", filesPlanned: 4, filesDeleted: 0, kept: 0, datasetsRemoved: 4, errors: 0 })]);
    const text = await dbb(["obsolete", ...NIGHT, "--reason", "UKDF keeps only its footprint", "--dry-run"], tokens.admin);
    expect(text.stdout).toMatch(/^dry run: nothing was written\n/);
    expect(text.stdout).toMatch(/\nFACILITY +STATE +DELETED\/PLANNED +KEPT +DATASETS +FREED +ERRORS +LAST ERROR\nUKDF +DELETING +0\/4 +0 +4 +0 B +0/);
    expect(jsonOf(await dbb(["removal", "list", "--json"])).totalCount).toBe(0);
  }, 60_000);

  it("starts a removal, shows and lists it, cancels it while files are pending; an unknown one exits 1", async () => {
    const started = jsonOf(await dbb(["obsolete", ...NIGHT, "--reason", "UKDF keeps only its footprint", "--json"], tokens.admin));
    id = started.id;
    expect(started).toMatchObject({ state: "RUNNING", requestedBy: "alice", dids: [{ scope: "raw", name: "LSSTCam/raw/20250601" }] });
    const shown = jsonOf(await dbb(["removal", "show", id, "--files", "PLANNED", "--json"]));
    expect(shown.perFacility).toEqual([expect.objectContaining({ facility: "UKDF", state: "DELETING", filesPlanned: 4 })]);
    expect(shown.files.totalCount).toBe(4);
    expect((await dbb(["removal", "show", id])).stdout).toMatch(new RegExp(`^removal ${id}: RUNNING\n  asked by alice: UKDF keeps only its footprint\n  retires raw:LSSTCam/raw/20250601 at UKDF\n`));
    expect(jsonOf(await dbb(["removal", "list", "--state", "RUNNING", "--json"])).nodes.map((r: any) => r.id)).toEqual([id]);
    const cancelled = jsonOf(await dbb(["removal", "cancel", id, "--json"], tokens.admin));
    expect(cancelled.state).toBe("CANCELLED");
    expect(jsonOf(await dbb(["removal", "show", id, "--files", "CANCELLED", "--json"])).files.totalCount).toBe(4);
    const unknown = await dbb(["removal", "show", "6f1c3a58-1c1d-4a0e-9a51-3b3f1c2a7d10", "--json"]);
    expect([unknown.code, jsonOf(unknown).error.code]).toEqual([1, "REMOVAL_NOT_FOUND"]);
  }, 60_000);
});
