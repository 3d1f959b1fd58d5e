import { Command, InvalidArgumentError } from "commander";
import { startS3Server } from "../lib/s3-server";
import { port, stopOn } from "./main";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** S3's bucket naming rules (3–63 of a-z 0-9 . -, starting and ending alphanumeric); `health` is the server's own path. */
function bucketName(value: string): string {
  if (!/^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$/.test(value) || value === "health") {
    throw new InvalidArgumentError("a bucket name of 3-63 characters a-z 0-9 . - (not 'health')");
  }
  return value;
}

/** `dbb serve s3`: a local S3-protocol server for the embedded default and the tests. */
export function registerS3Commands(serve: Command): void {
  serve
    .command("s3")
    .description(
      "a local S3-protocol object store (s3rver, objects as files under --dir) for the embedded default and tests: " +
        "Signature V4 checked against the one key pair, GET /health answers 200 once it serves",
    )
    .requiredOption("-p, --port <port>", "port to listen on", port)
    .requiredOption("-d, --dir <dir>", "folder that keeps the buckets and objects")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--access-key-id <id>", "the access key id clients sign with (default AWS_ACCESS_KEY_ID)", process.env.AWS_ACCESS_KEY_ID)
    .option("--secret-access-key <secret>", "its secret (default AWS_SECRET_ACCESS_KEY)", process.env.AWS_SECRET_ACCESS_KEY)
    .option("--bucket <name>", "a bucket to create at start (repeatable)", (v: string, prev: string[]) => collect(bucketName(v), prev), [])
    .action(async (opts: { port: number; dir: string; host: string; accessKeyId?: string; secretAccessKey?: string; bucket: string[] }) => {
      if (!opts.accessKeyId || !opts.secretAccessKey) {
        throw new InvalidArgumentError("--access-key-id and --secret-access-key are required (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
      }
      const server = await startS3Server({
        host: opts.host,
        port: opts.port,
        directory: opts.dir,
        accessKeyId: opts.accessKeyId,
        secretAccessKey: opts.secretAccessKey,
        buckets: opts.bucket,
      });
      process.stderr.write(`S3 server ready at ${server.endpoint} (objects in ${opts.dir}${opts.bucket.length ? `, buckets ${opts.bucket.join(", ")}` : ""}); Ctrl-C stops it\n`);
      stopOn(() => server.close());
    });
}
