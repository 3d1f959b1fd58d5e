/**
 * The daf_butler default dimension universe (namespace "daf_butler", version 8) as typed data.
 *
 * Source of the facts (lsst/daf_butler):
 *   - python/lsst/daf/butler/configs/old_dimensions/daf_butler_universe8.yaml (the frozen copy of
 *     dimensions.yaml at version 8; daf_butler copies dimensions.yaml there whenever the version is bumped)
 *   - python/lsst/daf/butler/dimensions/_config.py (skypix levels run from min_level=1 to max_level;
 *     required dependencies are expanded recursively; elements with keys are Dimensions, the others are
 *     DimensionCombinations; key columns are never nullable; governor implies cached)
 *   - python/lsst/daf/butler/dimensions/construction.py (universe order: repeated rounds, each visiting every
 *     element whose dependencies are already built, ties broken lexicographically)
 *   - python/lsst/daf/butler/dimensions/_group.py (a group's "required" dimensions are those not implied by
 *     another dimension of the group)
 *   - python/lsst/daf/butler/column_spec.py (metadata columns are nullable unless stated otherwise)
 *
 * Nothing here does I/O; the module only holds the universe and a few pure lookups over it.
 */

export type FieldType = "int" | "string" | "float" | "bool" | "datetime" | "hash" | "timespan" | "region";

export interface FieldSpec {
  name: string;
  type: FieldType;
  /** Maximum length, for "string" fields. */
  length?: number;
  /** Size in bytes, for "hash" fields. */
  nbytes?: number;
  /** Always set on the fields of this module: keys are never nullable; metadata is unless the config says otherwise. */
  nullable?: boolean;
  doc?: string;
}

export type ElementKind = "dimension" | "skypix" | "element";

export interface ElementSpec {
  /** Element name, e.g. "visit". */
  name: string;
  /** "dimension" (has key columns, can be a data ID key), "skypix" (sky pixelization level), or "element"
   *  (a DimensionElement that is not a Dimension: a join relation such as visit_definition). */
  kind: ElementKind;
  /** Key columns of the dimension itself. keys[0] is the primary key (the data ID value); the rest are
   *  alternate keys (unique together with the required dimensions). Empty for kind "element". */
  keys: FieldSpec[];
  /** Names of keys[1..]: the alternate keys. */
  alternateKeys: string[];
  /** Required dimensions as written in the configuration (direct, not expanded; see requiredClosure). */
  requires: string[];
  /** Implied dimensions as written in the configuration (direct, not expanded; see impliedClosure). */
  implies: string[];
  /** The record's non-key columns, in configuration order. */
  metadata: FieldSpec[];
  /** Member of a temporal topology family (records carry a timespan). */
  hasTimespan: boolean;
  /** Member of a spatial topology family, or a skypix dimension (records carry a region). */
  hasRegion: boolean;
  /** Governor dimension (instrument, skymap). */
  governor: boolean;
  /** Records are cached in clients (governors and elements with caching storage). */
  isCached: boolean;
  /** A dimension whose values for this one define the allowed set (band: physical_filter); no table of its own. */
  impliedUnionTarget?: string;
  /** Join relation that is always included when its required dimensions appear in a query. */
  alwaysJoin?: boolean;
  /** Required dimension alongside whose records this element's rows are inserted, exported and imported. */
  populatedBy?: string;
  /** Spatial topology family this element belongs to (e.g. "observation_regions", or "htm" for skypix). */
  spatialFamily?: string;
  /** Temporal topology family this element belongs to (e.g. "observation_timespans"). */
  temporalFamily?: string;
  /** For skypix dimensions: the pixelization system and level. */
  skypix?: { system: string; level: number };
  doc: string;
}

export const UNIVERSE_NAMESPACE = "daf_butler";
export const UNIVERSE_VERSION: number = 8;

/** The skypix dimension used to relate all other spatial elements. */
export const COMMON_SKYPIX = "htm7";

export interface SkyPixSystemSpec {
  name: string;
  /** Fully-qualified lsst.sphgeom pixelization class. */
  pixelization: string;
  minLevel: number;
  maxLevel: number;
}

