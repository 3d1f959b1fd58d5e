import type { EntityManager } from "typeorm";
import type { Caller } from "../../../lib/auth";
import type { Loaders } from "../loaders";

export interface FacilityContext {
  db: EntityManager;
  caller: Caller;
  loaders: Loaders;
  /** The facility this service serves. */
  facility: string;
  requestId: string;
}
