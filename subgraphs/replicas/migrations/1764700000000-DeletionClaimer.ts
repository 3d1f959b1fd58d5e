import { MigrationInterface, QueryRunner } from "typeorm";

/** Who holds a deletion lease: only that agent may report or heartbeat it (as claimed_by for transfers). */
export class DeletionClaimer1764700000000 implements MigrationInterface {
  name = "DeletionClaimer1764700000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE replicas ADD COLUMN deletion_claimed_by text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE replicas DROP COLUMN deletion_claimed_by`);
  }
}
