import type { EntityManager } from "typeorm";
import { sqlState, UNIQUE_VIOLATION } from "../../lib/database";
import { DbbError, ErrorCode } from "../../lib/errors";
import { checkScope } from "./identifiers";

export interface ScopeRow {
  name: string;
  account: string;
  createdAt: Date;
}

const SCOPE_COLUMNS = `name, account, created_at AS "createdAt"`;

export async function addScope(db: EntityManager, account: string, name: string): Promise<ScopeRow> {
  checkScope(name);
  try {
    const rows: ScopeRow[] = await db.query(`INSERT INTO scopes (name, account) VALUES ($1, $2) RETURNING ${SCOPE_COLUMNS}`, [name, account]);
    return rows[0];
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) throw new DbbError(ErrorCode.SCOPE_ALREADY_EXISTS, `scope '${name}' already exists`, { scope: name });
    throw err;
  }
}

export async function listScopes(db: EntityManager): Promise<ScopeRow[]> {
  return db.query(`SELECT ${SCOPE_COLUMNS} FROM scopes ORDER BY name`);
}

/**
 * Throws SCOPE_NOT_FOUND naming the first unknown scope (and its item index when from a bulk call).
 * Each distinct scope is asked once: a bulk call of 100,000 items names a handful.
 */
export async function requireScopes(db: EntityManager, scopes: readonly string[]): Promise<void> {
  const firstItem = new Map<string, number>();
  scopes.forEach((scope, i) => {
    if (!firstItem.has(scope)) firstItem.set(scope, i);
  });
  const missing: Array<{ scope: string }> = await db.query(
    `SELECT s.scope FROM unnest($1::text[]) WITH ORDINALITY AS s(scope, ord)
     WHERE NOT EXISTS (SELECT 1 FROM scopes WHERE name = s.scope) ORDER BY s.ord LIMIT 1`,
    [[...firstItem.keys()]],
  );
  if (missing.length) {
    const { scope } = missing[0];
    const item = firstItem.get(scope)!;
    throw new DbbError(ErrorCode.SCOPE_NOT_FOUND, `scope '${scope}' does not exist (item ${item}); create it with addScope`, { scope, item });
  }
}
