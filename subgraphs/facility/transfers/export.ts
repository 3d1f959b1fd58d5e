import type { EntityManager } from "typeorm";
import { allCollections, CollectionRow } from "../collection";
import { DatasetQuery, DatasetRow, fileRecordsOf, queryDatasets } from "../dataset";
import { datasetTypesById } from "../dataset-type";
import { recordsByKeys, recordsPopulatedBy } from "../dimension-record";
import { DIMENSION_TABLES } from "../dimension-tables";
import { UNIVERSE_NAMESPACE, UNIVERSE_VERSION } from "../dimension-universe";
import { dateToMicros, formatTaiIso } from "../time";
import { stringifyButlerYaml, YamlRegion, YamlTaiTime, YamlTimespan, YamlUuid } from "./butler-yaml";

/**
 * Writes daf_butler's YAML export format (what `butler import` reads): the dimension records the
 * datasets' data IDs use, their RUN collections (and the TAGGED, CALIBRATION and CHAINED
 * collections named in the query, with their associations and chains), dataset types and datasets
 * with their file paths and formatters. Times are written as daf_butler writes them (TAI), regions
 * as sphgeom's YAML representer does (`!<lsst.sphgeom.ConvexPolygon> {encoded: hex}`).
 */

const EXPORT_FORMAT_VERSION = "1.0.2";

const tai = (d: unknown) => (d instanceof Date ? new YamlTaiTime(formatTaiIso(dateToMicros(d))) : null);

/** All datasets a query matches (page by page). */
async function allDatasets(db: EntityManager, query: DatasetQuery): Promise<DatasetRow[]> {
  const out: DatasetRow[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await queryDatasets(db, { ...query, first: 10000, after });
    out.push(...page.nodes);
    if (!page.hasNextPage) return out;
    after = page.cursors[page.cursors.length - 1];
  }
}

