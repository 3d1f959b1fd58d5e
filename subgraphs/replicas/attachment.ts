import type { EntityManager } from "typeorm";
import { analyzeAfterBulkWrite } from "../../lib/database";
import { DbbError, ErrorCode, invalidInput } from "../../lib/errors";
import { decodeCursor, pageSize } from "../../lib/pagination";
import { DID_COLUMNS, DidKey, didKey, didNotFound, DidRow, getDid } from "./did";
import { checkDidName, checkScope } from "./identifiers";
import { applyRulesToAttachment } from "./rule";

/**
 * Attachments build the DID hierarchy: a dataset holds files; a container holds datasets and
 * containers. A container may not (indirectly) contain itself.
 */

/** Serializes container attachments, so two concurrent calls cannot close a cycle between them. */
const CONTAINER_ATTACH_LOCK = 0x44424201;

function checkKeys(children: DidKey[]): DidKey[] {
  return children.map((c, item) => ({ scope: checkScope(c.scope, { item }), name: checkDidName(c.name, { item, scope: c.scope }) }));
}

/**
 * Attaches children to an open dataset or container in one transaction. Children already
 * attached are left as they are; returns how many attachments were added.
 */
export async function attachDids(db: EntityManager, account: string, parentKey: DidKey, childKeys: DidKey[]): Promise<number> {
  const children = checkKeys(childKeys);
  const added = await db.transaction(async (tx) => {
    const parent = await getDid(tx, parentKey).catch((err) => {
      throw err instanceof DbbError ? didNotFound(parentKey, { argument: "parent" }) : err;
    });
    if (parent.type === "FILE") throw invalidInput(`${didKey(parent)} is a file: attach to a dataset or a container`, { argument: "parent" });
    if (!parent.isOpen) throw new DbbError(ErrorCode.DID_CLOSED, `${didKey(parent)} is closed and takes no new attachments`, { scope: parent.scope, name: parent.name });
    if (!children.length) return 0;
    if (parent.type === "CONTAINER") await tx.query(`SELECT pg_advisory_xact_lock($1)`, [CONTAINER_ATTACH_LOCK]);
    const scopes = children.map((c) => c.scope);
    const names = children.map((c) => c.name);
    const allowed = parent.type === "DATASET" ? ["FILE"] : ["DATASET", "CONTAINER"];
    // Every child must exist and be of a type the parent may hold; report the first that is not.
    const refuseFirstBadChild = async () => {
      const problems: Array<{ ord: number; scope: string; name: string; type: string | null }> = await tx.query(
        `SELECT k.ord, k.scope, k.name, d.did_type AS type
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(scope, name, ord)
         LEFT JOIN dids d ON d.scope = k.scope AND d.name = k.name
         WHERE d.did_type IS NULL OR d.did_type <> ALL($3::did_type[])
         ORDER BY k.ord LIMIT 1`,
        [scopes, names, allowed],
      );
      if (!problems.length) return;
      const p = problems[0];
      const item = p.ord - 1;
      if (p.type === null) throw didNotFound(p, { item });
      throw invalidInput(
        `item ${item}: a ${parent.type} holds ${parent.type === "DATASET" ? "files" : "datasets and containers"}, and ${p.scope}:${p.name} is a ${p.type}`,
        { item, scope: p.scope, name: p.name },
      );
    };
    if (parent.type === "CONTAINER") {
      await refuseFirstBadChild();
      // The parent itself and all its ancestors may not become its children.
      const cycle: Array<{ ord: number; scope: string; name: string }> = await tx.query(
        `WITH RECURSIVE ancestors(scope, name) AS (
           SELECT $3::text, $4::text
           UNION
           SELECT a.parent_scope, a.parent_name FROM attachments a JOIN ancestors x ON a.child_scope = x.scope AND a.child_name = x.name)
         SELECT k.ord, k.scope, k.name FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(scope, name, ord)
         JOIN ancestors x ON x.scope = k.scope AND x.name = k.name ORDER BY k.ord LIMIT 1`,
        [scopes, names, parent.scope, parent.name],
      );
      if (cycle.length) {
        const c = cycle[0];
        throw invalidInput(`item ${c.ord - 1}: attaching ${c.scope}:${c.name} to ${didKey(parent)} would make a cycle`, {
          item: c.ord - 1,
          scope: c.scope,
          name: c.name,
          reason: "CYCLE",
        });
      }
    }
    // One INSERT of the children that exist and are of an allowed type. A dataset's (files: there
    // is no cycle to look for) is not checked before: when fewer children matched than were given,
    // the first bad one is looked up then, and the transaction rolled back by its error.
    const [{ matched, n }] = await tx.query(
      `WITH k AS (
         SELECT DISTINCT k.scope, k.name FROM unnest($1::text[], $2::text[]) AS k(scope, name)
         JOIN dids d ON d.scope = k.scope AND d.name = k.name AND d.did_type = ANY($6::did_type[])),
       ins AS (
         INSERT INTO attachments (parent_scope, parent_name, child_scope, child_name, account)
         SELECT $3::text, $4::text, k.scope, k.name, $5::text FROM k
         ON CONFLICT DO NOTHING RETURNING 1)
       SELECT (SELECT count(*) FROM k) AS matched, (SELECT count(*) FROM ins) AS n`,
      [scopes, names, parent.scope, parent.name, account, allowed],
    );
    if (matched !== new Set(children.map(didKey)).size) {
      await refuseFirstBadChild();
      throw new DbbError(ErrorCode.DID_NOT_FOUND, "some of these children were removed concurrently; nothing was attached, retry the call");
    }
    await tx.query(`UPDATE dids SET updated_at = now() WHERE scope = $1 AND name = $2`, [parent.scope, parent.name]);
    // Rules on the parent or its ancestors now cover the new files too.
    if (n > 0) await applyRulesToAttachment(tx, parent, children);
    return n;
  });
  // Rules walk the DID tree through attachments: plan them on the table's new size.
  await analyzeAfterBulkWrite(db, "attachments", added);
  return added;
}

