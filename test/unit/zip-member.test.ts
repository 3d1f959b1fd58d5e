import { readFileSync } from "node:fs";
import path from "node:path";
import { readZipMemberRanged } from "../../lib/zip-member";
import { readZipMember } from "../../subgraphs/facility/transfers/zip-file";

/**
 * lib/zip-member.ts reads one member of a zip by byte ranges, as the agent reads a Butler zip's
 * index from its copy: on daf_butler's own Butler zip (test/data/daf_butler, a deflated index
 * and stored members), with a fixed number of reads whatever the zip's size.
 */
const zip = readFileSync(path.resolve(__dirname, "../../../test/data/daf_butler/ci_hsc-calexp-butler.zip"));

function reader(bytes: Buffer) {
  const reads: Array<[number, number]> = [];
  return {
    reads,
    read: async (start: number, end: number) => {
      reads.push([start, end]);
      return bytes.subarray(start, end + 1);
    },
  };
}

it("reads the Butler zip's _butler_zip_index.json (deflated) and a stored member as the whole-file reader does, in four ranged reads", async () => {
  const r = reader(zip);
  const index = await readZipMemberRanged(r.read, zip.length, "_butler_zip_index.json");
  expect(index!.equals(readZipMember(zip, "_butler_zip_index.json")!)).toBe(true);
  expect(JSON.parse(index!.toString("utf8")).index_version).toBe("V1");
  expect(r.reads).toHaveLength(4);
  const member = Object.keys(JSON.parse(index!.toString("utf8")).artifact_map)[0];
  expect((await readZipMemberRanged(reader(zip).read, zip.length, member))!.equals(readZipMember(zip, member)!)).toBe(true);
});

it("gives up on a 100 MiB file without an end of central directory after reading only its last 64 KiB", async () => {
  const padding = 100 * 1024 * 1024;
  const r = {
    reads: [] as Array<[number, number]>,
    read: async (start: number, end: number) => {
      r.reads.push([start, end]);
      return Buffer.alloc(end - start + 1);
    },
  };
  await expect(readZipMemberRanged(r.read, padding, "_butler_zip_index.json")).rejects.toThrow(/not a zip file/);
  expect(r.reads.reduce((n, [a, b]) => n + b - a + 1, 0)).toBeLessThanOrEqual(65557);
});

it("answers null for a member the zip does not hold, and says what is wrong with what is not a zip", async () => {
  expect(await readZipMemberRanged(reader(zip).read, zip.length, "no-such-member.json")).toBeNull();
  const notZip = Buffer.from("SIMPLE  =                    T".padEnd(2880));
  await expect(readZipMemberRanged(reader(notZip).read, notZip.length, "_butler_zip_index.json")).rejects.toThrow(/not a zip file \(no end of central directory\)/);
  await expect(readZipMemberRanged(reader(Buffer.alloc(5)).read, 5, "x")).rejects.toThrow(/too short/);
});
