import type { Command } from "commander";
import { emit } from "./options";

/** `dbb schema`: the checked-in SDL (cli/schema.ts builds it). */
export function registerSchemaCommands(program: Command): void {
  program
    .command("schema")
    .description("write the subgraphs' SDL into a folder (the repository keeps it under schema/)")
    .argument("[dir]", "target folder", "schema")
    .option("--json", 'print {"wrote": [files]} instead')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const { mkdirSync, writeFileSync } = await import("node:fs");
      const path = await import("node:path");
      const { subgraphSdl } = await import("./schema");
      mkdirSync(dir, { recursive: true });
      const wrote: string[] = [];
      for (const [file, sdl] of Object.entries(await subgraphSdl())) {
        writeFileSync(path.join(dir, file), sdl.endsWith("\n") ? sdl : sdl + "\n");
        wrote.push(path.join(dir, file));
      }
      emit(opts, { wrote }, () => wrote.map((f) => `wrote ${f}`));
    });
}
