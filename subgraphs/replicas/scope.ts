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

/** Throws SCOPE_NOT_FOUND naming the first unknown scope (and its item index when from a bulk call). */
export async function requireScopes(db: EntityManager, scopes: readonly string[]): Promise<void> {
  const missing: Array<{ scope: string; ord: number }> = await db.query(
    `SELECT s.scope, s.ord FROM unnest($1::text[]) WITH ORDINALITY AS s(scope, ord)
     WHERE NOT EXISTS (SELECT 1 FROM scopes WHERE name = s.scope) ORDER BY s.ord LIMIT 1`,
    [scopes],
  );
  if (missing.length) {
    const { scope, ord } = missing[0];
    throw new DbbError(ErrorCode.SCOPE_NOT_FOUND, `scope '${scope}' does not exist (item ${ord - 1}); create it with addScope`, {
      scope,
      item: ord - 1,
    });
  }
}
