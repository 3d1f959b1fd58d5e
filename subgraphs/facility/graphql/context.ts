import type { EntityManager } from "typeorm";
import type { Caller } from "../../../lib/auth";
import type { Loaders } from "../loaders";
import type { ReadDoor } from "../read-url";

export interface FacilityContext {
  db: EntityManager;
  caller: Caller;
  loaders: Loaders;
  /** The facility this service serves. */
  facility: string;
  requestId: string;
  /** The request's Authorization header, forwarded to the catalog when a read URL is asked for. */
  authorization?: string;
  /** Signs read URLs for other facilities' agents (absent in tests that start no storage). */
  readDoor?: ReadDoor;
}
