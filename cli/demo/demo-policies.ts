import { readFileSync } from "node:fs";
import path from "node:path";
import type { EntityManager } from "typeorm";
import { loadPolicies, PolicyPlan } from "../../subgraphs/replicas/policy";

/** The demo's policy file (the five DMTN-198 policies), read from the source tree. */
export const DEMO_POLICIES_FILE = path.resolve(__dirname, "../../../cli/demo/policies.yaml");

/** Loads cli/demo/policies.yaml into the catalog as `account` (idempotent). */
export function loadDemoPolicies(db: EntityManager, account: string): Promise<PolicyPlan> {
  return loadPolicies(db, account, readFileSync(DEMO_POLICIES_FILE, "utf8"));
}
