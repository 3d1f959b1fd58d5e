import { FacilityInit1733000000000 } from "./1733000000000-FacilityInit";

/** The facility registry's migrations, oldest first. */
export const facilityMigrations = [FacilityInit1733000000000];
