import { startTestCatalog, TestCatalog } from "../support/catalog";

const ADD_RSE = `mutation($input: AddRseInput!) { addRse(input: $input) { name kind attributes facility { code description } protocol { endpoint bucket prefix root } } }`;

let cat: TestCatalog;

beforeAll(async () => {
  cat = await startTestCatalog("rses");
  const rses = [
    { name: "USDF_DISK", facility: "USDF", kind: "S3", protocol: { endpoint: "https://s3.usdf.example.org", bucket: "rubin-usdf" }, attributes: { tier: 1, type: "DISK", freespace: 500 } },
    { name: "USDF_TAPE", facility: "USDF", kind: "POSIX", protocol: { root: "/sdf/tape" }, attributes: { tier: 1, type: "TAPE", istape: true } },
    { name: "FRDF_DISK", facility: "FrDF", kind: "S3", protocol: { endpoint: "https://s3.cc.example.fr", bucket: "rubin-frdf", prefix: "dbb/" }, attributes: { tier: 1, type: "DISK", country: "FR", freespace: 120.5 } },
    { name: "UKDF_DISK", facility: "UKDF", kind: "POSIX", protocol: { root: "/data/rubin" }, attributes: { tier: 2, type: "DISK", country: "UK" } },
    { name: "SUMMIT_DISK", facility: "SUMMIT", kind: "S3", protocol: { endpoint: "http://s3.summit.example.cl:9000", bucket: "rubin-summit" }, attributes: { tier: 0, type: "DISK" } },
  ];
  for (const input of rses) await cat.ok(ADD_RSE, { input });
});
afterAll(() => cat.close());

const names = async (expression: string) =>
  (await cat.ok(`query($e: String) { rses(expression: $e) { name } }`, { e: expression })).rses.map((r: { name: string }) => r.name);

