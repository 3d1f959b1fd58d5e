import { randomBytes } from "node:crypto";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair, JWTPayload, KeyLike, SignJWT } from "jose";
import { createTokenVerifier, resolveSecret, signToken, TokenVerifier } from "../../lib/auth";
import { Config, loadConfig } from "../../lib/config";
import { startTestCatalog, TestCatalog } from "../support/catalog";

/**
 * Token verification (lib/auth.ts): against an identity provider's JWKS, served here over real
 * HTTP with keys made by jose, and against the local HS256 secret; issuer, audience, expiry and
 * the algorithms each mode accepts.
 */
const ISSUER = "https://idp.example.org";
const AUDIENCE = "dbb-usdf";
let jwks: http.Server;
let jwksUrl: string;
let jwksRequests = 0;
let dataDir: string;
const keys: Record<"rsa" | "ec" | "stranger", { privateKey: KeyLike; kid: string; alg: string }> = {} as any;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "dbb-auth-"));
  const published: object[] = [];
  for (const [name, alg, publish] of [["rsa", "RS256", true], ["ec", "ES256", true], ["stranger", "RS256", false]] as const) {
    const { publicKey, privateKey } = await generateKeyPair(alg);
    const kid = `${name}-key`;
    keys[name] = { privateKey, kid, alg };
    if (publish) published.push({ ...(await exportJWK(publicKey)), kid, alg, use: "sig" });
  }
  jwks = http.createServer((req, res) => {
    jwksRequests++;
    if (req.url !== "/.well-known/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(async () => {
  await new Promise((resolve) => jwks.close(resolve));
  rmSync(dataDir, { recursive: true, force: true });
});

const now = () => Math.floor(Date.now() / 1000);

/** A token as an identity provider issues it; `claims` and `exp` override the good defaults. */
function idpToken(key: keyof typeof keys, claims: JWTPayload = {}, { exp = now() + 600, kid = keys[key].kid } = {}): Promise<string> {
  return new SignJWT({ scope: "catalog:write agent:FrDF", ...claims })
    .setProtectedHeader({ alg: keys[key].alg, kid, typ: "JWT" })
    .setSubject((claims.sub as string) ?? "alice@idp")
    .setIssuer((claims.iss as string) ?? ISSUER)
    .setAudience((claims.aud as string) ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(keys[key].privateKey);
}

describe("with a JWKS", () => {
  let verify: TokenVerifier;
  let config: Config;
  beforeAll(() => {
    config = loadConfig(undefined, { DBB_DATA_DIR: dataDir, DBB_AUTH_JWKS_URL: jwksUrl, DBB_AUTH_ISSUER: ISSUER, DBB_AUTH_AUDIENCE: AUDIENCE });
    verify = createTokenVerifier(config);
  });

  it("accepts RS256 and ES256 tokens signed by keys the JWKS publishes, reading subject and scopes", async () => {
    expect(await verify(`Bearer ${await idpToken("rsa")}`)).toEqual({ principal: { subject: "alice@idp", scopes: ["catalog:write", "agent:FrDF"] } });
    expect(await verify(`Bearer ${await idpToken("ec", { sub: "frdf-agent", scope: "agent:FrDF" })}`)).toEqual({
      principal: { subject: "frdf-agent", scopes: ["agent:FrDF"] },
    });
    // The key set was fetched over HTTP (and is cached by jose between tokens).
    expect(jwksRequests).toBeGreaterThanOrEqual(1);
  });

  it("refuses a token signed by a key the JWKS does not publish, also when it claims a published key id", async () => {
    expect((await verify(`Bearer ${await idpToken("stranger")}`)).tokenError).toMatch(/no applicable key found in the JSON Web Key Set/);
    const impostor = await verify(`Bearer ${await idpToken("stranger", {}, { kid: keys.rsa.kid })}`);
    expect(impostor).toEqual({ tokenError: "signature verification failed" });
  });

  it("refuses a token of another issuer or for another audience", async () => {
    expect(await verify(`Bearer ${await idpToken("rsa", { iss: "https://evil.example.org" })}`)).toEqual({ tokenError: 'unexpected "iss" claim value' });
    expect(await verify(`Bearer ${await idpToken("rsa", { aud: "some-other-service" })}`)).toEqual({ tokenError: 'unexpected "aud" claim value' });
  });

  it("refuses an expired token", async () => {
    expect(await verify(`Bearer ${await idpToken("rsa", {}, { exp: now() - 60 })}`)).toEqual({ tokenError: '"exp" claim timestamp check failed' });
  });

  it("ignores the local HS256 secret: a token it signs is refused", async () => {
    const both = loadConfig(undefined, { DBB_DATA_DIR: dataDir, DBB_AUTH_JWKS_URL: jwksUrl, DBB_AUTH_ISSUER: ISSUER, DBB_AUTH_AUDIENCE: AUDIENCE, DBB_AUTH_SECRET: randomBytes(24).toString("hex") });
    const local = await signToken(both, { subject: "mallory", scopes: ["catalog:admin"], ttlSeconds: 60 });
    const res = await createTokenVerifier(both)(`Bearer ${local}`);
    expect(res.principal).toBeUndefined();
    expect(res.tokenError).toBeDefined();
  });

  it("refuses a token without a subject", async () => {
    const token = await new SignJWT({ scope: "catalog:admin" })
      .setProtectedHeader({ alg: "RS256", kid: keys.rsa.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 60)
      .sign(keys.rsa.privateKey);
    expect(await verify(`Bearer ${token}`)).toEqual({ tokenError: "token has no subject" });
  });

  it("says when the JWKS cannot be fetched", async () => {
    const down = createTokenVerifier(loadConfig(undefined, { DBB_DATA_DIR: dataDir, DBB_AUTH_JWKS_URL: jwksUrl.replace("jwks.json", "missing.json") }));
    const res = await down(`Bearer ${await idpToken("rsa")}`);
    expect(res.principal).toBeUndefined();
    expect(res.tokenError).toMatch(/Expected 200 OK from the JSON Web Key Set HTTP response/);
  });
});

describe("with the local HS256 secret", () => {
  let verify: TokenVerifier;
  let config: Config;
  beforeAll(() => {
    config = loadConfig(undefined, { DBB_DATA_DIR: dataDir, DBB_AUTH_SECRET: randomBytes(24).toString("hex") });
    verify = createTokenVerifier(config);
  });
  const local = (claims: JWTPayload, exp = now() + 600) =>
    new SignJWT({ scope: "catalog:admin" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer((claims.iss as string) ?? "dbb")
      .setAudience((claims.aud as string) ?? "dbb")
      .setExpirationTime(exp)
      .sign(resolveSecret(config));

  it("accepts what `dbb token` signs", async () => {
    const token = await signToken(config, { subject: "alice", scopes: ["catalog:admin", "agent:USDF"], ttlSeconds: 60 });
    expect(await verify(`Bearer ${token}`)).toEqual({ principal: { subject: "alice", scopes: ["catalog:admin", "agent:USDF"] } });
  });

  it("refuses another issuer, another audience and an expired token", async () => {
    expect(await verify(`Bearer ${await local({})}`)).toMatchObject({ principal: { subject: "alice" } });
    expect(await verify(`Bearer ${await local({ iss: "elsewhere" })}`)).toEqual({ tokenError: 'unexpected "iss" claim value' });
    expect(await verify(`Bearer ${await local({ aud: "elsewhere" })}`)).toEqual({ tokenError: 'unexpected "aud" claim value' });
    expect(await verify(`Bearer ${await local({}, now() - 60)}`)).toEqual({ tokenError: '"exp" claim timestamp check failed' });
  });

  it("refuses an RS256 token even from a published key", async () => {
    expect((await verify(`Bearer ${await idpToken("rsa", { iss: "dbb", aud: "dbb" })}`)).principal).toBeUndefined();
  });

  it("refuses a header that is not 'Bearer <token>' and treats no header as anonymous", async () => {
    expect(await verify("Token abc")).toEqual({ tokenError: "the Authorization header must be 'Bearer <token>'" });
    expect(await verify(undefined)).toEqual({});
  });
});

describe("a catalog configured with a JWKS", () => {
  let cat: TestCatalog;
  beforeAll(async () => {
    cat = await startTestCatalog("auth_jwks", { DBB_AUTH_JWKS_URL: jwksUrl, DBB_AUTH_ISSUER: ISSUER, DBB_AUTH_AUDIENCE: AUDIENCE });
  });
  afterAll(() => cat.close());

  it("takes the identity provider's tokens for mutations, records their subject, and refuses locally signed ones", async () => {
    const admin = await idpToken("ec", { sub: "ops@idp", scope: "catalog:admin" });
    expect((await cat.ok(`mutation { addScope(name: "jwks") { name account } }`, {}, admin)).addScope).toEqual({ name: "jwks", account: "ops@idp" });
    // The catalog's own HS256 secret no longer signs valid tokens.
    expect((await cat.errorOf(`mutation { addScope(name: "hs") { name } }`, {}, cat.tokens.admin)).code).toBe("UNAUTHENTICATED");
    const foreign = await cat.errorOf(`mutation { addScope(name: "x") { name } }`, {}, await idpToken("rsa", { aud: "other", scope: "catalog:admin" }));
    expect(foreign).toMatchObject({ code: "UNAUTHENTICATED", message: 'the bearer token was refused: unexpected "aud" claim value' });
  });
});
