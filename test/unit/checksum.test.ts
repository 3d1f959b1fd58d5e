import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Adler32, checksumsOf, checksumsOfStream, ChecksumTap } from "../../lib/checksum";

/** Adler-32 by the definition (RFC 1950), one byte at a time with a reduction each step. */
function adler32Reference(bytes: Uint8Array): string {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return (b * 65536 + a).toString(16).padStart(8, "0");
}

describe("checksums", () => {
  it("gives the published adler32 and md5 of known texts", () => {
    expect(checksumsOf(Buffer.from("Wikipedia"))).toEqual({ bytes: 9, adler32: "11e60398", md5: "9c677286866aad38f8e9b660f5411814" });
    expect(checksumsOf(Buffer.alloc(0))).toEqual({ bytes: 0, adler32: "00000001", md5: "d41d8cd98f00b204e9800998ecf8427e" });
    expect(checksumsOf(Buffer.from("The quick brown fox jumps over the lazy dog"))).toEqual({
      bytes: 43,
      adler32: "5bdc0fda",
      md5: "9e107d9d372bb6826bd81d3542a419d6",
    });
  });

  it("agrees with the byte-at-a-time definition on long runs of 0xff (where the sums overflow soonest)", () => {
    for (const size of [3799, 3800, 3801, 5552, 5553, 100000, 1 << 20]) {
      const bytes = Buffer.alloc(size, 0xff);
      expect(new Adler32().update(bytes).digest()).toBe(adler32Reference(bytes));
    }
    const random = randomBytes(300001);
    expect(new Adler32().update(random).digest()).toBe(adler32Reference(random));
  });

  it("gives the same result whatever the chunking, through the tap and over a stream", async () => {
    const data = randomBytes(1_000_003);
    const whole = checksumsOf(data);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; ) {
      const n = 1 + ((i * 7919) % 70000);
      chunks.push(data.subarray(i, i + n));
      i += n;
    }
    const tap = new ChecksumTap();
    let passed = 0;
    await pipeline(Readable.from(chunks), tap, new Writable({ write(chunk, _e, cb) { passed += chunk.length; cb(); } }));
    expect(tap.result()).toEqual(whole);
    expect(passed).toBe(data.length);
    expect(await checksumsOfStream(Readable.from(chunks))).toEqual(whole);
  });

  it("refuses to report before the stream ended", () => {
    const tap = new ChecksumTap();
    tap.write(Buffer.from("abc"));
    expect(tap.bytesSeen).toBe(3);
    expect(() => tap.result()).toThrow(/before the stream ended/);
  });
});
