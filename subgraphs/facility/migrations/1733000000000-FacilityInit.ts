import { MigrationInterface, QueryRunner } from "typeorm";
import { primaryKeyField } from "../dimension-universe";
import { DATASET_DIMENSION_COLUMNS, dimensionTablesDdl, q, SQL_TYPES } from "../dimension-tables";

/**
 * The facility's Butler registry view: dimension records (one table per element of the daf_butler
 * universe v8, generated from dimension-universe.ts, which is frozen at that version), dataset
 * types, collections (RUN, TAGGED, CHAINED, CALIBRATION), datasets and their file records.
 */
export class FacilityInit1733000000000 implements MigrationInterface {
  name = "FacilityInit1733000000000";

  async up(q_: QueryRunner): Promise<void> {
    for (const ddl of dimensionTablesDdl()) await q_.query(ddl);
    await q_.query(`CREATE TYPE collection_type AS ENUM ('RUN', 'TAGGED', 'CHAINED', 'CALIBRATION')`);
    await q_.query(`
      CREATE TABLE collections (
        id             serial PRIMARY KEY,
        name           text NOT NULL UNIQUE,
        type           collection_type NOT NULL,
        doc            text,
        host           text,
        timespan_begin timestamptz,
        timespan_end   timestamptz,
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await q_.query(`
      CREATE TABLE collection_chains (
        parent_id integer NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        position  integer NOT NULL,
        child_id  integer NOT NULL REFERENCES collections(id),
        PRIMARY KEY (parent_id, position)
      )`);
    await q_.query(`CREATE INDEX collection_chains_child ON collection_chains (child_id)`);
    await q_.query(`
      CREATE TABLE dataset_types (
        id             serial PRIMARY KEY,
        name           text NOT NULL UNIQUE,
        dimensions     text[] NOT NULL,
        storage_class  text NOT NULL,
        is_calibration boolean NOT NULL DEFAULT false,
        components     text[] NOT NULL DEFAULT '{}',
        created_at     timestamptz NOT NULL DEFAULT now()
      )`);
    // The full data ID (required and implied values) is kept twice: as jsonb (all keys, skypix too)
    // and in one typed, indexed column per non-skypix dimension, which `where` expressions use.
    const dimColumns = DATASET_DIMENSION_COLUMNS.map((d) => `${q(d)} ${SQL_TYPES[primaryKeyField(d).type]}`);
    await q_.query(`
      CREATE TABLE datasets (
        id              uuid PRIMARY KEY,
        dataset_type_id integer NOT NULL REFERENCES dataset_types(id),
        run_id          integer NOT NULL REFERENCES collections(id),
        data_id         jsonb NOT NULL,
        ${dimColumns.join(",\n        ")},
        ingest_date     timestamptz NOT NULL DEFAULT now(),
        UNIQUE (dataset_type_id, run_id, data_id)
      )`);
    await q_.query(`CREATE INDEX datasets_run ON datasets (run_id, dataset_type_id)`);
    for (const d of DATASET_DIMENSION_COLUMNS) await q_.query(`CREATE INDEX datasets_dim_${d} ON datasets (${q(d)})`);
    await q_.query(`
      CREATE TABLE tagged (
        collection_id   integer NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        dataset_id      uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        dataset_type_id integer NOT NULL,
        data_id         jsonb NOT NULL,
        PRIMARY KEY (collection_id, dataset_id),
        UNIQUE (collection_id, dataset_type_id, data_id)
      )`);
    await q_.query(`CREATE INDEX tagged_dataset ON tagged (dataset_id)`);
    await q_.query(`
      CREATE TABLE calibs (
        id              bigserial PRIMARY KEY,
        collection_id   integer NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        dataset_id      uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        dataset_type_id integer NOT NULL,
        data_id         jsonb NOT NULL,
        validity_begin  timestamptz,
        validity_end    timestamptz,
        CHECK (validity_begin IS NULL OR validity_end IS NULL OR validity_begin < validity_end)
      )`);
    await q_.query(`CREATE INDEX calibs_lookup ON calibs (collection_id, dataset_type_id, data_id)`);
    await q_.query(`CREATE INDEX calibs_dataset ON calibs (dataset_id)`);
    await q_.query(`
      CREATE TABLE file_records (
        dataset_id    uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        component     text NOT NULL DEFAULT '',
        path          text NOT NULL,
        formatter     text NOT NULL DEFAULT '',
        storage_class text NOT NULL,
        checksum      text,
        file_size     bigint CHECK (file_size >= 0),
        did_scope     text,
        did_name      text,
        PRIMARY KEY (dataset_id, component)
      )`);
    await q_.query(`CREATE INDEX file_records_did ON file_records (did_scope, did_name) WHERE did_scope IS NOT NULL`);
  }

  async down(q_: QueryRunner): Promise<void> {
    for (const t of ["file_records", "calibs", "tagged", "datasets", "dataset_types", "collection_chains", "collections"]) {
      await q_.query(`DROP TABLE ${t}`);
    }
    await q_.query(`DROP TYPE collection_type`);
    const tables: Array<{ table_name: string }> = await q_.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'dim\\_%'`,
    );
    for (const t of tables) await q_.query(`DROP TABLE ${q(t.table_name)} CASCADE`);
  }
}
