import { readFileSync } from "node:fs";
import path from "node:path";

/** The running code's version, from package.json (dist/lib/ is two levels below it). */
export function codeVersion(): string {
  try {
    return JSON.parse(readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")).version ?? "unknown";
  } catch {
    return "unknown";
  }
}