describe("RSEs and facilities", () => {
  it("adds RSEs, creating unknown facilities, and lists them with their protocol and attributes", async () => {
    const data = await cat.ok(`{ rses { name facility { code rses { name } } attributes protocol { bucket prefix root } } facilities { code } }`);
    expect(data.facilities.map((f: any) => f.code)).toEqual(["FrDF", "SUMMIT", "UKDF", "USDF"]);
    const usdf = data.rses.find((r: any) => r.name === "USDF_DISK");
    expect(usdf.facility).toEqual({ code: "USDF", rses: [{ name: "USDF_DISK" }, { name: "USDF_TAPE" }] });
    expect(usdf.attributes).toEqual({ tier: 1, type: "DISK", freespace: 500 });
    const frdf = data.rses.find((r: any) => r.name === "FRDF_DISK");
    expect(frdf.protocol).toEqual({ bucket: "rubin-frdf", prefix: "dbb", root: null });
  });

  it("matches facility codes regardless of case instead of creating a twin", async () => {
    const data = await cat.ok(ADD_RSE, {
      input: { name: "FRDF_SCRATCH", facility: "frdf", kind: "POSIX", protocol: { root: "/scratch" } },
    });
    expect(data.addRse.facility.code).toBe("FrDF");
    await cat.ok(`mutation { deleteRse(name: "FRDF_SCRATCH") }`);
  });

  it("refuses a duplicate RSE, bad names and bad protocols with coded errors", async () => {
    const base = { facility: "USDF", kind: "POSIX", protocol: { root: "/x" } };
    expect((await cat.errorOf(ADD_RSE, { input: { ...base, name: "USDF_DISK" } })).code).toBe("RSE_ALREADY_EXISTS");
    expect((await cat.errorOf(ADD_RSE, { input: { ...base, name: "usdf disk" } })).code).toBe("INVALID_INPUT");
    const s3 = await cat.errorOf(ADD_RSE, { input: { name: "BAD_S3", facility: "USDF", kind: "S3", protocol: { root: "/x" } } });
    expect(s3).toMatchObject({ code: "INVALID_INPUT", extensions: { field: "protocol.endpoint" } });
    const attr = await cat.errorOf(ADD_RSE, { input: { ...base, name: "BAD_ATTR", attributes: { nested: { a: 1 } } } });
    expect(attr).toMatchObject({ code: "INVALID_INPUT", extensions: { key: "nested" } });
    expect((await names("*")).includes("BAD_ATTR")).toBe(false);
  });

  it("sets and removes attributes, and expressions see the change", async () => {
    await cat.ok(`mutation { setRseAttribute(rse: "UKDF_DISK", key: "decommissioned", value: true) { name } }`);
    expect(await names("decommissioned")).toEqual(["UKDF_DISK"]);
    const removed = await cat.ok(`mutation { setRseAttribute(rse: "UKDF_DISK", key: "decommissioned", value: null) { attributes } }`);
    expect(removed.setRseAttribute.attributes.decommissioned).toBeUndefined();
    expect((await cat.errorOf(`{ rses(expression: "decommissioned") { name } }`)).code).toBe("INVALID_RSE_EXPRESSION");
    expect((await cat.errorOf(`mutation { setRseAttribute(rse: "NOPE", key: "a", value: 1) { name } }`)).code).toBe("RSE_NOT_FOUND");
  });

  it("evaluates RSE expressions as Rucio does, over attributes plus facility and kind", async () => {
    expect(await names("*")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK", "USDF_TAPE"]);
    expect(await names("tier=1&type=DISK")).toEqual(["FRDF_DISK", "USDF_DISK"]);
    expect(await names("facility=USDF")).toEqual(["USDF_DISK", "USDF_TAPE"]);
    expect(await names("kind=POSIX")).toEqual(["UKDF_DISK", "USDF_TAPE"]);
    expect(await names("*\\istape")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK"]);
    expect(await names("freespace>200")).toEqual(["USDF_DISK"]);
    expect(await names("freespace<200")).toEqual(["FRDF_DISK"]);
    // Strictly left to right: (SUMMIT_DISK|UKDF_DISK)&tier=2, not SUMMIT_DISK|(UKDF_DISK&tier=2).
    expect(await names("SUMMIT_DISK|UKDF_DISK&tier=2")).toEqual(["UKDF_DISK"]);
    expect(await names("SUMMIT_DISK|(UKDF_DISK&tier=2)")).toEqual(["SUMMIT_DISK", "UKDF_DISK"]);
  });

  it("reports a malformed expression with its position, and an empty result as an error", async () => {
    const bad = await cat.errorOf(`{ rses(expression: "tier=1&(type=DISK") { name } }`);
    // The '(' at offset 7 is never closed.
    expect(bad).toMatchObject({ code: "INVALID_RSE_EXPRESSION", extensions: { position: 7, expression: "tier=1&(type=DISK" } });
    expect(bad.message).toBe("Invalid RSE expression 'tier=1&(type=DISK' at position 7: unbalanced parenthesis: this '(' is never closed; expected ')' before the end of the expression");
    const missing = await cat.errorOf(`{ rses(expression: "tier=1 & type=") { name } }`);
    expect(missing.extensions).toMatchObject({ position: 14, expression: "tier=1 & type=" });
    expect((await cat.errorOf(`{ rses(expression: "country=JP") { name } }`)).code).toBe("INVALID_RSE_EXPRESSION");
  });

  it("answers rse(name) and RSE_NOT_FOUND for an unknown one", async () => {
    expect((await cat.ok(`{ rse(name: "USDF_TAPE") { kind protocol { root } } }`)).rse).toEqual({ kind: "POSIX", protocol: { root: "/sdf/tape" } });
    const missing = await cat.errorOf(`{ rse(name: "MOON_DISK") { name } }`);
    expect(missing.code).toBe("RSE_NOT_FOUND");
    expect(missing.data).toEqual({ rse: null });
  });

  it("changes availability and refuses to delete an RSE that holds replicas", async () => {
    const a = await cat.ok(`mutation { setRseAvailability(rse: "USDF_TAPE", write: false) { availabilityRead availabilityWrite } }`);
    expect(a.setRseAvailability).toEqual({ availabilityRead: true, availabilityWrite: false });
    await cat.ok(`mutation { addScope(name: "rsetest") { name } }`);
    await cat.ok(`mutation { addDids(input: [{scope: "rsetest", name: "f1", type: FILE, bytes: 10}]) { count } }`);
    await cat.ok(`mutation { addReplicas(rse: "SUMMIT_DISK", replicas: [{scope: "rsetest", name: "f1"}]) { count } }`);
    expect((await cat.errorOf(`mutation { deleteRse(name: "SUMMIT_DISK") }`)).code).toBe("RSE_NOT_EMPTY");
    // An RSE closed for writing takes no replicas, unless an admin records files already there.
    const onTape = `mutation($ignore: Boolean) { addReplicas(rse: "USDF_TAPE", replicas: [{scope: "rsetest", name: "f1"}], ignoreAvailability: $ignore) { count } }`;
    expect(await cat.errorOf(onTape)).toMatchObject({ code: "RSE_WRITE_BLOCKED", extensions: { rse: "USDF_TAPE" } });
    expect((await cat.errorOf(onTape, { ignore: true }, cat.tokens.writer)).code).toBe("FORBIDDEN");
    expect((await cat.ok(onTape, { ignore: true })).addReplicas.count).toBe(1);
    await cat.ok(ADD_RSE, { input: { name: "TEMP_DISK", facility: "USDF", kind: "POSIX", protocol: { root: "/tmp/x" } } });
    expect((await cat.ok(`mutation { deleteRse(name: "TEMP_DISK") }`)).deleteRse).toBe(true);
    expect(await names("*")).not.toContain("TEMP_DISK");
    // A deleted RSE's name can be used again.
    expect((await cat.ok(ADD_RSE, { input: { name: "TEMP_DISK", facility: "USDF", kind: "POSIX", protocol: { root: "/tmp/y" } } })).addRse.protocol.root).toBe("/tmp/y");
    await cat.ok(`mutation { deleteRse(name: "TEMP_DISK") }`);
  });
});
