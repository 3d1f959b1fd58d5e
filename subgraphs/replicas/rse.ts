import type { EntityManager } from "typeorm";
import { queryRows, sqlState, UNIQUE_VIOLATION } from "../../lib/database";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { ensureFacility } from "./facility";
import { ATTRIBUTE_KEY_PATTERN, checkFacilityCode, checkRseName } from "./identifiers";
import { AttributeValue, evaluateRseExpression, RseForExpression } from "./rse-expression";

export type RseKind = "S3" | "POSIX";

export interface RseRow {
  id: string;
  name: string;
  facility: string;
  kind: RseKind;
  endpoint: string | null;
  bucket: string | null;
  prefix: string;
  /** S3 only: the region requests are signed for (null: the driver's default, us-east-1). */
  region: string | null;
  rootPath: string | null;
  attributes: Record<string, AttributeValue>;
  availabilityRead: boolean;
  availabilityWrite: boolean;
  availabilityDelete: boolean;
  deleted: boolean;
  account: string;
  createdAt: Date;
  updatedAt: Date;
}

export const RSE_COLUMNS = `id, name, facility, kind, endpoint, bucket, prefix, region, root_path AS "rootPath", attributes,
  availability_read AS "availabilityRead", availability_write AS "availabilityWrite",
  availability_delete AS "availabilityDelete", deleted, account, created_at AS "createdAt", updated_at AS "updatedAt"`;

export interface AddRseInput {
  name: string;
  facility: string;
  facilityDescription?: string | null;
  kind: RseKind;
  protocol: { endpoint?: string | null; bucket?: string | null; prefix?: string | null; region?: string | null; root?: string | null };
  attributes?: unknown;
  availabilityRead?: boolean | null;
  availabilityWrite?: boolean | null;
  availabilityDelete?: boolean | null;
}

function rseNotFound(name: string): DbbError {
  return new DbbError(ErrorCode.RSE_NOT_FOUND, `RSE '${name}' does not exist`, { rse: name });
}

function checkAttributeValue(key: string, value: unknown): AttributeValue {
  if (typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))) return value;
  throw invalidInput(`attribute '${key}' must be a string, number or boolean, got ${JSON.stringify(value)}`, { key });
}

export function checkAttributes(value: unknown): Record<string, AttributeValue> {
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalidInput("attributes must be a JSON object of key → string, number or boolean");
  const out: Record<string, AttributeValue> = {};
  for (const [key, v] of Object.entries(value)) {
    if (!ATTRIBUTE_KEY_PATTERN.test(key)) throw invalidInput(`invalid attribute key '${key}': 1-64 letters, digits, '_', '.', '-'`, { key });
    out[key] = checkAttributeValue(key, v);
  }
  return out;
}

