import { hasScope, Principal } from "../../lib/auth";
import { DbbError, ErrorCode } from "../../lib/errors";

/**
 * Access rules of the catalog that depend on what is asked for, not only on who asks (STYLE §1).
 *
 * Announcing a Large File Annex file (announceLargeFile) needs `lfa:<FACILITY>`, the facility of
 * the LFA RSE its url points into (e.g. `lfa:SUMMIT` for the Summit's bridge from its
 * largeFileObjectAvailable events), or `catalog:admin`. A bridge's token can thus register files
 * on its own site's LFA and nothing else: not on other RSEs, not other scopes, no rules.
 */
export function requireLfaAnnouncer(principal: Principal, facility: string): void {
  const wanted = `lfa:${facility}`.toLowerCase();
  if (hasScope(principal, "catalog:admin") || principal.scopes.some((s) => s.toLowerCase() === wanted)) return;
  throw new DbbError(ErrorCode.FORBIDDEN, `token of '${principal.subject}' may not announce Large File Annex files of ${facility}: it needs the scope 'lfa:${facility}'`, {
    requiredScopes: [`lfa:${facility}`, "catalog:admin"],
  });
}
