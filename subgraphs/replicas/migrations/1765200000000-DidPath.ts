import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A file's own path at every RSE (`dids.path`): a Large File Annex object keeps its object key
 * wherever it is replicated, instead of Rucio's deterministic `<scope>/<md5[0:2]>/<md5[2:4]>/<name>`
 * (set by announceLargeFile; null for every other DID).
 */
export class DidPath1765200000000 implements MigrationInterface {
  name = "DidPath1765200000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE dids ADD COLUMN path text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE dids DROP COLUMN path`);
  }
}
