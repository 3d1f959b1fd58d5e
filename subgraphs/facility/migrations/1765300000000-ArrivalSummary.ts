import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * For the ingest summary (arrival/arrival-summary.ts): the files not (yet) ingested are few and
 * counted from a small partial index by state and error code; those ingested within a window are
 * found by when they changed.
 */
export class ArrivalSummary1765300000000 implements MigrationInterface {
  name = "ArrivalSummary1765300000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX arrivals_open ON arrivals (state, error_code) WHERE state IN ('PENDING', 'FAILED')`);
    await q.query(`CREATE INDEX arrivals_updated ON arrivals (updated_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX arrivals_updated`);
    await q.query(`DROP INDEX arrivals_open`);
  }
}
