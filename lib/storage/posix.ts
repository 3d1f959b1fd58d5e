import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { lstat, mkdir, open, realpath, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { addAbortSignal, Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ChecksumTap } from "../checksum";
import { DbbError, ErrorCode, invalidInput } from "../errors";
import type { ObjectInfo, StorageDriver, StorageLocation, WriteOptions, WriteResult } from "./driver";
import { checkRange, pathSegments } from "./object-path";
import { systemStorageError, watchSourceErrors } from "./storage-errors";

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * A POSIX filesystem root. Writes go to `.<name>.<random>.part` in the destination folder, are
 * fsynced, renamed over the final name (atomic on one filesystem) and the folder fsynced; on any
 * failure or abort the temporary file is removed. Symlinks are followed only while they stay under
 * the root's real path.
 */
export class PosixDriver implements StorageDriver {
  private readonly root: string;

  constructor(readonly location: StorageLocation) {
    if (!location.root || !path.isAbsolute(location.root)) {
      throw invalidInput(`RSE ${location.rse}: a POSIX protocol needs an absolute root folder, got '${location.root ?? ""}'`);
    }
    this.root = path.resolve(location.root);
  }

  private describe(objectPath: string): string {
    return `${this.location.rse}:${objectPath}`;
  }

  private async realRoot(create: boolean): Promise<string> {
    try {
      return await realpath(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && create) {
        await mkdir(this.root, { recursive: true });
        return realpath(this.root);
      }
      throw err;
    }
  }

  /** Refuses a path whose deepest existing part resolves (through symlinks) outside the root. */
  private async confine(objectPath: string, full: string, rootReal: string): Promise<void> {
    let probe = full;
    for (;;) {
      try {
        const real = await realpath(probe);
        if (!isInside(rootReal, real)) {
          throw new DbbError(ErrorCode.PATH_OUTSIDE_ROOT, `'${objectPath}' resolves outside the root of RSE ${this.location.rse} (through a symbolic link)`, { path: objectPath });
        }
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ENOTDIR") throw err;
        if (probe === rootReal || probe === this.root) return;
        probe = path.dirname(probe);
      }
    }
  }

  /** The absolute, confined file name of an object. */
  private async resolve(objectPath: string, create = false): Promise<string> {
    const segments = pathSegments(objectPath);
    const rootReal = await this.realRoot(create);
    const full = path.join(rootReal, ...segments);
    await this.confine(objectPath, full, rootReal);
    return full;
  }

  async write(objectPath: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    const sourceError = watchSourceErrors(body);
    const what = `writing ${this.describe(objectPath)}`;
    let temp: string | undefined;
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      options.signal?.throwIfAborted();
      const full = await this.resolve(objectPath, true);
      const dir = path.dirname(full);
      await mkdir(dir, { recursive: true });
      // The folders just made may have met a symlink another writer planted: check again.
      await this.confine(objectPath, full, await this.realRoot(false));
      temp = path.join(dir, `.${path.basename(full)}.${randomBytes(6).toString("hex")}.part`);
      handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o644);
      const tap = new ChecksumTap();
      const fileHandle = handle;
      const sink = new Writable({
        highWaterMark: 1 << 20,
        write(chunk: Buffer, _encoding, callback) {
          writeAll(fileHandle, chunk).then(() => callback(), callback);
        },
        writev(chunks, callback) {
          writeAll(fileHandle, Buffer.concat(chunks.map((c) => c.chunk as Buffer))).then(() => callback(), callback);
        },
      });
      await pipeline(body, tap, sink, options.signal ? { signal: options.signal } : {});
      await handle.sync();
      await handle.close();
      handle = undefined;
      await options.beforeCommit?.(tap.result());
      await rename(temp, full);
      temp = undefined;
      await syncDirectory(dir);
      return tap.result();
    } catch (err) {
      await handle?.close().catch(() => undefined);
      if (temp) await unlink(temp).catch(() => undefined);
      if (err === sourceError() && !(err instanceof DbbError)) throw err;
      throw systemStorageError(err, what);
    }
  }

  async read(objectPath: string, range?: { start: number; end?: number }, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const what = `reading ${this.describe(objectPath)}`;
    try {
      checkRange(range);
      const full = await this.resolve(objectPath);
      const handle = await open(full, fsConstants.O_RDONLY);
      const info = await handle.stat().catch(async (err) => {
        await handle.close();
        throw err;
      });
      if (!info.isFile()) {
        await handle.close();
        throw new DbbError(ErrorCode.OBJECT_NOT_FOUND, `${what}: no such object (a folder is there)`);
      }
      const stream = handle.createReadStream({ start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
      return options.signal ? addAbortSignal(options.signal, stream) : stream;
    } catch (err) {
      throw systemStorageError(err, what);
    }
  }

  async stat(objectPath: string): Promise<ObjectInfo | null> {
    try {
      const info = await stat(await this.resolve(objectPath));
      return info.isFile() ? { bytes: info.size } : null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return null;
      throw systemStorageError(err, `stat of ${this.describe(objectPath)}`);
    }
  }

  async existing(paths: readonly string[]): Promise<Set<string> | null> {
    const found = new Set<string>();
    await Promise.all([...new Set(paths)].map(async (p) => void ((await this.stat(p)) && found.add(p))));
    return found;
  }

  async delete(objectPath: string): Promise<boolean> {
    try {
      const full = await this.resolve(objectPath);
      const info = await lstat(full);
      if (info.isDirectory()) return false;
      await unlink(full);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return false;
      throw systemStorageError(err, `deleting ${this.describe(objectPath)}`);
    }
  }
}

async function writeAll(handle: Awaited<ReturnType<typeof open>>, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** Makes a rename durable: fsync of the folder that holds the new name. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
