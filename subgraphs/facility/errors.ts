import { DbbError } from "../../lib/errors";
import { BAD_FITS_HEADER, BAD_HEADER_CARD } from "../../lib/fits-header";
import { WHERE_SYNTAX_ERROR, WHERE_TOO_COMPLEX } from "./where/parser";

/**
 * Stable error codes of the facility subgraph (`extensions.code`). Scripts match on these; never
 * rename one. INVALID_INPUT, UNAUTHENTICATED and FORBIDDEN come from lib/errors.ts.
 */
export const FacilityErrorCode = {
  /** The where expression does not parse (from where/parser.ts); details: position, expression. */
  WHERE_SYNTAX_ERROR,
  /** The where expression is longer, more deeply nested or has more terms than WHERE_LIMITS allows; details: limit. */
  WHERE_TOO_COMPLEX,
  /** The where expression fails on the stored values: division by zero, integer overflow, a timespan ending before it begins. */
  WHERE_EVALUATION_ERROR: "WHERE_EVALUATION_ERROR",
  /** A name in a where expression is not a dimension, a dimension field, a dataset field or a bind. */
  WHERE_UNKNOWN_IDENTIFIER: "WHERE_UNKNOWN_IDENTIFIER",
  /** Operands of the wrong type: `detector = 'a'`, `band + 1`, `NOT visit`, … */
  WHERE_TYPE_ERROR: "WHERE_TYPE_ERROR",
  /** Valid daf_butler syntax this registry view does not evaluate (spatial region constraints). */
  WHERE_UNSUPPORTED: "WHERE_UNSUPPORTED",
  /** A dimension record differs from the stored record (or from another in the same call) with the same key. */
  DIMENSION_CONFLICT: "DIMENSION_CONFLICT",
  /** A data ID names a dimension value that has no dimension record. */
  DIMENSION_RECORD_MISSING: "DIMENSION_RECORD_MISSING",
  /** A data ID or record does not fit the dimension universe (unknown, missing or mistyped keys). */
  INVALID_DATA_ID: "INVALID_DATA_ID",
  DATASET_TYPE_NOT_FOUND: "DATASET_TYPE_NOT_FOUND",
  /** A dataset type is registered again with other dimensions, storage class or calibration flag. */
  DATASET_TYPE_CONFLICT: "DATASET_TYPE_CONFLICT",
  COLLECTION_NOT_FOUND: "COLLECTION_NOT_FOUND",
  /** A collection exists with another type, or an operation needs a collection of another type. */
  COLLECTION_TYPE_ERROR: "COLLECTION_TYPE_ERROR",
  /** A collection to remove is a child of a CHAINED collection that is not removed with it; `force` drops it from the chain. */
  COLLECTION_IN_CHAIN: "COLLECTION_IN_CHAIN",
  /** A CHAINED collection would contain itself. */
  COLLECTION_CYCLE: "COLLECTION_CYCLE",
  DATASET_NOT_FOUND: "DATASET_NOT_FOUND",
  /** A dataset ID already names another dataset, a data ID already has another dataset in that run or
   *  TAGGED collection, a file record differs, or a certification overlaps another validity range. */
  DATASET_CONFLICT: "DATASET_CONFLICT",
  /** An import file is not a daf_butler YAML export or zip index this service reads. */
  IMPORT_FORMAT_ERROR: "IMPORT_FORMAT_ERROR",
  /** An arrived file's FITS header is not one (no SIMPLE card, no END within the bytes given, longer than the limit); from lib/fits-header.ts. */
  BAD_FITS_HEADER,
  /** A header card is malformed, or a card the translation needs is missing or of the wrong type; details: keyword. */
  BAD_HEADER_CARD,
  /** A raw header of an instrument no translator here reads (LSSTCam, LSSTComCam and LATISS are read). */
  UNSUPPORTED_INSTRUMENT: "UNSUPPORTED_INSTRUMENT",
  /** A sidecar (astro_metadata_translator JSON/YAML, per file or an _index.json) is malformed; details: key. */
  BAD_SIDECAR: "BAD_SIDECAR",
  /** A DID's rubin_butler / rubin_sidecar metadata is malformed (not DatasetRef.to_json's shape); details: key. */
  BAD_BUTLER_METADATA: "BAD_BUTLER_METADATA",
} as const;
export type FacilityErrorCode = (typeof FacilityErrorCode)[keyof typeof FacilityErrorCode];

export function facilityError(code: FacilityErrorCode, message: string, details: Record<string, unknown> = {}): DbbError {
  return new DbbError(code, message, details);
}
