import { MigrationInterface, QueryRunner } from "typeorm";

/** The central replica catalog: facilities, RSEs, scopes, DIDs, attachments, replicas. */
export class CatalogInit1732400000000 implements MigrationInterface {
  name = "CatalogInit1732400000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TYPE did_type AS ENUM ('FILE', 'DATASET', 'CONTAINER')`);
    await q.query(`CREATE TYPE rse_kind AS ENUM ('S3', 'POSIX')`);
    await q.query(`CREATE TYPE replica_state AS ENUM ('AVAILABLE', 'COPYING', 'UNAVAILABLE', 'BEING_DELETED', 'BAD')`);
    await q.query(`
      CREATE TABLE facilities (
        code        text PRIMARY KEY,
        description text NOT NULL DEFAULT '',
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // FrDF and FRDF are one facility: codes are unique regardless of case.
    await q.query(`CREATE UNIQUE INDEX facilities_code_ci ON facilities (lower(code))`);
    await q.query(`
      CREATE TABLE rses (
        id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name               text NOT NULL,
        facility           text NOT NULL REFERENCES facilities(code),
        kind               rse_kind NOT NULL,
        endpoint           text,
        bucket             text,
        prefix             text NOT NULL DEFAULT '',
        root_path          text,
        attributes         jsonb NOT NULL DEFAULT '{}',
        availability_read  boolean NOT NULL DEFAULT true,
        availability_write boolean NOT NULL DEFAULT true,
        availability_delete boolean NOT NULL DEFAULT true,
        deleted            boolean NOT NULL DEFAULT false,
        deleted_at         timestamptz,
        account            text NOT NULL,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT rse_protocol CHECK (
          (kind = 'S3' AND bucket IS NOT NULL AND endpoint IS NOT NULL) OR (kind = 'POSIX' AND root_path IS NOT NULL))
      )`);
    // A deleted RSE keeps its row (replica history points at it); its name may be reused.
    await q.query(`CREATE UNIQUE INDEX rses_live_name ON rses (name) WHERE NOT deleted`);
    await q.query(`CREATE INDEX rses_facility ON rses (facility)`);
    await q.query(`
      CREATE TABLE scopes (
        name       text PRIMARY KEY,
        account    text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE dids (
        scope      text NOT NULL REFERENCES scopes(name),
        name       text NOT NULL,
        did_type   did_type NOT NULL,
        account    text NOT NULL,
        bytes      bigint CHECK (bytes >= 0),
        adler32    text,
        md5        text,
        metadata   jsonb NOT NULL DEFAULT '{}',
        is_open    boolean NOT NULL DEFAULT true,
        expired_at timestamptz,
        obsolete   boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, name)
      )`);
    await q.query(`CREATE INDEX dids_metadata ON dids USING gin (metadata jsonb_path_ops)`);
    await q.query(`CREATE INDEX dids_type ON dids (scope, did_type, name)`);
    await q.query(`
      CREATE TABLE attachments (
        parent_scope text NOT NULL,
        parent_name  text NOT NULL,
        child_scope  text NOT NULL,
        child_name   text NOT NULL,
        account      text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (parent_scope, parent_name, child_scope, child_name),
        FOREIGN KEY (parent_scope, parent_name) REFERENCES dids(scope, name) ON DELETE CASCADE,
        FOREIGN KEY (child_scope, child_name) REFERENCES dids(scope, name) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX attachments_child ON attachments (child_scope, child_name)`);
    await q.query(`
      CREATE TABLE replicas (
        scope      text NOT NULL,
        name       text NOT NULL,
        rse_id     uuid NOT NULL REFERENCES rses(id),
        state      replica_state NOT NULL DEFAULT 'AVAILABLE',
        bytes      bigint NOT NULL CHECK (bytes >= 0),
        path       text NOT NULL,
        lock_cnt   integer NOT NULL DEFAULT 0 CHECK (lock_cnt >= 0),
        tombstone  timestamptz,
        account    text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, name, rse_id),
        FOREIGN KEY (scope, name) REFERENCES dids(scope, name)
      )`);
    await q.query(`CREATE INDEX replicas_rse_state ON replicas (rse_id, state, scope, name)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE replicas`);
    await q.query(`DROP TABLE attachments`);
    await q.query(`DROP TABLE dids`);
    await q.query(`DROP TABLE scopes`);
    await q.query(`DROP TABLE rses`);
    await q.query(`DROP TABLE facilities`);
    await q.query(`DROP TYPE replica_state`);
    await q.query(`DROP TYPE rse_kind`);
    await q.query(`DROP TYPE did_type`);
  }
}
