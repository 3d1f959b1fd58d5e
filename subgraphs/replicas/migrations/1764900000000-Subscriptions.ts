import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Subscriptions (policies): their definitions, the rules they created (one row per subscription,
 * template and DID, the key that makes matching idempotent), the matcher's cursor into the event
 * log, retroactive re-evaluation jobs, and a DID's sky position for set-based footprint matching.
 */
export class Subscriptions1764900000000 implements MigrationInterface {
  name = "Subscriptions1764900000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE subscriptions (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name           text NOT NULL UNIQUE,
        account        text NOT NULL,
        filter         jsonb NOT NULL,
        rules          jsonb NOT NULL,
        comment        text,
        active         boolean NOT NULL DEFAULT true,
        matched_dids   bigint NOT NULL DEFAULT 0,
        rules_created  bigint NOT NULL DEFAULT 0,
        last_processed timestamptz,
        last_error     text,
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
    // What each subscription created: the primary key is the idempotency key of matching.
    await q.query(`
      CREATE TABLE subscription_rules (
        subscription_id uuid NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
        template        integer NOT NULL,
        scope           text NOT NULL,
        name            text NOT NULL,
        rule_id         uuid NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subscription_id, template, scope, name)
      )`);
    await q.query(`ALTER TABLE rules ADD COLUMN subscription_id uuid REFERENCES subscriptions(id) ON DELETE SET NULL`);
    await q.query(`CREATE INDEX rules_subscription ON rules (subscription_id) WHERE subscription_id IS NOT NULL`);

    // The writing transaction's id on every event: a reader that only takes events of transactions
    // older than every running one (pg_snapshot_xmin) never skips an event that commits late.
    await q.query(`ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()`);
    await q.query(`CREATE INDEX events_did_txid ON events (txid, id) WHERE type IN ('did-registered', 'did-metadata-changed')`);
    await q.query(`
      CREATE TABLE subscription_matcher (
        id         integer PRIMARY KEY CHECK (id = 1),
        after_txid xid8 NOT NULL,
        after_id   bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`INSERT INTO subscription_matcher (id, after_txid, after_id) VALUES (1, '0', 0)`);

    await q.query(`CREATE TYPE subscription_job_state AS ENUM ('QUEUED', 'RUNNING', 'DONE', 'FAILED')`);
    await q.query(`
      CREATE TABLE subscription_jobs (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        subscription_id uuid NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
        account         text NOT NULL,
        state           subscription_job_state NOT NULL DEFAULT 'QUEUED',
        total           bigint,
        processed       bigint NOT NULL DEFAULT 0,
        matched         bigint NOT NULL DEFAULT 0,
        rules_created   bigint NOT NULL DEFAULT 0,
        after_scope     text,
        after_name      text,
        error           text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        finished_at     timestamptz
      )`);
    await q.query(`CREATE INDEX subscription_jobs_open ON subscription_jobs (created_at) WHERE state IN ('QUEUED', 'RUNNING')`);

    // A DID's position from its metadata ra/dec (degrees; ra normalized into [0, 360)), kept by
    // Postgres on every insert and metadata change; footprints narrow candidates on it in SQL.
    // CASE, not AND: Postgres does not promise the order of AND, and the casts must only see numbers.
    const ra = `(metadata ->> 'ra')::float8`;
    const dec = `(metadata ->> 'dec')::float8`;
    const position = (value: string) =>
      `CASE WHEN jsonb_typeof(metadata -> 'ra') = 'number' AND jsonb_typeof(metadata -> 'dec') = 'number'
            THEN CASE WHEN ${dec} BETWEEN -90 AND 90 THEN ${value} END END`;
    await q.query(`ALTER TABLE dids
      ADD COLUMN sky_ra float8 GENERATED ALWAYS AS (${position(`${ra} - 360 * floor(${ra} / 360)`)}) STORED,
      ADD COLUMN sky_dec float8 GENERATED ALWAYS AS (${position(dec)}) STORED`);
    await q.query(`CREATE INDEX dids_sky ON dids (sky_dec, sky_ra) WHERE sky_dec IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE dids DROP COLUMN sky_ra, DROP COLUMN sky_dec`);
    await q.query(`DROP TABLE subscription_jobs`);
    await q.query(`DROP TYPE subscription_job_state`);
    await q.query(`DROP TABLE subscription_matcher`);
    await q.query(`DROP INDEX events_did_txid`);
    await q.query(`ALTER TABLE events DROP COLUMN txid`);
    await q.query(`ALTER TABLE rules DROP COLUMN subscription_id`);
    await q.query(`DROP TABLE subscription_rules`);
    await q.query(`DROP TABLE subscriptions`);
  }
}
