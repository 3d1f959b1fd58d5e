import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Indexes for the status page's aggregates (transfer-stats.ts), so that what it asks every few
 * seconds reads the recent rows, not the whole history: transfer outcomes of the last hours from
 * the event log, and requests finished within a window.
 */
export class StatusIndexes1765300000000 implements MigrationInterface {
  name = "StatusIndexes1765300000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX events_transfer_outcomes ON events (created_at) WHERE type IN ('transfer-done', 'transfer-failed')`);
    await q.query(`CREATE INDEX transfer_requests_finished ON transfer_requests (finished_at) WHERE finished_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX transfer_requests_finished`);
    await q.query(`DROP INDEX events_transfer_outcomes`);
  }
}
