import { CatalogInit1732400000000 } from "./1732400000000-CatalogInit";

/** The catalog's migrations, oldest first. */
export const catalogMigrations = [CatalogInit1732400000000];
