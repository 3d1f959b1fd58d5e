import { FacilityInit1733000000000 } from "./1733000000000-FacilityInit";
import { RegionBounds1764000000000 } from "./1764000000000-RegionBounds";
import { Agents1764800000000 } from "./1764800000000-Agents";
import { Arrivals1765000000000 } from "./1765000000000-Arrivals";
import { RemovalProgress1765100000000 } from "./1765100000000-RemovalProgress";
import { ArrivalSummary1765300000000 } from "./1765300000000-ArrivalSummary";
import { PartialDimensionIndexes1765400000000 } from "./1765400000000-PartialDimensionIndexes";

/** The facility registry's migrations, oldest first. */
export const facilityMigrations = [
  FacilityInit1733000000000,
  RegionBounds1764000000000,
  Agents1764800000000,
  Arrivals1765000000000,
  RemovalProgress1765100000000,
  ArrivalSummary1765300000000,
  PartialDimensionIndexes1765400000000,
];
