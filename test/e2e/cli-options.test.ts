import net from "node:net";
import type { AddressInfo } from "node:net";
import { jsonOf, runDbb } from "../support/dbb-cli";

/**
 * The conventions every client command keeps (cli/options.ts), seen from a shell without any
 * federation: exit code 2 for usage mistakes with nothing on stdout, 1 for errors, and with
 * --json the error as one JSON document on stdout.
 */
let closedUrl: string;

beforeAll(async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  closedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/graphql`;
  await new Promise((r) => probe.close(r));
});

it("exits 2 for usage mistakes (unknown command or option, missing or bad argument) and prints nothing on stdout", async () => {
  for (const args of [["rule", "bogus"], ["rule", "show"], ["rule", "list", "--state", "BROKEN"], ["status", "--chunk", "20000", "raw:x"], ["transfers", "watch", "--interval", "0"], ["did", "register", "files.txt"], []]) {
    const r = await runDbb(args);
    expect([args, r.code, r.stdout]).toEqual([args, 2, ""]);
    expect(r.stderr).not.toBe("");
  }
  const help = await runDbb(["--help"]);
  expect([help.code, help.stdout]).toEqual([0, expect.stringMatching(/Exit codes: 0 ok, 1 error, 2 usage, 3 partial/)]);
}, 120_000);

it("exits 1 when the gateway cannot be reached, saying where it looked and how to point elsewhere; --json puts the error on stdout", async () => {
  const r = await runDbb(["rule", "list", "--json"], { DBB_URL: closedUrl });
  expect(r.code).toBe(1);
  expect(jsonOf(r)).toEqual({ error: { code: "NETWORK", message: expect.stringContaining(`cannot reach ${closedUrl}`), details: { url: closedUrl } } });
  expect(r.stderr).toMatch(/\[NETWORK\]\n {2}is the gateway running there\? Point the command at it with --url, DBB_URL or cli\.url/);
  // --url wins over DBB_URL.
  const other = await runDbb(["status", "raw:x", "--url", closedUrl.replace("/graphql", "/other")], { DBB_URL: "http://127.0.0.1:1/graphql" });
  expect([other.code, other.stderr]).toEqual([1, expect.stringContaining(`cannot reach ${closedUrl.replace("/graphql", "/other")}`)]);
  const badUrl = await runDbb(["rule", "list"], { DBB_URL: "not a url" });
  expect([badUrl.code, badUrl.stderr]).toEqual([1, expect.stringMatching(/invalid configuration at cli\.url/)]);
}, 120_000);
