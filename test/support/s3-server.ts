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
 * `dbb serve s3` as a real process on a free port of [2000, 3000) (a range only this helper uses), over
 * a fresh temporary folder (or `o.directory`, kept), with the given buckets; stop() ends it with
 * Ctrl-C, fails unless it exits 0, and removes a folder it made.
 */
export async function startTestS3Server(buckets: string[] = ["test"], o: { directory?: string; credentials?: StorageCredentials } = {}): Promise<TestS3Server> {
  const directory = o.directory ?? mkdtempSync(path.join(os.tmpdir(), "dbb-s3-"));
  const credentials = o.credentials ?? { accessKeyId: "DBBTESTKEY", secretAccessKey: `secret-${Math.random().toString(36).slice(2)}` };
  const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...env } = process.env;
  // Suites that run at once share the range: a port taken between the probe and the start is tried again elsewhere.
  let child: ServiceProcess | undefined;
  let port = 0;
  for (let attempt = 1; !child; attempt++) {
    [port] = await freePorts(1, 2000, 3000);
    const args = ["serve", "s3", "--port", String(port), "--dir", directory, "--access-key-id", credentials.accessKeyId, "--secret-access-key", credentials.secretAccessKey];
    for (const bucket of buckets) args.push("--bucket", bucket);
    try {
      const started = await spawnDbb(args, port, env);
      // Another suite's server on the same port would answer /health too: wait for our own to say it serves.
      await started.waitForOutput(/S3 server ready/, 10000);
      child = started;
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    credentials,
    directory,
    process: child,
    async stop() {
      const code = await child.stop();
      if (!o.directory) rmSync(directory, { recursive: true, force: true });
      if (code !== 0) throw new Error(`dbb serve s3 exited with ${code} on Ctrl-C: ${child.output()}`);
    },
  };
}
