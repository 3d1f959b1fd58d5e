import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { adler32, adler32File, adler32Hex, adler32Update, ADLER32_START } from "../../lib/adler32";

// Reference values from zlib.adler32 (Python 3): b"Wikipedia" and 3,000,000 bytes (i*7+3) % 256.
const big = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 7 + 3) % 256);

it("gives zlib's Adler-32 for a short text, the empty input and 3 MB of bytes", () => {
  expect(adler32(Buffer.from("Wikipedia"))).toBe("11e60398");
  expect(adler32(new Uint8Array())).toBe("00000001");
  expect(adler32(big)).toBe("faa2cfa4");
});

it("gives the same value when the bytes come in pieces of any size", () => {
  let v = ADLER32_START;
  for (let i = 0; i < big.length; i += 77_777) v = adler32Update(v, big.subarray(i, i + 77_777));
  expect(adler32Hex(v)).toBe("faa2cfa4");
});

it("reads a file as a stream and gives its size and checksum", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dbb-adler-"));
  try {
    writeFileSync(path.join(dir, "f"), big);
    expect(await adler32File(path.join(dir, "f"))).toEqual({ bytes: 3_000_000, adler32: "faa2cfa4" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
