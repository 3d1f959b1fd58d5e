import "reflect-metadata";
import { readFileSync } from "node:fs";
import path from "node:path";
import { subgraphSdl } from "../../cli/schema";

/** schema/ holds the SDL clients and the gateway rely on; regenerate it with `npx dbb schema`. */
it("the checked-in SDL under schema/ matches what the code serves", async () => {
  const root = path.resolve(__dirname, "../../../schema");
  for (const [file, sdl] of Object.entries(await subgraphSdl())) {
    const checkedIn = readFileSync(path.join(root, file), "utf8");
    expect({ file, sdl: checkedIn.trimEnd() }).toEqual({ file, sdl: sdl.trimEnd() });
  }
});
