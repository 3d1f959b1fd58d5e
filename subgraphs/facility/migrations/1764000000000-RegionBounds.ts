import { MigrationInterface, QueryRunner } from "typeorm";
import { DIMENSION_TABLES, q, REGION_BOUNDS } from "../dimension-tables";
import { regionColumns, StoredRecord } from "../dimension-record";

/**
 * Regions become searchable: every table of an element with a region gains the region's bounding
 * box (degrees), indexed, the prefilter of spatial where constraints. Regions stored before this
 * migration were kept as given; those that are sphgeom encodings get their box (and the canonical
 * lowercase hex); any other text keeps NULL bounds and never matches a spatial constraint.
 */
export class RegionBounds1764000000000 implements MigrationInterface {
  name = "RegionBounds1764000000000";

  async up(q_: QueryRunner): Promise<void> {
    for (const t of DIMENSION_TABLES.filter((x) => x.element.hasRegion)) {
      for (const column of Object.values(REGION_BOUNDS)) await q_.query(`ALTER TABLE ${t.table} ADD COLUMN ${q(column)} double precision`);
      await q_.query(`CREATE INDEX ${t.table}_region_lat ON ${t.table} (region_lat_min, region_lat_max)`);
      const rows: Array<{ key: string; region: string }> = await q_.query(`SELECT ctid::text AS key, region FROM ${t.table} WHERE region IS NOT NULL`);
      for (const row of rows) {
        let stored: StoredRecord;
        try {
          stored = regionColumns(row.region);
        } catch {
          continue;
        }
        const columns = Object.keys(stored);
        await q_.query(
          `UPDATE ${t.table} SET ${columns.map((c, i) => `${q(c)} = $${i + 2}`).join(", ")} WHERE ctid = $1::tid`,
          [row.key, ...columns.map((c) => stored[c])],
        );
      }
    }
  }

  async down(q_: QueryRunner): Promise<void> {
    for (const t of DIMENSION_TABLES.filter((x) => x.element.hasRegion)) {
      await q_.query(`DROP INDEX ${t.table}_region_lat`);
      for (const column of Object.values(REGION_BOUNDS)) await q_.query(`ALTER TABLE ${t.table} DROP COLUMN ${q(column)}`);
    }
  }
}
