import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Files that arrived at this facility and what became of them in its Butler (ingest on arrival):
 * one row per DID, its state (PENDING → INGESTED | FAILED | NOT_A_DATASET), the last error's
 * code and message, attempts, when to try again, and the dataset it became. `plan` (what to
 * ingest, small) and `input` (what arrived, kept only when it could not be planned) serve the
 * retries and are cleared once the file is ingested.
 */
export class Arrivals1765000000000 implements MigrationInterface {
  name = "Arrivals1765000000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TYPE arrival_state AS ENUM ('PENDING', 'INGESTED', 'FAILED', 'NOT_A_DATASET')`);
    await q.query(`
      CREATE TABLE arrivals (
        scope           text NOT NULL,
        name            text NOT NULL,
        rse             text NOT NULL,
        path            text NOT NULL,
        bytes           bigint CHECK (bytes >= 0),
        source          text,
        state           arrival_state NOT NULL DEFAULT 'PENDING',
        error_code      text,
        error_message   text,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        dataset_id      uuid,
        plan            jsonb,
        input           jsonb,
        arrived_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, name)
      )`);
    await q.query(`CREATE INDEX arrivals_due ON arrivals (next_attempt_at) WHERE state IN ('PENDING', 'FAILED') AND next_attempt_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE arrivals`);
    await q.query(`DROP TYPE arrival_state`);
  }
}
