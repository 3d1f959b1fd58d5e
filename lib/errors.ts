import { GraphQLError } from "graphql";

/**
 * Stable error codes carried in `extensions.code`. Scripts match on these; never rename one.
 */
export const ErrorCode = {
  DID_NOT_FOUND: "DID_NOT_FOUND",
  DID_ALREADY_EXISTS: "DID_ALREADY_EXISTS",
  RSE_NOT_FOUND: "RSE_NOT_FOUND",
  RSE_ALREADY_EXISTS: "RSE_ALREADY_EXISTS",
  RSE_NOT_EMPTY: "RSE_NOT_EMPTY",
  /** The RSE is not available for writing (setRseAvailability write: false). */
  RSE_WRITE_BLOCKED: "RSE_WRITE_BLOCKED",
  SCOPE_NOT_FOUND: "SCOPE_NOT_FOUND",
  FACILITY_NOT_FOUND: "FACILITY_NOT_FOUND",
  SCOPE_ALREADY_EXISTS: "SCOPE_ALREADY_EXISTS",
  REPLICA_NOT_FOUND: "REPLICA_NOT_FOUND",
  REPLICA_ALREADY_EXISTS: "REPLICA_ALREADY_EXISTS",
  DID_CLOSED: "DID_CLOSED",
  INVALID_RSE_EXPRESSION: "INVALID_RSE_EXPRESSION",
  RULE_NOT_FOUND: "RULE_NOT_FOUND",
  RULE_LOCKED: "RULE_LOCKED",
  INSUFFICIENT_TARGET_RSES: "INSUFFICIENT_TARGET_RSES",
  TRANSFER_NOT_FOUND: "TRANSFER_NOT_FOUND",
  SUBSCRIPTION_NOT_FOUND: "SUBSCRIPTION_NOT_FOUND",
  SUBSCRIPTION_ALREADY_EXISTS: "SUBSCRIPTION_ALREADY_EXISTS",
  /** reevaluateSubscription's job id names no job. */
  SUBSCRIPTION_JOB_NOT_FOUND: "SUBSCRIPTION_JOB_NOT_FOUND",
  DELETION_NOT_FOUND: "DELETION_NOT_FOUND",
  /** A campaign removal id names no removal. */
  REMOVAL_NOT_FOUND: "REMOVAL_NOT_FOUND",
  /** cancelRemoval of a removal that is DONE: nothing is pending any more. */
  REMOVAL_FINISHED: "REMOVAL_FINISHED",
  /** An agent finishing its facility's part of a removal while files are still to be deleted there. */
  REMOVAL_NOT_READY: "REMOVAL_NOT_READY",
  /** announceLargeFile: the event's url maps to no Large File Annex RSE (an RSE with the attribute lfa), or to several. */
  LFA_URL_UNKNOWN: "LFA_URL_UNKNOWN",
  /** announceLargeFile: the object was announced before with other values (size, checksum, generator, …), or its name is taken by another DID. */
  LFA_CONFLICT: "LFA_CONFLICT",
  LEASE_LOST: "LEASE_LOST",
  /** Bytes whose size or checksums differ from those expected; also a store that saw other bytes than were sent (S3 BadDigest, a part's ETag not its MD5). */
  CHECKSUM_MISMATCH: "CHECKSUM_MISMATCH",
  /** A transfer's errorCode when the agent reported FAILED. */
  TRANSFER_ERROR: "TRANSFER_ERROR",
  INVALID_INPUT: "INVALID_INPUT",
  /** A statement ran longer than database.statementTimeoutMs and was cancelled; narrow the query or retry later. */
  QUERY_TIMEOUT: "QUERY_TIMEOUT",
  /** The service's database is unreachable, gone or shutting down; retry once /health answers 200. */
  DATABASE_UNAVAILABLE: "DATABASE_UNAVAILABLE",
  /** A request body larger than the service accepts (HTTP 413). */
  BODY_TOO_LARGE: "BODY_TOO_LARGE",
  /** The request body is not JSON, or not a GraphQL request (HTTP 400). */
  BAD_REQUEST: "BAD_REQUEST",
  /** An operation type this service does not execute (subscriptions: follow `events(after:)` instead). */
  OPERATION_NOT_SUPPORTED: "OPERATION_NOT_SUPPORTED",
  /** A facility did not answer (or is excluded for a schema mismatch): its part of the answer is null. */
  FACILITY_UNAVAILABLE: "FACILITY_UNAVAILABLE",
  /** A service could not be reached (connection refused, reset, DNS); the client's side of a failure. */
  NETWORK: "NETWORK",
  /** A service did not answer in time. */
  TIMEOUT: "TIMEOUT",
  /** A service answered HTTP without a GraphQL answer (a proxy's error page, a crash). */
  HTTP_ERROR: "HTTP_ERROR",
  /** Storage (lib/storage): the object is not there. */
  OBJECT_NOT_FOUND: "OBJECT_NOT_FOUND",
  /** Storage: the store refused the credentials or the operation (HTTP 401/403, EACCES, EPERM, EROFS). */
  STORAGE_DENIED: "STORAGE_DENIED",
  /** Storage: no space or quota left (ENOSPC, EDQUOT, S3 QuotaExceeded / EntityTooLarge). */
  STORAGE_FULL: "STORAGE_FULL",
  /** Storage: a path that would leave the RSE's root or prefix (`..`, absolute, a symlink out). */
  PATH_OUTSIDE_ROOT: "PATH_OUTSIDE_ROOT",
  /** Storage: any other failure of the store (HTTP 5xx, EIO), with the store's own message. */
  STORAGE_ERROR: "STORAGE_ERROR",
  /** A signed object URL (the facility's /objects door) whose `expires` has passed: ask for a new one. */
  SIGNED_URL_EXPIRED: "SIGNED_URL_EXPIRED",
  /** A transfer's failure reasons, as the agent reports them (TransferRequest.errorCode). */
  SOURCE_MISSING: "SOURCE_MISSING",
  SOURCE_DENIED: "SOURCE_DENIED",
  DESTINATION_DENIED: "DESTINATION_DENIED",
  DESTINATION_FULL: "DESTINATION_FULL",
  /** The agent: more arrivals waited to be told to its facility than it keeps (the facility was unreachable for long). */
  INGEST_BACKLOG_FULL: "INGEST_BACKLOG_FULL",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * A domain error: core modules throw it, the GraphQL layer turns it into a GraphQLError with
 * `extensions.code` and any extra fields (`extensions.item`, `extensions.position`, ...).
 */
export class DbbError extends Error {
  constructor(
    readonly code: ErrorCode | string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "DbbError";
  }

  toGraphQLError(): GraphQLError {
    return new GraphQLError(this.message, { extensions: { code: this.code, ...this.details } });
  }
}

export function invalidInput(message: string, details: Record<string, unknown> = {}): DbbError {
  return new DbbError(ErrorCode.INVALID_INPUT, message, details);
}
