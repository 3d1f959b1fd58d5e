import type { EntityManager } from "typeorm";
import { invalidInput } from "../../lib/errors";
import { element, groupRequired, hasElement, impliedClosure } from "./dimension-universe";
import { facilityError, FacilityErrorCode } from "./errors";
import { checkDatasetTypeName, compileGlob, isGlob } from "./names";

/**
 * Dataset types: a name, the dimensions of its data IDs, a storage class, whether it is a
 * calibration (certified into CALIBRATION collections with validity ranges), and its components.
 * Registering an existing type with the same definition is a no-op; a different one is
 * DATASET_TYPE_CONFLICT (as daf_butler's registerDatasetType).
 */

export interface DatasetTypeRow {
  id: number;
  name: string;
  /** The full dimension group (required and implied), in universe order. */
  dimensions: string[];
  storageClass: string;
  isCalibration: boolean;
  components: string[];
}

export interface DatasetTypeInput {
  name: string;
  dimensions: string[];
  storageClass: string;
  isCalibration?: boolean | null;
  components?: string[] | null;
}

const COLUMNS = `id, name, dimensions, storage_class AS "storageClass", is_calibration AS "isCalibration", components`;

/** The required dimensions of a dataset type: the keys of its minimal data ID. */
export function requiredDimensions(t: Pick<DatasetTypeRow, "dimensions">): string[] {
  return groupRequired(t.dimensions);
}

export function checkDatasetType(input: DatasetTypeInput, details: Record<string, unknown> = {}): Omit<DatasetTypeRow, "id"> {
  const name = checkDatasetTypeName(input.name, details);
  if (name.includes(".")) throw invalidInput(`'${name}' is a component dataset type; register its parent '${name.split(".")[0]}' with components`, details);
  if (!Array.isArray(input.dimensions)) throw invalidInput(`dataset type ${name}: dimensions must be a list of dimension names`, details);
  for (const d of input.dimensions) {
    if (typeof d !== "string" || !hasElement(d) || element(d).kind === "element") {
      throw facilityError(FacilityErrorCode.INVALID_DATA_ID, `dataset type ${name}: '${String(d)}' is not a dimension of universe daf_butler v8`, {
        ...details,
        dimension: d,
      });
    }
  }
  if (typeof input.storageClass !== "string" || !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(input.storageClass)) {
    throw invalidInput(`dataset type ${name}: storage class must be a name such as ExposureF or StructuredDataDict`, details);
  }
  const components = [...new Set(input.components ?? [])];
  for (const c of components) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(c)) throw invalidInput(`dataset type ${name}: invalid component name '${c}'`, details);
  }
  return {
    name,
    dimensions: impliedClosure(input.dimensions),
    storageClass: input.storageClass,
    isCalibration: input.isCalibration ?? false,
    components: components.sort(),
  };
}

function sameDefinition(a: Omit<DatasetTypeRow, "id">, b: Omit<DatasetTypeRow, "id">): string | null {
  if (a.dimensions.join(",") !== b.dimensions.join(",")) return `dimensions {${b.dimensions.join(", ")}} instead of {${a.dimensions.join(", ")}}`;
  if (a.storageClass !== b.storageClass) return `storage class ${b.storageClass} instead of ${a.storageClass}`;
  if (a.isCalibration !== b.isCalibration) return `isCalibration ${b.isCalibration} instead of ${a.isCalibration}`;
  return null;
}

/**
 * Registers dataset types (set-based, one transaction of the caller); existing ones must match.
 * Components are merged. Returns the rows in input order.
 */
