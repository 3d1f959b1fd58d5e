import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createRemoteJWKSet, jwtVerify, JWTVerifyGetKey, SignJWT } from "jose";
import type { Config } from "./config";
import { DbbError, ErrorCode, invalidInput } from "./errors";

/**
 * Tokens are JWTs. `sub` is the account recorded on what the caller creates; `scope` is an
 * OAuth-style space-separated list: catalog:admin, catalog:write, catalog:remove, agent:<FACILITY>, butler:admin.
 */
export interface Principal {
  subject: string;
  scopes: string[];
}

/** What a request carries: a verified principal, or the reason its token was refused. */
export interface Caller {
  principal?: Principal;
  /** Set when a token was presented but did not verify; reported on the first protected call. */
  tokenError?: string;
}

/** Scopes that include others: an admin may do what a writer may. */
const IMPLIED_SCOPES: Record<string, string[]> = {
  "catalog:admin": ["catalog:write", "catalog:remove"],
};

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.some((s) => s === scope || (IMPLIED_SCOPES[s] ?? []).includes(scope));
}

/** Throws UNAUTHENTICATED without a valid token and FORBIDDEN without one of `scopes`. */
export function requireScope(caller: Caller, ...scopes: string[]): Principal {
  if (!caller.principal) {
    throw new DbbError(
      ErrorCode.UNAUTHENTICATED,
      caller.tokenError
        ? `the bearer token was refused: ${caller.tokenError}`
        : "this operation needs a bearer token (Authorization: Bearer <token>); create one with `dbb token`",
    );
  }
  if (scopes.length > 0 && !scopes.some((s) => hasScope(caller.principal!, s))) {
    throw new DbbError(
      ErrorCode.FORBIDDEN,
      `token of '${caller.principal.subject}' lacks the scope ${scopes.map((s) => `'${s}'`).join(" or ")} (it has: ${caller.principal.scopes.join(" ") || "none"})`,
      { requiredScopes: scopes },
    );
  }
  return caller.principal;
}

/**
 * Agents act for one facility: `agent:<FACILITY>` (the code matched regardless of case).
 * Throws UNAUTHENTICATED / FORBIDDEN like requireScope.
 */
export function requireAgent(caller: Caller, facility: string): Principal {
  const principal = requireScope(caller);
  const wanted = `agent:${facility}`.toLowerCase();
  if (!principal.scopes.some((s) => s.toLowerCase() === wanted)) {
    throw new DbbError(ErrorCode.FORBIDDEN, `token of '${principal.subject}' may not act for facility ${facility}: it needs the scope 'agent:${facility}'`, {
      requiredScopes: [`agent:${facility}`],
    });
  }
  return principal;
}

/**
 * Throws FORBIDDEN unless the token acts as an agent for some facility. Checked before an id is
 * looked up, so that a caller who may not act on any agent's work learns nothing of which ids exist.
 */
export function requireAnyAgent(caller: Caller): Principal {
  const principal = requireScope(caller);
  if (!agentFacilities(principal).length) {
    throw new DbbError(ErrorCode.FORBIDDEN, `token of '${principal.subject}' is not an agent's: it needs a scope 'agent:<FACILITY>'`, {
      requiredScopes: ["agent:<FACILITY>"],
    });
  }
  return principal;
}

/**
 * An agent of `facility` (its code matched regardless of case, as codes are everywhere) or a
 * holder of one of `scopes`. Throws UNAUTHENTICATED / FORBIDDEN like requireScope.
 */
export function requireAgentOrScope(caller: Caller, facility: string, ...scopes: string[]): Principal {
  const principal = requireScope(caller);
  const wanted = `agent:${facility}`.toLowerCase();
  if (principal.scopes.some((s) => s.toLowerCase() === wanted) || scopes.some((s) => hasScope(principal, s))) return principal;
  const needed = [`agent:${facility}`, ...scopes];
  throw new DbbError(
    ErrorCode.FORBIDDEN,
    `token of '${principal.subject}' lacks the scope ${needed.map((s) => `'${s}'`).join(" or ")} (it has: ${principal.scopes.join(" ") || "none"})`,
    { requiredScopes: needed },
  );
}

