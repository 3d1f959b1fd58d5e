import { createReadStream } from "node:fs";

/**
 * Adler-32 (RFC 1950), the checksum Rucio and the catalog keep for every file, computed over a
 * stream in pieces: `adler32Update` carries the running value from one piece to the next.
 */
const MOD = 65521;
/** The most bytes summed before a modulo keeps the sums below 2^53 (zlib's NMAX is 5552 for 32 bits). */
const BLOCK = 1 << 20;

export const ADLER32_START = 1;

export function adler32Update(value: number, bytes: Uint8Array): number {
  let a = value & 0xffff;
  let b = (value >>> 16) & 0xffff;
  for (let start = 0; start < bytes.length; start += BLOCK) {
    const end = Math.min(bytes.length, start + BLOCK);
    for (let i = start; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}

/** The checksum as the catalog stores it: 8 lower-case hex digits. */
export const adler32Hex = (value: number) => value.toString(16).padStart(8, "0");

export function adler32(bytes: Uint8Array): string {
  return adler32Hex(adler32Update(ADLER32_START, bytes));
}

/** Size and Adler-32 of a local file, read as a stream. */
export async function adler32File(path: string): Promise<{ bytes: number; adler32: string }> {
  let value = ADLER32_START;
  let bytes = 0;
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) {
    value = adler32Update(value, piece as Buffer);
    bytes += (piece as Buffer).length;
  }
  return { bytes, adler32: adler32Hex(value) };
}
