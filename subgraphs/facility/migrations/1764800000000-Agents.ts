import { MigrationInterface, QueryRunner } from "typeorm";

/** The facility's transfer agents as they last reported themselves (Facility.agents). */
export class Agents1764800000000 implements MigrationInterface {
  name = "Agents1764800000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agents (
        id                text PRIMARY KEY,
        subject           text NOT NULL,
        host              text NOT NULL,
        pid               integer NOT NULL,
        version           text NOT NULL,
        streams           integer NOT NULL,
        active_transfers  integer NOT NULL DEFAULT 0,
        bytes_per_second  double precision NOT NULL DEFAULT 0,
        bytes_total       bigint NOT NULL DEFAULT 0,
        transfers_done    bigint NOT NULL DEFAULT 0,
        transfers_failed  bigint NOT NULL DEFAULT 0,
        deletions_done    bigint NOT NULL DEFAULT 0,
        recent_errors     jsonb NOT NULL DEFAULT '[]',
        report_seconds    double precision NOT NULL,
        started_at        timestamptz NOT NULL DEFAULT now(),
        last_seen         timestamptz NOT NULL DEFAULT now(),
        stopped_at        timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agents`);
  }
}
