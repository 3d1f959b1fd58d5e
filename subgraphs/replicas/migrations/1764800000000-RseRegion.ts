import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * An S3 RSE's region (request signing needs it: AWS regions, Ceph RGW zonegroups), and when an
 * agent claimed a transfer request (the duration and submitted_at of transfer-done events).
 */
export class RseRegion1764800000000 implements MigrationInterface {
  name = "RseRegion1764800000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rses ADD COLUMN region text`);
    await q.query(`ALTER TABLE transfer_requests ADD COLUMN submitted_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE rses DROP COLUMN region`);
    await q.query(`ALTER TABLE transfer_requests DROP COLUMN submitted_at`);
  }
}