/** Validates the storage protocol of an RSE: S3 needs an http(s) endpoint and a bucket, POSIX an absolute root. */
function checkProtocol(kind: RseKind, p: AddRseInput["protocol"]) {
  const prefix = (p.prefix ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix && !/^[A-Za-z0-9_.\-/]+$/.test(prefix)) throw invalidInput(`invalid prefix '${p.prefix}'`, { field: "protocol.prefix" });
  if (kind === "S3") {
    let url: URL;
    try {
      url = new URL(p.endpoint ?? "");
    } catch {
      throw invalidInput(`an S3 RSE needs protocol.endpoint, an http(s) URL; got '${p.endpoint ?? ""}'`, { field: "protocol.endpoint" });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw invalidInput(`protocol.endpoint must be http(s), got '${p.endpoint}'`, { field: "protocol.endpoint" });
    if (!p.bucket || !/^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$/.test(p.bucket)) {
      throw invalidInput(`an S3 RSE needs protocol.bucket, a valid bucket name (3-63 lower-case letters, digits, '.', '-'); got '${p.bucket ?? ""}'`, { field: "protocol.bucket" });
    }
    if (p.root) throw invalidInput("protocol.root is for POSIX RSEs; an S3 RSE uses endpoint, bucket and prefix", { field: "protocol.root" });
    if (p.region != null && !/^[a-z0-9][a-z0-9\-]{0,62}$/.test(p.region)) {
      throw invalidInput(`protocol.region must be a region name such as us-east-1 (lower-case letters, digits, '-'); got '${p.region}'`, { field: "protocol.region" });
    }
    return { endpoint: p.endpoint!.replace(/\/+$/, ""), bucket: p.bucket, prefix, region: p.region ?? null, rootPath: null };
  }
  if (!p.root || !p.root.startsWith("/") || p.root.includes("..")) {
    throw invalidInput(`a POSIX RSE needs protocol.root, an absolute path; got '${p.root ?? ""}'`, { field: "protocol.root" });
  }
  if (p.endpoint || p.bucket || p.region) throw invalidInput("protocol.endpoint, bucket and region are for S3 RSEs; a POSIX RSE uses root", { field: "protocol.endpoint" });
  return { endpoint: null, bucket: null, prefix, region: null, rootPath: p.root.replace(/\/+$/, "") || "/" };
}

export async function addRse(db: EntityManager, account: string, input: AddRseInput): Promise<RseRow> {
  const name = checkRseName(input.name);
  const facilityCode = checkFacilityCode(input.facility);
  if (input.kind !== "S3" && input.kind !== "POSIX") throw invalidInput(`kind must be S3 or POSIX`);
  const protocol = checkProtocol(input.kind, input.protocol ?? {});
  const attributes = checkAttributes(input.attributes);
  return db.transaction(async (tx) => {
    const facility = await ensureFacility(tx, facilityCode, input.facilityDescription);
    try {
      const rows: RseRow[] = await tx.query(
        `INSERT INTO rses (name, facility, kind, endpoint, bucket, prefix, root_path, attributes,
                           availability_read, availability_write, availability_delete, account, region)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${RSE_COLUMNS}`,
        [
          name,
          facility,
          input.kind,
          protocol.endpoint,
          protocol.bucket,
          protocol.prefix,
          protocol.rootPath,
          JSON.stringify(attributes),
          input.availabilityRead ?? true,
          input.availabilityWrite ?? true,
          input.availabilityDelete ?? true,
          account,
          protocol.region,
        ],
      );
      return rows[0];
    } catch (err) {
      if (sqlState(err) === UNIQUE_VIOLATION) {
        throw new DbbError(ErrorCode.RSE_ALREADY_EXISTS, `RSE '${name}' already exists`, { rse: name });
      }
      throw err;
    }
  });
}

export async function getRse(db: EntityManager, name: string): Promise<RseRow> {
  const rows: RseRow[] = await db.query(`SELECT ${RSE_COLUMNS} FROM rses WHERE name = $1 AND NOT deleted`, [name]);
  if (!rows.length) throw rseNotFound(name);
  return rows[0];
}

export async function rsesByName(db: EntityManager, names: readonly string[]): Promise<RseRow[]> {
  return db.query(`SELECT ${RSE_COLUMNS} FROM rses WHERE name = ANY($1::text[]) AND NOT deleted`, [names]);
}

/** By id, deleted ones included: replicas keep pointing at the RSE they were on. */
export async function rsesById(db: EntityManager, ids: readonly string[]): Promise<RseRow[]> {
  return db.query(`SELECT ${RSE_COLUMNS} FROM rses WHERE id = ANY($1::uuid[])`, [ids]);
}

export async function rsesByFacility(db: EntityManager, codes: readonly string[]): Promise<RseRow[]> {
  return db.query(`SELECT ${RSE_COLUMNS} FROM rses WHERE facility = ANY($1::text[]) AND NOT deleted ORDER BY name`, [codes]);
}

/**
 * The attributes an expression sees: the RSE's own, plus `facility` and `kind` unless the RSE
 * sets them itself, so `facility=FrDF` and `kind=S3` work without extra bookkeeping.
 */
export function expressionView(rse: RseRow): RseForExpression {
  return { name: rse.name, attributes: { facility: rse.facility, kind: rse.kind, ...rse.attributes } };
}

/** All live RSEs, or those an RSE expression selects (Rucio semantics; see rse-expression.ts). */
export async function listRses(db: EntityManager, expression?: string | null): Promise<RseRow[]> {
  const all: RseRow[] = await db.query(`SELECT ${RSE_COLUMNS} FROM rses WHERE NOT deleted ORDER BY name`);
  if (expression === undefined || expression === null) return all;
  const selected = new Set(evaluateRseExpression(expression, all.map(expressionView)));
  return all.filter((r) => selected.has(r.name));
}

export async function setRseAttribute(db: EntityManager, name: string, key: string, value: unknown): Promise<RseRow> {
  if (!ATTRIBUTE_KEY_PATTERN.test(key)) throw invalidInput(`invalid attribute key '${key}': 1-64 letters, digits, '_', '.', '-'`, { key });
  const rows =
    value === null || value === undefined
      ? await queryRows<RseRow>(db, 
          `UPDATE rses SET attributes = attributes - $2, updated_at = now() WHERE name = $1 AND NOT deleted RETURNING ${RSE_COLUMNS}`,
          [name, key],
        )
      : await queryRows<RseRow>(db,
          `UPDATE rses SET attributes = jsonb_set(attributes, ARRAY[$2::text], $3::jsonb), updated_at = now()
           WHERE name = $1 AND NOT deleted RETURNING ${RSE_COLUMNS}`,
          [name, key, JSON.stringify(checkAttributeValue(key, value))],
        );
  if (!rows.length) throw rseNotFound(name);
  return rows[0];
}

export interface RseAvailability {
  read?: boolean | null;
  write?: boolean | null;
  delete?: boolean | null;
}

export async function setRseAvailability(db: EntityManager, name: string, a: RseAvailability): Promise<RseRow> {
  const rows = await queryRows<RseRow>(db,
    `UPDATE rses SET availability_read = COALESCE($2, availability_read),
                     availability_write = COALESCE($3, availability_write),
                     availability_delete = COALESCE($4, availability_delete), updated_at = now()
     WHERE name = $1 AND NOT deleted RETURNING ${RSE_COLUMNS}`,
    [name, a.read ?? null, a.write ?? null, a.delete ?? null],
  );
  if (!rows.length) throw rseNotFound(name);
  return rows[0];
}

/** Marks an RSE deleted. Refused while it still holds replicas, as in Rucio. */
export async function deleteRse(db: EntityManager, name: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows: Array<{ id: string }> = await tx.query(`SELECT id FROM rses WHERE name = $1 AND NOT deleted FOR UPDATE`, [name]);
    if (!rows.length) throw rseNotFound(name);
    const [{ n }] = await tx.query(`SELECT count(*) AS n FROM (SELECT 1 FROM replicas WHERE rse_id = $1 LIMIT 1) r`, [rows[0].id]);
    if (n > 0) {
      throw new DbbError(ErrorCode.RSE_NOT_EMPTY, `RSE '${name}' still holds replicas; delete or move them first`, { rse: name });
    }
    await tx.query(`UPDATE rses SET deleted = true, deleted_at = now(), updated_at = now() WHERE id = $1`, [rows[0].id]);
    return true;
  });
}