export async function registerDatasetTypes(db: EntityManager, inputs: DatasetTypeInput[], argument = "datasetTypes"): Promise<DatasetTypeRow[]> {
  if (!inputs.length) return [];
  const items = inputs.map((t, item) => checkDatasetType(t, { item, argument }));
  const seen = new Map<string, number>();
  items.forEach((t, i) => {
    const earlier = seen.get(t.name);
    if (earlier !== undefined) {
      const why = sameDefinition(items[earlier], t);
      if (why) throw facilityError(FacilityErrorCode.DATASET_TYPE_CONFLICT, `item ${i}: dataset type ${t.name} repeats item ${earlier} with ${why}`, { item: i, argument, name: t.name });
    } else seen.set(t.name, i);
  });
  const existing = await datasetTypesByName(db, [...seen.keys()]);
  const byName = new Map(existing.map((t) => [t.name, t]));
  items.forEach((t, i) => {
    const stored = byName.get(t.name);
    const why = stored && sameDefinition(stored, t);
    if (why) {
      throw facilityError(FacilityErrorCode.DATASET_TYPE_CONFLICT, `item ${i}: dataset type ${t.name} is registered with other definition: ${why}`, {
        item: i,
        argument,
        name: t.name,
      });
    }
  });
  const unique = [...seen.values()].map((i) => items[i]);
  await db.query(
    `INSERT INTO dataset_types (name, dimensions, storage_class, is_calibration, components)
     SELECT name, string_to_array(dims, ','), sc, cal, string_to_array(comps, ',')
     FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::text[]) AS i(name, dims, sc, cal, comps)
     ON CONFLICT (name) DO UPDATE
       SET components = ARRAY(SELECT DISTINCT c FROM unnest(dataset_types.components || EXCLUDED.components) c ORDER BY c)`,
    [
      unique.map((t) => t.name),
      unique.map((t) => t.dimensions.join(",")),
      unique.map((t) => t.storageClass),
      unique.map((t) => t.isCalibration),
      unique.map((t) => t.components.join(",")),
    ],
  );
  const rows = await datasetTypesByName(db, [...seen.keys()]);
  const out = new Map(rows.map((t) => [t.name, t]));
  return items.map((t) => out.get(t.name)!);
}

function fixRow(r: DatasetTypeRow): DatasetTypeRow {
  // string_to_array('', ',') gives {''}; an empty component list is stored as {}.
  return { ...r, components: r.components.filter((c) => c !== "") };
}

export async function datasetTypesByName(db: EntityManager, names: readonly string[]): Promise<DatasetTypeRow[]> {
  const rows: DatasetTypeRow[] = await db.query(`SELECT ${COLUMNS} FROM dataset_types WHERE name = ANY($1::text[])`, [names]);
  return rows.map(fixRow);
}

export async function datasetTypesById(db: EntityManager, ids: readonly number[]): Promise<DatasetTypeRow[]> {
  const rows: DatasetTypeRow[] = await db.query(`SELECT ${COLUMNS} FROM dataset_types WHERE id = ANY($1::int[])`, [ids]);
  return rows.map(fixRow);
}

/** All dataset types, or those matching name globs (`calexp`, `*Coadd*`), by name. */
export async function listDatasetTypes(db: EntityManager, patterns?: readonly string[] | null): Promise<DatasetTypeRow[]> {
  const rows: DatasetTypeRow[] = (await db.query(`SELECT ${COLUMNS} FROM dataset_types ORDER BY name`)).map(fixRow);
  if (!patterns || !patterns.length) return rows;
  const res = patterns.map((p) => compileGlob(p));
  return rows.filter((r) => res.some((re) => re.test(r.name)));
}

/**
 * Dataset types named by names or globs. A plain name that is not registered is
 * DATASET_TYPE_NOT_FOUND; a component name (calexp.wcs) resolves to its parent.
 */
export async function resolveDatasetTypes(db: EntityManager, expression: string | readonly string[] | null | undefined, argument = "datasetType"): Promise<DatasetTypeRow[]> {
  const list = expression === null || expression === undefined ? ["*"] : typeof expression === "string" ? [expression] : [...expression];
  if (!list.length) return [];
  const all = await listDatasetTypes(db);
  const out = new Map<number, DatasetTypeRow>();
  for (const item of list) {
    if (isGlob(item)) {
      const re = compileGlob(item);
      for (const t of all) if (re.test(t.name)) out.set(t.id, t);
      continue;
    }
    const parent = item.split(".")[0];
    const found = all.find((t) => t.name === parent);
    if (!found || (item !== parent && !found.components.includes(item.slice(parent.length + 1)))) {
      throw facilityError(FacilityErrorCode.DATASET_TYPE_NOT_FOUND, `dataset type '${item}' is not registered at this facility`, { argument, name: item });
    }
    out.set(found.id, found);
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}