export const SKYPIX_SYSTEMS: readonly SkyPixSystemSpec[] = deepFreeze([
  { name: "healpix", pixelization: "lsst.sphgeom.HealpixPixelization", minLevel: 1, maxLevel: 17 },
  { name: "htm", pixelization: "lsst.sphgeom.HtmPixelization", minLevel: 1, maxLevel: 24 },
]);

/** Topology families; members are ordered from fine-grained to coarse-grained, as in the configuration. */
export const TOPOLOGY: {
  readonly spatial: Readonly<Record<string, readonly string[]>>;
  readonly temporal: Readonly<Record<string, readonly string[]>>;
} = deepFreeze({
  spatial: {
    observation_regions: ["visit_detector_region", "visit"],
    skymap_regions: ["patch", "tract"],
  },
  temporal: {
    observation_timespans: ["exposure", "visit", "day_obs"],
  },
});

// --- small constructors for the tables below --------------------------------------------------------------

function intKey(name: string): FieldSpec {
  return { name, type: "int", nullable: false };
}
function stringKey(name: string, length: number): FieldSpec {
  return { name, type: "string", length, nullable: false };
}
function int(name: string, doc: string, nullable = true): FieldSpec {
  return { name, type: "int", nullable, doc };
}
function float(name: string, doc: string): FieldSpec {
  return { name, type: "float", nullable: true, doc };
}
function bool(name: string, doc: string): FieldSpec {
  return { name, type: "bool", nullable: true, doc };
}
function string(name: string, length: number, doc?: string): FieldSpec {
  return doc === undefined ? { name, type: "string", length, nullable: true } : { name, type: "string", length, nullable: true, doc };
}

type Def = Omit<ElementSpec, "alternateKeys" | "hasRegion" | "hasTimespan" | "governor" | "isCached" | "spatialFamily" | "temporalFamily"> & {
  governor?: boolean;
  isCached?: boolean;
};

function familyOf(families: Readonly<Record<string, readonly string[]>>, name: string): string | undefined {
  for (const [family, members] of Object.entries(families)) if (members.includes(name)) return family;
  return undefined;
}

function finish(def: Def): ElementSpec {
  const spatialFamily = familyOf(TOPOLOGY.spatial, def.name);
  const temporalFamily = familyOf(TOPOLOGY.temporal, def.name);
  const governor = def.governor ?? false;
  const spec: ElementSpec = {
    ...def,
    alternateKeys: def.keys.slice(1).map((k) => k.name),
    hasTimespan: temporalFamily !== undefined,
    hasRegion: spatialFamily !== undefined,
    governor,
    isCached: governor || (def.isCached ?? false),
  };
  if (spatialFamily !== undefined) spec.spatialFamily = spatialFamily;
  if (temporalFamily !== undefined) spec.temporalFamily = temporalFamily;
  return spec;
}

function skypixLevels(system: SkyPixSystemSpec): ElementSpec[] {
  const out: ElementSpec[] = [];
  for (let level = system.minLevel; level <= system.maxLevel; level++) {
    out.push({
      name: `${system.name}${level}`,
      kind: "skypix",
      keys: [intKey("id")],
      alternateKeys: [],
      requires: [],
      implies: [],
      metadata: [],
      hasTimespan: false,
      hasRegion: true,
      governor: false,
      isCached: false,
      spatialFamily: system.name,
      skypix: { system: system.name, level },
      doc: `Level ${level} of the ${system.name} sky pixelization (${system.pixelization}); the region is computed, not stored.`,
    });
  }
  return out;
}

// --- the non-skypix elements, as defined by daf_butler_universe8.yaml -------------------------------------

const instrument = finish({
  name: "instrument",
  kind: "dimension",
  keys: [stringKey("name", 32)],
  requires: [],
  implies: [],
  metadata: [
    int("visit_max", "Exclusive upper bound of visit IDs for this instrument."),
    int("visit_system", "Preferred visit system of this instrument."),
    int("exposure_max", "Exclusive upper bound of exposure IDs for this instrument."),
    int("detector_max", "Exclusive upper bound of detector IDs for this instrument."),
    string("class_name", 64, "Fully-qualified name of the Instrument class for this instrument."),
  ],
  governor: true,
  doc: "Something that produces observations; defines its physical filters, detectors and exposure/visit numbering.",
});

