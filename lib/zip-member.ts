import { inflateRawSync } from "node:zlib";

/**
 * Reads one member of a zip file through byte-range reads, without reading the whole zip: the
 * end of central directory (within the last 64 KiB + 22 bytes), the central directory, the
 * member's local header and its data — four reads whatever the zip's size. Zip64 archives (more
 * than 65,535 members, or beyond 4 GiB) are read too. Stored and deflated members only; what is
 * not a zip is an Error saying so. The agent takes a Butler zip's `_butler_zip_index.json` from
 * its own copy with it (agents/ingest-inputs.ts).
 */
export type RangeReader = (start: number, endInclusive: number) => Promise<Buffer>;

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_U32 = 0xffffffff;

function u64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("zip offset beyond 2^53");
  return Number(v);
}

export async function readZipMemberRanged(read: RangeReader, size: number, name: string, options: { maxBytes?: number } = {}): Promise<Buffer | null> {
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  if (size < 22) throw new Error("not a zip file (too short)");
  const tailStart = Math.max(0, size - 65557);
  const tail = await read(tailStart, size - 1);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip file (no end of central directory)");
  let entries = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if ((entries === 0xffff || cdSize === MAX_U32 || cdOffset === MAX_U32) && eocd >= 20 && tail.readUInt32LE(eocd - 20) === EOCD64_LOCATOR) {
    const at = u64(tail, eocd - 20 + 8);
    const record = await read(at, at + 55);
    if (record.readUInt32LE(0) !== EOCD64) throw new Error("corrupt zip64 end of central directory");
    entries = u64(record, 32);
    cdSize = u64(record, 40);
    cdOffset = u64(record, 48);
  }
  if (cdSize > maxBytes) throw new Error(`the zip's central directory is ${cdSize} bytes, more than ${maxBytes} read`);
  if (cdOffset + cdSize > size) throw new Error("corrupt zip (central directory beyond the end)");
  const cd = cdSize ? await read(cdOffset, cdOffset + cdSize - 1) : Buffer.alloc(0);
  let p = 0;
  for (let n = 0; n < entries; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new Error("corrupt zip central directory");
    const method = cd.readUInt16LE(p + 10);
    let compressed = cd.readUInt32LE(p + 20);
    let uncompressed = cd.readUInt32LE(p + 24);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    let local = cd.readUInt32LE(p + 42);
    const entryName = cd.subarray(p + 46, p + 46 + nameLength).toString("utf8");
    if (entryName === name) {
      // Zip64: the values that do not fit are in the extra field 0x0001, in this order.
      const extra = cd.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
      for (let e = 0; e + 4 <= extra.length; ) {
        const id = extra.readUInt16LE(e);
        const len = extra.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (uncompressed === MAX_U32) (uncompressed = u64(extra, q)), (q += 8);
          if (compressed === MAX_U32) (compressed = u64(extra, q)), (q += 8);
          if (local === MAX_U32) local = u64(extra, q);
        }
        e += 4 + len;
      }
      if (compressed > maxBytes || uncompressed > maxBytes) throw new Error(`zip member ${name} is larger than the ${maxBytes} bytes read`);
      const header = await read(local, local + 29);
      if (header.readUInt32LE(0) !== LOCAL) throw new Error("corrupt zip local header");
      const start = local + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
      const data = compressed ? await read(start, start + compressed - 1) : Buffer.alloc(0);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data, { maxOutputLength: maxBytes });
      throw new Error(`zip member ${name} uses compression method ${method}; only stored and deflated are read`);
    }
    p += 46 + nameLength + extraLength + commentLength;
  }
  return null;
}
