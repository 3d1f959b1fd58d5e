import type { EntityManager } from "typeorm";
import { DbbError, ErrorCode } from "../../lib/errors";

export interface FacilityRow {
  code: string;
  description: string;
  createdAt: Date;
}

const FACILITY_COLUMNS = `code, description, created_at AS "createdAt"`;

export async function listFacilities(db: EntityManager): Promise<FacilityRow[]> {
  return db.query(`SELECT ${FACILITY_COLUMNS} FROM facilities ORDER BY code`);
}

export async function facilitiesByCode(db: EntityManager, codes: readonly string[]): Promise<FacilityRow[]> {
  return db.query(`SELECT ${FACILITY_COLUMNS} FROM facilities WHERE code = ANY($1::text[])`, [codes]);
}

/**
 * Returns the facility's code as registered (codes match regardless of case: `frdf` finds
 * `FrDF`), creating the facility when the code is new. An existing facility keeps its description.
 */
export async function ensureFacility(db: EntityManager, code: string, description?: string | null): Promise<string> {
  const rows: Array<{ code: string }> = await db.query(
    `INSERT INTO facilities (code, description) VALUES ($1, $2)
     ON CONFLICT ((lower(code))) DO UPDATE SET code = facilities.code
     RETURNING code`,
    [code, description ?? ""],
  );
  return rows[0].code;
}

/** The registered spelling of a facility code (matched regardless of case); FACILITY_NOT_FOUND otherwise. */
export async function canonicalFacility(db: EntityManager, code: string): Promise<string> {
  const rows: Array<{ code: string }> = await db.query(`SELECT code FROM facilities WHERE lower(code) = lower($1)`, [code]);
  if (!rows.length) throw new DbbError(ErrorCode.FACILITY_NOT_FOUND, `facility '${code}' does not exist`, { facility: code });
  return rows[0].code;
}
