import { SignJWT } from "jose";
import { resolveSecret, signToken } from "../../lib/auth";
import { startTestCatalog, TestCatalog } from "../support/catalog";

let cat: TestCatalog;
beforeAll(async () => {
  cat = await startTestCatalog("auth");
});
afterAll(() => cat.close());

const ADD_SCOPE = `mutation($n: String!) { addScope(name: $n) { name account } }`;
const ADD_DIDS = `mutation { addDids(input: [{scope: "authz", name: "f.fits", type: FILE, bytes: 1}]) { count } }`;

describe("access control", () => {
  it("serves reads without a token", async () => {
    const res = await cat.raw(`{ facilities { code } rses { name } }`);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ facilities: [], rses: [] });
  });

  it("refuses a mutation without a token, with a bad token, or with an expired one: UNAUTHENTICATED", async () => {
    const none = await cat.errorOf(ADD_SCOPE, { n: "s1" }, "");
    expect(none.code).toBe("UNAUTHENTICATED");
    const forged = await cat.errorOf(ADD_SCOPE, { n: "s1" }, cat.tokens.admin.slice(0, -4) + "AAAA");
    expect(forged.code).toBe("UNAUTHENTICATED");
    const otherKey = await signToken({ ...cat.config, auth: { ...cat.config.auth, secret: "a-different-secret-of-the-right-length" } }, {
      subject: "mallory",
      scopes: ["catalog:admin"],
      ttlSeconds: 60,
    });
    expect((await cat.errorOf(ADD_SCOPE, { n: "s1" }, otherKey)).code).toBe("UNAUTHENTICATED");
    // As `dbb token` signs it, but expired a minute ago.
    const expired = await new SignJWT({ scope: "catalog:admin" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject("alice")
      .setIssuer(cat.config.auth.issuer)
      .setAudience(cat.config.auth.audience)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(resolveSecret(cat.config));
    const exp = await cat.errorOf(ADD_SCOPE, { n: "s1" }, expired);
    expect(exp).toMatchObject({ code: "UNAUTHENTICATED", message: 'the bearer token was refused: "exp" claim timestamp check failed' });
    // Nothing was written.
    expect((await cat.ok(`{ scopes { name } }`)).scopes).not.toContainEqual({ name: "s1" });
  });

  it("refuses a mutation whose token lacks the scope: FORBIDDEN", async () => {
    expect((await cat.errorOf(ADD_SCOPE, { n: "s1" }, cat.tokens.reader)).code).toBe("FORBIDDEN");
    // catalog:write may register DIDs but not manage scopes or RSEs.
    expect((await cat.errorOf(ADD_SCOPE, { n: "s1" }, cat.tokens.writer)).code).toBe("FORBIDDEN");
    const rse = await cat.errorOf(`mutation { addRse(input: {name: "X_DISK", facility: "USDF", kind: POSIX, protocol: {root: "/x"}}) { name } }`, {}, cat.tokens.writer);
    expect(rse.code).toBe("FORBIDDEN");
  });

  it("lets catalog:admin add scopes and catalog:write register DIDs, recording the subject", async () => {
    expect((await cat.ok(ADD_SCOPE, { n: "authz" }, cat.tokens.admin)).addScope).toEqual({ name: "authz", account: "alice" });
    expect((await cat.errorOf(ADD_DIDS, {}, cat.tokens.reader)).code).toBe("FORBIDDEN");
    expect((await cat.ok(ADD_DIDS, {}, cat.tokens.writer)).addDids.count).toBe(1);
    const d = await cat.ok(`{ did(scope: "authz", name: "f.fits") { account } }`);
    expect(d.did.account).toBe("campaign-bot");
  });

  it("refuses a malformed Authorization header with a message that says what is expected", async () => {
    const res = await fetch(cat.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Token abc" },
      body: JSON.stringify({ query: `mutation { addScope(name: "s2") { name } }` }),
    });
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(body.errors[0].message).toMatch(/Bearer/);
  });
});