/** The facility codes a token may act for as an agent. */
export function agentFacilities(principal: Principal): string[] {
  return principal.scopes.filter((s) => s.toLowerCase().startsWith("agent:")).map((s) => s.slice("agent:".length));
}

const SCOPE_PATTERN = /^[a-z]+:[A-Za-z0-9_\-*]+$/;
const TTL_PATTERN = /^(\d+)\s*(s|m|h|d|w)?$/;

/** Parses `90`, `90s`, `30m`, `1h`, `7d`, `2w` into seconds. */
export function parseTtl(ttl: string): number {
  const m = TTL_PATTERN.exec(ttl.trim());
  if (!m) throw invalidInput(`invalid ttl '${ttl}': use a number with s, m, h, d or w (e.g. 1h)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[(m[2] ?? "s") as "s"];
  const seconds = Number(m[1]) * unit;
  if (seconds <= 0) throw invalidInput(`invalid ttl '${ttl}': must be positive`);
  return seconds;
}

/**
 * The HS256 secret: `auth.secret` / DBB_AUTH_SECRET when set; otherwise a random key kept in
 * `<dataDir>/auth-secret` (mode 0600) so that `dbb token` and local services agree without
 * any secret living in the repository.
 */
export function resolveSecret(config: Config): Uint8Array {
  if (config.auth.secret) return new TextEncoder().encode(config.auth.secret);
  const file = path.join(config.dataDir, "auth-secret");
  let secret: string;
  try {
    secret = readFileSync(file, "utf8").trim();
  } catch {
    mkdirSync(config.dataDir, { recursive: true });
    secret = randomBytes(32).toString("base64url");
    writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
    chmodSync(file, 0o600);
  }
  return new TextEncoder().encode(secret);
}

export interface TokenRequest {
  subject: string;
  scopes: string[];
  ttlSeconds: number;
}

export async function signToken(config: Config, request: TokenRequest): Promise<string> {
  if (!/^[A-Za-z0-9_.@\-]{1,128}$/.test(request.subject)) {
    throw invalidInput(`invalid subject '${request.subject}': letters, digits, _ . @ - (at most 128)`);
  }
  for (const scope of request.scopes) {
    if (!SCOPE_PATTERN.test(scope)) throw invalidInput(`invalid scope '${scope}': expected e.g. catalog:write or agent:FrDF`);
  }
  return new SignJWT({ scope: request.scopes.join(" ") })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.subject)
    .setIssuer(config.auth.issuer)
    .setAudience(config.auth.audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + request.ttlSeconds)
    .sign(resolveSecret(config));
}

export type TokenVerifier = (authorization: string | undefined | null) => Promise<Caller>;

/** Verifies `Authorization: Bearer …` against the HS256 secret, or the JWKS when configured. */
export function createTokenVerifier(config: Config): TokenVerifier {
  const key: Uint8Array | JWTVerifyGetKey = config.auth.jwksUrl
    ? createRemoteJWKSet(new URL(config.auth.jwksUrl))
    : resolveSecret(config);
  return async (authorization) => {
    if (!authorization) return {};
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return { tokenError: "the Authorization header must be 'Bearer <token>'" };
    try {
      const { payload } = await jwtVerify(m[1], key as any, {
        issuer: config.auth.issuer,
        audience: config.auth.audience,
        algorithms: config.auth.jwksUrl ? ["RS256", "ES256", "PS256", "EdDSA"] : ["HS256"],
      });
      if (typeof payload.sub !== "string" || !payload.sub) return { tokenError: "token has no subject" };
      const scopes = typeof payload.scope === "string" ? payload.scope.split(/\s+/).filter(Boolean) : [];
      return { principal: { subject: payload.sub, scopes } };
    } catch (err) {
      return { tokenError: (err as Error).message };
    }
  };
}