/** Detaches children; every child must be attached to the parent. Returns how many were detached. */
export async function detachDids(db: EntityManager, parentKey: DidKey, childKeys: DidKey[]): Promise<number> {
  const children = checkKeys(childKeys);
  return db.transaction(async (tx) => {
    const parent = await getDid(tx, parentKey);
    const scopes = children.map((c) => c.scope);
    const names = children.map((c) => c.name);
    const missing: Array<{ ord: number; scope: string; name: string }> = await tx.query(
      `SELECT k.ord, k.scope, k.name FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(scope, name, ord)
       WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.parent_scope = $3 AND a.parent_name = $4
                           AND a.child_scope = k.scope AND a.child_name = k.name)
       ORDER BY k.ord LIMIT 1`,
      [scopes, names, parent.scope, parent.name],
    );
    if (missing.length) {
      const m = missing[0];
      throw invalidInput(`item ${m.ord - 1}: ${m.scope}:${m.name} is not attached to ${didKey(parent)}`, { item: m.ord - 1, scope: m.scope, name: m.name });
    }
    const [{ n }] = await tx.query(
      `WITH del AS (
         DELETE FROM attachments a USING unnest($1::text[], $2::text[]) AS k(scope, name)
         WHERE a.parent_scope = $3 AND a.parent_name = $4 AND a.child_scope = k.scope AND a.child_name = k.name
         RETURNING 1)
       SELECT count(*) AS n FROM del`,
      [scopes, names, parent.scope, parent.name],
    );
    return n;
  });
}

export interface ChildRow extends DidRow {
  parentScope: string;
  parentName: string;
}

export interface ParentRow extends DidRow {
  childScope: string;
  childName: string;
}

/** The parents of many DIDs in one statement. */
export async function parentsOf(db: EntityManager, keys: readonly DidKey[]): Promise<ParentRow[]> {
  return db.query(
    `SELECT ${DID_COLUMNS}, a.child_scope AS "childScope", a.child_name AS "childName"
     FROM unnest($1::text[], $2::text[]) AS k(scope, name)
     JOIN attachments a ON a.child_scope = k.scope AND a.child_name = k.name
     JOIN dids d ON d.scope = a.parent_scope AND d.name = a.parent_name
     ORDER BY d.scope, d.name`,
    [keys.map((k) => k.scope), keys.map((k) => k.name)],
  );
}

