import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Campaign removal: a request to retire runs, collections or DIDs (who asked, why, where), the
 * files it resolved to, and per facility and replica what it plans, deleted or kept (and why).
 * A replica the removal tombstoned carries its id, so the deletion agents' reports count toward it.
 */
export class Removals1765100000000 implements MigrationInterface {
  name = "Removals1765100000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TYPE removal_state AS ENUM ('PLANNED', 'RUNNING', 'DONE', 'CANCELLED')`);
    await q.query(`
      CREATE TABLE removals (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        requested_by  text NOT NULL,
        reason        text NOT NULL,
        origin        text NOT NULL DEFAULT 'request' CHECK (origin IN ('request', 'expiry')),
        state         removal_state NOT NULL DEFAULT 'PLANNED',
        runs          text[] NOT NULL DEFAULT '{}',
        collections   text[] NOT NULL DEFAULT '{}',
        dids          jsonb NOT NULL DEFAULT '[]',
        facilities    text[],
        rules_removed integer NOT NULL DEFAULT 0,
        cancelled_by  text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz
      )`);
    await q.query(`CREATE INDEX removals_created ON removals (created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX removals_open ON removals (created_at) WHERE state IN ('PLANNED', 'RUNNING')`);
    // Per facility: has the facility said which files its runs and collections hold, and how far its deletions are.
    await q.query(`
      CREATE TABLE removal_facilities (
        removal_id          uuid NOT NULL REFERENCES removals(id) ON DELETE CASCADE,
        facility            text NOT NULL REFERENCES facilities(code),
        resolved            boolean NOT NULL DEFAULT false,
        state               text NOT NULL DEFAULT 'DELETING' CHECK (state IN ('DELETING', 'FINISHING', 'DONE', 'CANCELLED')),
        resolve_attempts    integer NOT NULL DEFAULT 0,
        next_resolve_at     timestamptz,
        datasets_removed    integer,
        collections_removed integer NOT NULL DEFAULT 0,
        errors              integer NOT NULL DEFAULT 0,
        last_error          text,
        last_error_at       timestamptz,
        updated_at          timestamptz NOT NULL DEFAULT now(),
        finished_at         timestamptz,
        PRIMARY KEY (removal_id, facility)
      )`);
    await q.query(`CREATE INDEX removal_facilities_work ON removal_facilities (facility, state) WHERE state IN ('DELETING', 'FINISHING')`);
    // Every file the removal names or resolved to (the set its datasets and containers are judged against).
    await q.query(`
      CREATE TABLE removal_candidates (
        removal_id uuid NOT NULL REFERENCES removals(id) ON DELETE CASCADE,
        scope      text NOT NULL,
        name       text NOT NULL,
        PRIMARY KEY (removal_id, scope, name)
      )`);
    // Per replica at the removal's facilities: PLANNED (tombstoned for it), DELETED, KEPT (with the reason) or CANCELLED.
    await q.query(`
      CREATE TABLE removal_files (
        removal_id uuid NOT NULL REFERENCES removals(id) ON DELETE CASCADE,
        scope      text NOT NULL,
        name       text NOT NULL,
        rse_id     uuid NOT NULL REFERENCES rses(id),
        facility   text NOT NULL,
        bytes      bigint NOT NULL DEFAULT 0,
        state      text NOT NULL CHECK (state IN ('PLANNED', 'DELETED', 'KEPT', 'CANCELLED')),
        reason     text,
        rule_id    uuid,
        attempts   integer NOT NULL DEFAULT 0,
        last_error text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (removal_id, scope, name, rse_id)
      )`);
    await q.query(`CREATE INDEX removal_files_replica ON removal_files (scope, name, rse_id) WHERE state = 'PLANNED'`);
    await q.query(`CREATE INDEX removal_files_progress ON removal_files (removal_id, facility, state)`);
    await q.query(`ALTER TABLE replicas ADD COLUMN removal_id uuid REFERENCES removals(id) ON DELETE SET NULL`);
    await q.query(`CREATE INDEX replicas_removal ON replicas (removal_id) WHERE removal_id IS NOT NULL`);
    // The judge finds DIDs past their lifetime.
    await q.query(`CREATE INDEX dids_expired ON dids (expired_at) WHERE expired_at IS NOT NULL AND NOT obsolete`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX dids_expired`);
    await q.query(`ALTER TABLE replicas DROP COLUMN removal_id`);
    await q.query(`DROP TABLE removal_files`);
    await q.query(`DROP TABLE removal_candidates`);
    await q.query(`DROP TABLE removal_facilities`);
    await q.query(`DROP TABLE removals`);
    await q.query(`DROP TYPE removal_state`);
  }
}
