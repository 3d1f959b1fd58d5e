import { MigrationInterface, QueryRunner } from "typeorm";

/** Liveness of the catalog processes sharing one database: one row a process, beating. */
export class CatalogWorkers1764600000000 implements MigrationInterface {
  name = "CatalogWorkers1764600000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE catalog_workers (
        id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        host       text NOT NULL,
        pid        integer NOT NULL,
        version    text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        last_beat  timestamptz NOT NULL DEFAULT now(),
        stopped_at timestamptz
      )`);
    await q.query(`CREATE INDEX catalog_workers_beat ON catalog_workers (last_beat)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE catalog_workers`);
  }
}