const band = finish({
  name: "band",
  kind: "dimension",
  keys: [stringKey("name", 32)],
  requires: [],
  implies: [],
  metadata: [],
  isCached: true,
  impliedUnionTarget: "physical_filter",
  doc: "Instrument-independent filter relating similar physical filters; usually the filter of coadds.",
});

const physical_filter = finish({
  name: "physical_filter",
  kind: "dimension",
  keys: [stringKey("name", 32)],
  requires: ["instrument"],
  implies: ["band"],
  metadata: [],
  isCached: true,
  doc: "A filter of a particular instrument.",
});

const subfilter = finish({
  name: "subfilter",
  kind: "dimension",
  keys: [intKey("id")],
  requires: ["band"],
  implies: [],
  metadata: [],
  isCached: true,
  doc: "A wavelength subdivision of a band, used to model wavelength-dependent effects such as DCR.",
});

const detector = finish({
  name: "detector",
  kind: "dimension",
  keys: [intKey("id"), stringKey("full_name", 32)],
  requires: ["instrument"],
  implies: [],
  metadata: [
    string("name_in_raft", 32),
    string("raft", 32, "Name of a group of detectors; meaning depends on the instrument."),
    string("purpose", 32, 'Role of the detector, typically "SCIENCE", "WAVEFRONT" or "GUIDE".'),
  ],
  isCached: true,
  doc: "A detector of an instrument (independent of any observation).",
});

const group = finish({
  name: "group",
  kind: "dimension",
  keys: [stringKey("name", 64)],
  requires: ["instrument"],
  implies: [],
  metadata: [],
  doc: "A group of observations defined by the acquisition system when they were taken.",
});

const day_obs = finish({
  name: "day_obs",
  kind: "dimension",
  keys: [intKey("id")],
  requires: ["instrument"],
  implies: [],
  metadata: [],
  doc: "An observing day/night (YYYYMMDD integer) rolling over in daytime at an observatory-dependent time.",
});

const visit = finish({
  name: "visit",
  kind: "dimension",
  keys: [intKey("id"), stringKey("name", 64)],
  requires: ["instrument"],
  implies: ["physical_filter", "day_obs"],
  metadata: [
    int("seq_num", "Sequence number of the first exposure of the visit."),
    float("exposure_time", "Total open-shutter time of the visit in seconds (sum over its exposures)."),
    string("target_name", 64, "Object of interest or survey field name."),
    string("observation_reason", 68, "Why the visit was taken (e.g. science, filter scan, unknown, various)."),
    string("science_program", 64, "Observing program (survey or proposal) identifier."),
    float("azimuth", "Approximate telescope azimuth in degrees during the visit."),
    float("zenith_angle", "Approximate zenith angle in degrees during the visit."),
  ],
  doc: "Observations processed together: one or more exposures of one instrument with the same pointing and physical_filter.",
});

const exposure = finish({
  name: "exposure",
  kind: "dimension",
  keys: [intKey("id"), stringKey("obs_id", 64)],
  requires: ["instrument"],
  implies: ["physical_filter", "group", "day_obs"],
  metadata: [
    float("exposure_time", "Open-shutter duration in seconds."),
    float("dark_time", "Closed-shutter duration in seconds."),
    string("observation_type", 16, "Observation type (e.g. dark, bias, science)."),
    string("observation_reason", 68, "Why the observation was taken (e.g. science, filter scan, unknown)."),
    int("seq_num", "Counter within a larger, observatory-specific sequence (global or per day_obs)."),
    int("seq_start", "Earliest sequence number that might be related to this exposure."),
    int("seq_end", "Latest sequence number that might be related to this exposure."),
    string("target_name", 64, "Object of interest or survey field name."),
    string("science_program", 64, "Observing program (survey, proposal, engineering project) identifier."),
    float("tracking_ra", "Tracking ICRS right ascension of the boresight in degrees; NULL off sky."),
    float("tracking_dec", "Tracking ICRS declination of the boresight in degrees; NULL off sky."),
    float("sky_angle", "Focal-plane angle on the sky in degrees; NULL off sky or if it changes."),
    float("azimuth", "Telescope azimuth in degrees at the start of the exposure; may be NULL."),
    float("zenith_angle", "Zenith angle in degrees at the start of the exposure."),
    bool("has_simulated", "Whether any content (data or header) of the exposure was simulated."),
    bool("can_see_sky", "Whether the detector could see the sky (dome state and shutter considered)."),
  ],
  doc: "A single observation by an instrument; raw data are identified by exposure.",
});