export async function exportButlerYaml(db: EntityManager, query: DatasetQuery): Promise<string> {
  const datasets = await allDatasets(db, query);
  const ids = datasets.map((d) => d.id);
  const data: Array<Record<string, unknown>> = [];

  // Dimension records, in universe order, for every dimension value the data IDs use, and the
  // records of the elements those dimensions populate (a visit's visit_definition and
  // visit_detector_region rows), as daf_butler exports them.
  const exported = new Map<string, unknown[][]>();
  for (const t of DIMENSION_TABLES) {
    let rows: Array<Record<string, unknown>>;
    if (t.element.kind === "dimension") {
      const keys = new Map<string, unknown[]>();
      for (const d of datasets) {
        if (d.dataId[t.element.name] === undefined) continue;
        const key = t.keyDimensions.map((dim) => d.dataId[dim]);
        if (key.every((v) => v !== undefined)) keys.set(JSON.stringify(key), key);
      }
      if (!keys.size) continue;
      rows = await recordsByKeys(db, t.element.name, [...keys.values()]);
      exported.set(t.element.name, rows.map((row) => t.primaryKey.map((k) => row[k])));
    } else {
      const by = t.element.populatedBy;
      const keys = by ? exported.get(by) : undefined;
      if (!by || !keys?.length) continue;
      rows = await recordsPopulatedBy(db, t.element.name, by, keys);
      if (!rows.length) continue;
    }
    data.push({
      type: "dimension",
      element: t.element.name,
      records: rows.map((row) => {
        const rec: Record<string, unknown> = {};
        for (const c of t.columns) {
          if (c.role === "timespan" || c.role === "bounds") continue;
          const v = row[c.name];
          if (c.role === "region") {
            rec[c.name] = typeof v === "string" ? new YamlRegion(v) : null;
            continue;
          }
          rec[c.name] = c.type === "hash" && typeof v === "string" ? Buffer.from(v, "hex") : v instanceof Date ? tai(v) : (v ?? null);
        }
        if (t.element.hasTimespan && (row.timespan_begin !== null || row.timespan_end !== null)) {
          rec.datetime_begin = tai(row.timespan_begin);
          rec.datetime_end = tai(row.timespan_end);
        }
        return rec;
      }),
    });
  }

  // Collections: the runs, and the non-run collections the query named (chains with their children).
  const all = await allCollections(db);
  const byId = new Map(all.map((c) => [c.id, c]));
  const byName = new Map(all.map((c) => [c.name, c]));
  const wanted = new Map<string, CollectionRow>();
  for (const d of datasets) wanted.set(d.run, byName.get(d.run)!);
  const visit = (c: CollectionRow) => {
    if (wanted.has(c.name) && c.type !== "RUN") return;
    wanted.set(c.name, c);
    if (c.type === "CHAINED") for (const child of c.children) visit(byId.get(child)!);
  };
  for (const name of query.collections ?? []) {
    const c = byName.get(name);
    if (c) visit(c);
  }
  const ordered = [...wanted.values()].sort((a, b) => (a.type === "RUN" ? 0 : 1) - (b.type === "RUN" ? 0 : 1) || (a.name < b.name ? -1 : 1));
  for (const c of ordered) {
    const entry: Record<string, unknown> = { type: "collection", collection_type: c.type, name: c.name };
    if (c.doc) entry.doc = c.doc;
    if (c.type === "RUN") Object.assign(entry, { host: null, timespan_begin: null, timespan_end: null });
    if (c.type === "CHAINED") entry.children = c.children.map((id) => byId.get(id)!.name);
    data.push(entry);
  }

  // Dataset types and datasets, grouped by (type, run); datasets sharing a file are one record.
  const types = new Map((await datasetTypesById(db, [...new Set(datasets.map((d) => d.datasetTypeId))])).map((t) => [t.id, t]));
  const files = await fileRecordsOf(db, ids);
  const pathOf = new Map<string, { path: string; formatter: string }>();
  for (const f of files) if (!f.component || !pathOf.has(f.datasetId)) pathOf.set(f.datasetId, { path: f.path, formatter: f.formatter });
  const groups = new Map<string, DatasetRow[]>();
  for (const d of datasets) {
    const k = JSON.stringify([d.datasetType, d.run]);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(d);
  }
  const typeWritten = new Set<number>();
  for (const [k, rows] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [typeName, run] = JSON.parse(k) as [string, string];
    const t = types.get(rows[0].datasetTypeId)!;
    if (!typeWritten.has(t.id)) {
      typeWritten.add(t.id);
      data.push({ type: "dataset_type", name: typeName, dimensions: t.dimensions, storage_class: t.storageClass, is_calibration: t.isCalibration });
    }
    const byPath = new Map<string, { ids: string[]; dataIds: Array<Record<string, unknown>>; formatter: string; path: string | null }>();
    for (const d of rows) {
      const f = pathOf.get(d.id);
      const key = f ? f.path : `no-file:${d.id}`;
      if (!byPath.has(key)) byPath.set(key, { ids: [], dataIds: [], formatter: f?.formatter ?? "", path: f?.path ?? null });
      byPath.get(key)!.ids.push(d.id);
      byPath.get(key)!.dataIds.push(d.dataId);
    }
    data.push({
      type: "dataset",
      dataset_type: typeName,
      run,
      records: [...byPath.values()].map((r) => ({
        dataset_id: r.ids.map((id) => new YamlUuid(id)),
        data_id: r.dataIds,
        path: r.path,
        formatter: r.formatter || null,
      })),
    });
  }

  // Associations of the exported datasets in the TAGGED and CALIBRATION collections exported.
  for (const c of ordered) {
    if (c.type === "TAGGED") {
      const rows: Array<{ id: string }> = await db.query(`SELECT dataset_id::text AS id FROM tagged WHERE collection_id = $1 AND dataset_id = ANY($2::uuid[]) ORDER BY dataset_id`, [c.id, ids]);
      if (rows.length) data.push({ type: "associations", collection: c.name, collection_type: "TAGGED", dataset_ids: rows.map((r) => new YamlUuid(r.id)) });
    } else if (c.type === "CALIBRATION") {
      const rows: Array<{ id: string; begin: Date | null; end: Date | null }> = await db.query(
        `SELECT dataset_id::text AS id, validity_begin AS begin, validity_end AS end FROM calibs WHERE collection_id = $1 AND dataset_id = ANY($2::uuid[]) ORDER BY validity_begin NULLS FIRST, dataset_id`,
        [c.id, ids],
      );
      const ranges = new Map<string, { timespan: YamlTimespan; dataset_ids: YamlUuid[] }>();
      for (const r of rows) {
        const k = `${r.begin?.toISOString() ?? ""}/${r.end?.toISOString() ?? ""}`;
        if (!ranges.has(k)) ranges.set(k, { timespan: new YamlTimespan(tai(r.begin), tai(r.end)), dataset_ids: [] });
        ranges.get(k)!.dataset_ids.push(new YamlUuid(r.id));
      }
      if (ranges.size) data.push({ type: "associations", collection: c.name, collection_type: "CALIBRATION", validity_ranges: [...ranges.values()] });
    }
  }

  return stringifyButlerYaml({
    description: "Butler Data Repository Export",
    version: EXPORT_FORMAT_VERSION,
    universe_version: UNIVERSE_VERSION,
    universe_namespace: UNIVERSE_NAMESPACE,
    data,
  });
}
