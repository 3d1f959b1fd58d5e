import { CatalogInit1732400000000 } from "./1732400000000-CatalogInit";
import { RulesAndTransfers1732500000000 } from "./1732500000000-RulesAndTransfers";
import { CatalogWorkers1764600000000 } from "./1764600000000-CatalogWorkers";
import { DeletionClaimer1764700000000 } from "./1764700000000-DeletionClaimer";
import { RseRegion1764800000000 } from "./1764800000000-RseRegion";
import { Subscriptions1764900000000 } from "./1764900000000-Subscriptions";
import { Removals1765100000000 } from "./1765100000000-Removals";
import { DidPath1765200000000 } from "./1765200000000-DidPath";
import { StatusIndexes1765300000000 } from "./1765300000000-StatusIndexes";

/** The catalog's migrations, oldest first. */
export const catalogMigrations = [
  CatalogInit1732400000000,
  RulesAndTransfers1732500000000,
  CatalogWorkers1764600000000,
  DeletionClaimer1764700000000,
  RseRegion1764800000000,
  Subscriptions1764900000000,
  Removals1765100000000,
  DidPath1765200000000,
  StatusIndexes1765300000000,
];