const skymap = finish({
  name: "skymap",
  kind: "dimension",
  keys: [stringKey("name", 64), { name: "hash", type: "hash", nbytes: 40, nullable: false, doc: "Hash of the skymap's parameters." }],
  requires: [],
  implies: [],
  metadata: [
    int("tract_max", "Exclusive upper bound of tract IDs in this skymap."),
    int("patch_nx_max", "Number of patches along x in each tract."),
    int("patch_ny_max", "Number of patches along y in each tract."),
  ],
  governor: true,
  doc: "A tiling of the sky into tracts and patches with simple projections and deliberate overlaps.",
});

const tract = finish({
  name: "tract",
  kind: "dimension",
  keys: [intKey("id")],
  requires: ["skymap"],
  implies: [],
  metadata: [],
  doc: "A large rectangular sky region with a single projection, within a skymap.",
});

const patch = finish({
  name: "patch",
  kind: "dimension",
  keys: [intKey("id")],
  requires: ["skymap", "tract"],
  implies: [],
  metadata: [
    int("cell_x", "Column of the patch in its tract's patch grid.", false),
    int("cell_y", "Row of the patch in its tract's patch grid.", false),
  ],
  doc: "A rectangular region within a tract.",
});

const visit_detector_region = finish({
  name: "visit_detector_region",
  kind: "element",
  keys: [],
  requires: ["visit", "detector"],
  implies: [],
  metadata: [],
  populatedBy: "visit",
  doc: "Join relation holding the region of each visit-detector combination.",
});

const visit_system = finish({
  name: "visit_system",
  kind: "dimension",
  keys: [intKey("id"), stringKey("name", 32)],
  requires: ["instrument"],
  implies: [],
  metadata: [],
  isCached: true,
  doc: "A self-consistent set of visit definitions in which each exposure appears at most once; a visit may belong to several.",
});

const visit_definition = finish({
  name: "visit_definition",
  kind: "element",
  keys: [],
  requires: ["exposure", "visit"],
  implies: [],
  metadata: [],
  populatedBy: "visit",
  alwaysJoin: true,
  doc: "Many-to-many join relation between exposures and the visits they belong to.",
});

const visit_system_membership = finish({
  name: "visit_system_membership",
  kind: "element",
  keys: [],
  requires: ["visit", "visit_system"],
  implies: [],
  metadata: [],
  populatedBy: "visit",
  alwaysJoin: true,
  doc: "Many-to-many join relation between visits and the visit systems they belong to.",
});

const [healpixSystem, htmSystem] = SKYPIX_SYSTEMS;

/**
 * All elements in the universe's order (DimensionUniverse.sorted / getElementIndex), i.e. the order in which
 * daf_butler's construction builder visits them: round 1 {band, healpix, htm, instrument, skymap}, round 2
 * {day_obs, detector, group, physical_filter, subfilter, tract, visit_system}, round 3 {exposure, patch, visit},
 * round 4 {visit_definition, visit_detector_region, visit_system_membership}; a skypix system adds its levels in
 * increasing order. The unit test replays that algorithm against this list.
 */
export const ELEMENTS: readonly ElementSpec[] = deepFreeze([
  band,
  ...skypixLevels(healpixSystem),
  ...skypixLevels(htmSystem),
  instrument,
  skymap,
  day_obs,
  detector,
  group,
  physical_filter,
  subfilter,
  tract,
  visit_system,
  exposure,
  patch,
  visit,
  visit_definition,
  visit_detector_region,
  visit_system_membership,
]);

