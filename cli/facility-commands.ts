import type { Command } from "commander";

/**
 * The facility's commands: `dbb serve facility` and `dbb butler import|export`.
 * (Filled in with the facility subgraph.)
 */
export function registerFacilityCommands(_program: Command, _serve: Command): void {}
