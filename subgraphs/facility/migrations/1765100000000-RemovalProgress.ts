import { MigrationInterface, QueryRunner } from "typeorm";

/** What this facility's registry removed for each campaign removal of the catalog (datasets, runs, collections). */
export class RemovalProgress1765100000000 implements MigrationInterface {
  name = "RemovalProgress1765100000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE removal_progress (
        removal_id          uuid PRIMARY KEY,
        datasets_removed    integer NOT NULL DEFAULT 0,
        runs_removed        integer NOT NULL DEFAULT 0,
        collections_removed integer NOT NULL DEFAULT 0,
        updated_at          timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE removal_progress`);
  }
}