export interface ChildPageArgs {
  first?: number | null;
  after?: string | null;
}

/**
 * One page of the direct children of each of many parents, in one statement (a window per
 * parent), ordered by (scope, name). Returns limit + 1 rows per parent at most.
 */
export async function childrenOf(db: EntityManager, keys: readonly DidKey[], args: ChildPageArgs): Promise<ChildRow[]> {
  const limit = pageSize(args.first);
  const [afterScope, afterName] = args.after ? (decodeCursor(args.after, ["text", "text"]) as string[]) : [null, null];
  return db.query(
    `SELECT * FROM (
       SELECT ${DID_COLUMNS}, a.parent_scope AS "parentScope", a.parent_name AS "parentName",
              row_number() OVER (PARTITION BY a.parent_scope, a.parent_name ORDER BY d.scope, d.name) AS rn
       FROM unnest($1::text[], $2::text[]) AS k(scope, name)
       JOIN attachments a ON a.parent_scope = k.scope AND a.parent_name = k.name
       JOIN dids d ON d.scope = a.child_scope AND d.name = a.child_name
       WHERE $3::text IS NULL OR (d.scope, d.name) > ($3::text, $4::text)) x
     WHERE rn <= $5 ORDER BY scope, name`,
    [keys.map((k) => k.scope), keys.map((k) => k.name), afterScope, afterName, limit + 1],
  );
}

export async function countChildren(db: EntityManager, keys: readonly DidKey[]): Promise<Array<{ scope: string; name: string; n: number }>> {
  return db.query(
    `SELECT a.parent_scope AS scope, a.parent_name AS name, count(*) AS n
     FROM unnest($1::text[], $2::text[]) AS k(scope, name)
     JOIN attachments a ON a.parent_scope = k.scope AND a.parent_name = k.name GROUP BY 1, 2`,
    [keys.map((k) => k.scope), keys.map((k) => k.name)],
  );
}

/** All files below each root (recursively), tagged with the root they were reached from. */
const DESCENDANT_FILES = `
  WITH RECURSIVE tree(root_scope, root_name, scope, name) AS (
    SELECT k.scope, k.name, k.scope, k.name FROM unnest($1::text[], $2::text[]) AS k(scope, name)
    UNION
    SELECT t.root_scope, t.root_name, a.child_scope, a.child_name
    FROM attachments a JOIN tree t ON a.parent_scope = t.scope AND a.parent_name = t.name)
  SELECT DISTINCT t.root_scope, t.root_name, d.*
  FROM tree t JOIN dids d ON d.scope = t.scope AND d.name = t.name AND d.did_type = 'FILE'`;

export interface FileRow extends DidRow {
  rootScope: string;
  rootName: string;
}

/**
 * One page of the files below each of many datasets or containers (recursively), ordered by
 * (scope, name), in one statement. A file DID lists itself.
 */
export async function filesOf(db: EntityManager, keys: readonly DidKey[], args: ChildPageArgs): Promise<FileRow[]> {
  const limit = pageSize(args.first);
  const [afterScope, afterName] = args.after ? (decodeCursor(args.after, ["text", "text"]) as string[]) : [null, null];
  return db.query(
    `SELECT * FROM (
       SELECT ${DID_COLUMNS}, d.root_scope AS "rootScope", d.root_name AS "rootName",
              row_number() OVER (PARTITION BY d.root_scope, d.root_name ORDER BY d.scope, d.name) AS rn
       FROM (${DESCENDANT_FILES}) d
       WHERE $3::text IS NULL OR (d.scope, d.name) > ($3::text, $4::text)) x
     WHERE rn <= $5 ORDER BY scope, name`,
    [keys.map((k) => k.scope), keys.map((k) => k.name), afterScope, afterName, limit + 1],
  );
}

export async function countFiles(db: EntityManager, keys: readonly DidKey[]): Promise<Array<{ scope: string; name: string; n: number }>> {
  const rows: Array<{ scope: string; name: string; n: number }> = await db.query(
    `SELECT d.root_scope AS scope, d.root_name AS name, count(*) AS n FROM (${DESCENDANT_FILES}) d GROUP BY 1, 2`,
    [keys.map((k) => k.scope), keys.map((k) => k.name)],
  );
  return rows;
}
