import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { StorageCredentials } from "../../lib/storage/driver";
import { freePorts, ServiceProcess, spawnDbb } from "./processes";

export interface TestS3Server {
  endpoint: string;
  credentials: StorageCredentials;
  /** The folder s3rver keeps its buckets in (to look behind the API). */
  directory: string;
  process: ServiceProcess;
  stop(): Promise<void>;
}

/**
 * `dbb serve s3` as a real process on a free port of [2000, 3000) (no other suite's range), over
 * a fresh temporary folder, with the given buckets; stop() ends it and removes the folder.
 */
export async function startTestS3Server(buckets: string[] = ["test"]): Promise<TestS3Server> {
  const directory = mkdtempSync(path.join(os.tmpdir(), "dbb-s3-"));
  const credentials = { accessKeyId: "DBBTESTKEY", secretAccessKey: `secret-${Math.random().toString(36).slice(2)}` };
  const [port] = await freePorts(1, 2000, 3000);
  const args = ["serve", "s3", "--port", String(port), "--dir", directory, "--access-key-id", credentials.accessKeyId, "--secret-access-key", credentials.secretAccessKey];
  for (const bucket of buckets) args.push("--bucket", bucket);
  const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...env } = process.env;
  const child = await spawnDbb(args, port, env);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    credentials,
    directory,
    process: child,
    async stop() {
      const code = await child.stop();
      rmSync(directory, { recursive: true, force: true });
      if (code !== 0) throw new Error(`dbb serve s3 exited with ${code} on Ctrl-C: ${child.output()}`);
    },
  };
}
