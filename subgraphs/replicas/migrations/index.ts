import { CatalogInit1732400000000 } from "./1732400000000-CatalogInit";
import { RulesAndTransfers1732500000000 } from "./1732500000000-RulesAndTransfers";

/** The catalog's migrations, oldest first. */
export const catalogMigrations = [CatalogInit1732400000000, RulesAndTransfers1732500000000];
