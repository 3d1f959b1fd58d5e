import { MigrationInterface, QueryRunner } from "typeorm";
import { DATASET_DIMENSION_COLUMNS } from "../dimension-tables";

const q = (name: string) => `"${name}"`;

/**
 * The datasets' index per dimension column holds only the rows that have a value there: most
 * dataset types leave most dimension columns empty (a raw has no visit, tract, patch, skymap,
 * subfilter or visit system), and every empty value was an index entry written at ingest and never
 * read (a data ID query asks `column = value`, which the partial index answers). Same names.
 */
export class PartialDimensionIndexes1765400000000 implements MigrationInterface {
  name = "PartialDimensionIndexes1765400000000";

  async up(qr: QueryRunner): Promise<void> {
    for (const d of DATASET_DIMENSION_COLUMNS) {
      await qr.query(`DROP INDEX IF EXISTS datasets_dim_${d}`);
      await qr.query(`CREATE INDEX datasets_dim_${d} ON datasets (${q(d)}) WHERE ${q(d)} IS NOT NULL`);
    }
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const d of DATASET_DIMENSION_COLUMNS) {
      await qr.query(`DROP INDEX IF EXISTS datasets_dim_${d}`);
      await qr.query(`CREATE INDEX datasets_dim_${d} ON datasets (${q(d)})`);
    }
  }
}