const BY_NAME: ReadonlyMap<string, ElementSpec> = new Map(ELEMENTS.map((e) => [e.name, e]));
const INDEX: ReadonlyMap<string, number> = new Map(ELEMENTS.map((e, i) => [e.name, i]));

/** Names of all dimensions (elements of kind "dimension" or "skypix"), in universe order. */
export const DIMENSION_NAMES: readonly string[] = Object.freeze(ELEMENTS.filter((e) => e.kind !== "element").map((e) => e.name));

/** The element with this name; throws for an unknown name. */
export function element(name: string): ElementSpec {
  const found = BY_NAME.get(name);
  if (found === undefined) throw new Error(`Unknown dimension element '${name}' in universe ${UNIVERSE_NAMESPACE}@${UNIVERSE_VERSION}`);
  return found;
}

/** Whether the universe has an element with this name. */
export function hasElement(name: string): boolean {
  return BY_NAME.has(name);
}

/** Position of the element in the universe's order; throws for an unknown name. */
export function elementIndex(name: string): number {
  element(name);
  return INDEX.get(name)!;
}

/** The given names, deduplicated and sorted by the universe's order; throws for an unknown name. */
export function sortByUniverse(names: Iterable<string>): string[] {
  const unique = [...new Set(names)];
  for (const n of unique) element(n);
  return unique.sort((a, b) => INDEX.get(a)! - INDEX.get(b)!);
}

/** closure's answers by its arguments: the universe is fixed, and ingest asks the same few questions for every dataset. */
const closures = new Map<string, readonly string[]>();
const MAX_CLOSURES = 1000;

function closure(names: Iterable<string>, followImplied: boolean): string[] {
  const list = [...names];
  const memo = `${followImplied ? 1 : 0}${list.join(",")}`;
  const known = closures.get(memo);
  if (known) return [...known];
  const found = computeClosure(list, followImplied);
  if (closures.size >= MAX_CLOSURES) closures.clear();
  closures.set(memo, Object.freeze([...found]));
  return found;
}

function computeClosure(names: string[], followImplied: boolean): string[] {
  const out = new Set<string>();
  const todo: string[] = [];
  for (const name of names) {
    const e = element(name);
    if (e.kind === "element") todo.push(...e.requires, ...(followImplied ? e.implies : []));
    else todo.push(name);
  }
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (out.has(name)) continue;
    out.add(name);
    const e = element(name);
    todo.push(...e.requires);
    if (followImplied) todo.push(...e.implies);
  }
  return sortByUniverse(out);
}

/**
 * The given dimensions plus all their required dimensions (recursively), sorted by the universe's order.
 * A non-dimension element (e.g. visit_detector_region) contributes its dimensions, not itself.
 */
export function requiredClosure(dimensions: string[]): string[] {
  return closure(dimensions, false);
}

/**
 * The full dimension group of the given dimensions: required and implied dependencies, followed recursively
 * (what DimensionGroup(universe, names) holds), sorted by the universe's order.
 */
export function impliedClosure(dimensions: string[]): string[] {
  return closure(dimensions, true);
}

/**
 * DimensionGroup.required for the group of the given dimensions: the members of impliedClosure(dimensions)
 * that no member of the group implies. These are the keys of a minimal data ID (and of a dataset ID's hash).
 */
export function groupRequired(dimensions: string[]): string[] {
  const members = impliedClosure(dimensions);
  const implied = new Set(members.flatMap((m) => element(m).implies));
  return members.filter((m) => !implied.has(m));
}

/** DimensionGroup.implied for the group of the given dimensions (the complement of groupRequired). */
export function groupImplied(dimensions: string[]): string[] {
  const members = impliedClosure(dimensions);
  const implied = new Set(members.flatMap((m) => element(m).implies));
  return members.filter((m) => implied.has(m));
}

/** The dimension's own primary key (keys[0]); throws for an unknown name or an element that is not a dimension. */
export function primaryKeyField(name: string): FieldSpec {
  const e = element(name);
  if (e.keys.length === 0) throw new Error(`Dimension element '${name}' is not a dimension and has no primary key`);
  return e.keys[0];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
