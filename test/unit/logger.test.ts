import { spawn } from "node:child_process";
import path from "node:path";

/**
 * A service logs while the process reading its output is gone (`dbb dev` killed with SIGKILL),
 * then exits: it must exit, not retry the write forever. Two lines, so that one is still
 * buffered when process.exit runs (the case pino's asynchronous stream flushed forever).
 */
it("exits when its log reader has gone, with lines still to write", async () => {
  const logger = path.resolve(__dirname, "../../lib/logger");
  const script = `
    const { createLogger } = require(${JSON.stringify(logger)});
    const log = createLogger("info", "test");
    process.stdin.resume();
    process.stdin.on("end", () => {
      log.warn({ n: 1 }, "after the reader closed");
      log.warn({ n: 2 }, "after the reader closed");
      process.exit(3);
    });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdout!.destroy(); // the reader goes
  await new Promise((r) => setTimeout(r, 200));
  child.stdin!.end(); // then the child logs and exits
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve("still running after 10 s"), 10_000).unref());
  const result = await Promise.race([exited, timeout]);
  if (result === "still running after 10 s") child.kill("SIGKILL");
  expect(result).toBe(3);
}, 20_000);
