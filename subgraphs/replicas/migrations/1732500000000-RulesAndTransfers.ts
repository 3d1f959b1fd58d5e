import { MigrationInterface, QueryRunner } from "typeorm";

/** Replication rules, their locks, transfer requests, deletion bookkeeping and the event log. */
export class RulesAndTransfers1732500000000 implements MigrationInterface {
  name = "RulesAndTransfers1732500000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TYPE rule_grouping AS ENUM ('ALL', 'DATASET', 'NONE')`);
    await q.query(`CREATE TYPE rule_state AS ENUM ('OK', 'REPLICATING', 'STUCK', 'SUSPENDED')`);
    await q.query(`CREATE TYPE lock_state AS ENUM ('OK', 'REPLICATING', 'STUCK')`);
    await q.query(`CREATE TYPE request_state AS ENUM ('QUEUED', 'SUBMITTED', 'DONE', 'FAILED')`);

    // Replicas get an id (deletion work is handed out by it) and a deletion lease.
    await q.query(`ALTER TABLE replicas ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid()`);
    await q.query(`CREATE UNIQUE INDEX replicas_id ON replicas (id)`);
    await q.query(`ALTER TABLE replicas ADD COLUMN deletion_lease uuid, ADD COLUMN deletion_lease_expires_at timestamptz`);
    await q.query(`CREATE INDEX replicas_due ON replicas (rse_id, tombstone) WHERE tombstone IS NOT NULL AND lock_cnt = 0`);

    await q.query(`
      CREATE TABLE rules (
        id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        scope                     text NOT NULL,
        name                      text NOT NULL,
        account                   text NOT NULL,
        rse_expression            text NOT NULL,
        copies                    integer NOT NULL CHECK (copies >= 1),
        grouping                  rule_grouping NOT NULL DEFAULT 'DATASET',
        source_replica_expression text,
        source_rse_ids            uuid[],
        expires_at                timestamptz,
        activity                  text NOT NULL DEFAULT 'default',
        priority                  integer NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
        purge_replicas            boolean NOT NULL DEFAULT false,
        locked                    boolean NOT NULL DEFAULT false,
        comment                   text,
        state                     rule_state NOT NULL DEFAULT 'REPLICATING',
        locks_ok_cnt              integer NOT NULL DEFAULT 0,
        locks_replicating_cnt     integer NOT NULL DEFAULT 0,
        locks_stuck_cnt           integer NOT NULL DEFAULT 0,
        error                     text,
        created_at                timestamptz NOT NULL DEFAULT now(),
        updated_at                timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (scope, name) REFERENCES dids(scope, name)
      )`);
    await q.query(`CREATE INDEX rules_did ON rules (scope, name)`);
    await q.query(`CREATE INDEX rules_state ON rules (state)`);
    await q.query(`CREATE INDEX rules_expires ON rules (expires_at) WHERE expires_at IS NOT NULL`);

    await q.query(`
      CREATE TABLE locks (
        rule_id    uuid NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
        scope      text NOT NULL,
        name       text NOT NULL,
        rse_id     uuid NOT NULL REFERENCES rses(id),
        state      lock_state NOT NULL,
        bytes      bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (rule_id, scope, name, rse_id)
      )`);
    await q.query(`CREATE INDEX locks_replica ON locks (scope, name, rse_id)`);

    await q.query(`
      CREATE TABLE transfer_requests (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        scope            text NOT NULL,
        name             text NOT NULL,
        dest_rse_id      uuid NOT NULL REFERENCES rses(id),
        source_rse_id    uuid REFERENCES rses(id),
        source_rse_ids   uuid[],
        rule_id          uuid REFERENCES rules(id) ON DELETE SET NULL,
        state            request_state NOT NULL DEFAULT 'QUEUED',
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        last_error       text,
        error_code       text,
        bytes            bigint NOT NULL DEFAULT 0,
        activity         text NOT NULL DEFAULT 'default',
        priority         integer NOT NULL DEFAULT 3,
        lease            uuid,
        lease_expires_at timestamptz,
        claimed_by       text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        finished_at      timestamptz,
        FOREIGN KEY (scope, name) REFERENCES dids(scope, name)
      )`);
    // At most one live request per file and destination, whatever number of rules want it there.
    await q.query(`CREATE UNIQUE INDEX transfer_requests_live ON transfer_requests (scope, name, dest_rse_id) WHERE state IN ('QUEUED', 'SUBMITTED')`);
    await q.query(`CREATE INDEX transfer_requests_queue ON transfer_requests (dest_rse_id, priority DESC, created_at) WHERE state = 'QUEUED'`);
    await q.query(`CREATE INDEX transfer_requests_leases ON transfer_requests (lease_expires_at) WHERE state = 'SUBMITTED'`);
    await q.query(`CREATE INDEX transfer_requests_rule ON transfer_requests (rule_id)`);
    await q.query(`CREATE INDEX transfer_requests_lease ON transfer_requests (lease) WHERE lease IS NOT NULL`);

    await q.query(`
      CREATE TABLE events (
        id         bigserial PRIMARY KEY,
        type       text NOT NULL,
        facility   text,
        payload    jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX events_type ON events (type, id)`);
    await q.query(`CREATE INDEX events_facility ON events (facility, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE events`);
    await q.query(`DROP TABLE transfer_requests`);
    await q.query(`DROP TABLE locks`);
    await q.query(`DROP TABLE rules`);
    await q.query(`DROP INDEX replicas_due`);
    await q.query(`ALTER TABLE replicas DROP COLUMN deletion_lease, DROP COLUMN deletion_lease_expires_at, DROP COLUMN id`);
    await q.query(`DROP TYPE request_state`);
    await q.query(`DROP TYPE lock_state`);
    await q.query(`DROP TYPE rule_state`);
    await q.query(`DROP TYPE rule_grouping`);
  }
}
