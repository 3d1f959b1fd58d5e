import type { EntityManager } from "typeorm";
import type { Caller } from "../../../lib/auth";
import type { JudgeSettings } from "../judge";
import type { Loaders } from "../loaders";

export interface ReplicasContext {
  db: EntityManager;
  caller: Caller;
  loaders: Loaders;
  requestId: string;
  settings: JudgeSettings;
}
