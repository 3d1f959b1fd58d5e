import { DbbError } from "../../lib/errors";
import { readdirSync } from "node:fs";
import { FITS_BLOCK, readFitsHeader, readHeaderText, readHeaderValues, writeFitsFile, writeFitsHeader } from "../../lib/fits-header";
import { isTranslatedCard } from "../../subgraphs/facility/instrument/translate";
import { headerCards, HEADERS_DIR, obsLsstHeader } from "../support/obs-lsst-headers";

const card = (text: string) => text.padEnd(80);
const block = (...cards: string[]) => Buffer.from([...cards, card("END")].join("").padEnd(FITS_BLOCK), "latin1");

function codeOf(fn: () => unknown): { code: string; details: Record<string, unknown>; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof DbbError) return { code: err.code, details: err.details, message: err.message };
    throw err;
  }
  throw new Error("expected a DbbError");
}

describe("readFitsHeader", () => {
  it("reads strings with '' escapes and trailing blanks dropped, logicals, integers, floats with E and D exponents, undefined values and comments", () => {
    const h = readFitsHeader(
      block(
        card("SIMPLE  =                    T / conforms"),
        card("BITPIX  =                   16"),
        card("OBJECT  = 'O''Brien field  ' / target"),
        card("EXPTIME =                 15.0"),
        card("SMALL   =             1.5D-03"),
        card("BIG     =               -2E+10"),
        card("SEQNUM  =                   60"),
        card("FLAG    =                    F"),
        card("UNDEF   =                      / nothing"),
        card("COMMENT a comment card"),
        card("HIERARCH SIMULATE ATDOME = 1 / hierarch"),
      ),
    );
    expect(h.values).toEqual({ SIMPLE: true, BITPIX: 16, OBJECT: "O'Brien field", EXPTIME: 15, SMALL: 0.0015, BIG: -2e10, SEQNUM: 60, FLAG: false, UNDEF: null, "SIMULATE ATDOME": 1 });
    expect(h.cards.find((c) => c.keyword === "OBJECT")?.comment).toBe("target");
    expect(h.cards.find((c) => c.keyword === "COMMENT")).toEqual({ keyword: "COMMENT", comment: "a comment card" });
    expect(h.byteLength).toBe(FITS_BLOCK);
  });

  it("joins CONTINUE cards into one long string", () => {
    const h = readFitsHeader(block(card("SIMPLE  = T"), card("LONG    = 'first part &'"), card("CONTINUE  'second part&'"), card("CONTINUE  ' end'")));
    expect(h.values.LONG).toBe("first part second part end");
  });

  it("round-trips a real LSSTCam header written by writeFitsFile, long strings and HIERARCH keywords included", () => {
    const values = { ...obsLsstHeader("lsstCam-MC_O_20250415_000060_R01_S01.yaml"), LONGTEXT: "x'".repeat(60), "LONG KEYWORD NAME": 3.25 };
    const file = writeFitsFile(headerCards(values), { width: 4, height: 3, pixels: (x, y) => x + 10 * y });
    expect(file.length % FITS_BLOCK).toBe(0);
    const h = readFitsHeader(file);
    for (const [k, v] of Object.entries(values)) {
      if (k === "COMMENT" || /^(BITPIX|NAXIS\d*|SIMPLE|EXTEND)$/.test(k)) continue;
      expect([k, h.values[k]]).toEqual([k, v]);
    }
    expect(h.values.NAXIS).toBe(2);
    expect(file.readInt16BE(h.byteLength + 2 * (4 * 2 + 1))).toBe(21);
  });

  it("reads header text (the cards as 80-column text, or one a line) as the file's bytes", () => {
    const bytes = writeFitsHeader({ SIMPLE: true, DAYOBS: "20250415", SEQNUM: 60 });
    expect(readHeaderText(bytes.toString("latin1")).values).toEqual({ SIMPLE: true, DAYOBS: "20250415", SEQNUM: 60 });
    expect(readHeaderText("DAYOBS  = '20250415'\nSEQNUM  = 60\nEND\n").values).toEqual({ DAYOBS: "20250415", SEQNUM: 60 });
  });

  it("refuses what is not FITS, a header without END, and one longer than the limit, with BAD_FITS_HEADER", () => {
    expect(codeOf(() => readFitsHeader(Buffer.from("PK\u0003\u0004 this is a zip".padEnd(2880)))).code).toBe("BAD_FITS_HEADER");
    const truncated = codeOf(() => readFitsHeader(Buffer.from(card("SIMPLE  = T").repeat(36), "latin1")));
    expect(truncated).toMatchObject({ code: "BAD_FITS_HEADER", details: { truncated: true } });
    const long = Buffer.from(card("SIMPLE  = T").repeat(36 * 3), "latin1");
    expect(codeOf(() => readFitsHeader(long, { maxBlocks: 2 }))).toMatchObject({ code: "BAD_FITS_HEADER", details: { limit: 2 } });
  });

  it("names the bad card: an unclosed string, a value that is no FITS type, a non-ASCII byte (BAD_HEADER_CARD)", () => {
    expect(codeOf(() => readFitsHeader(block(card("SIMPLE  = T"), card("OBJECT  = 'no end"))))).toMatchObject({ code: "BAD_HEADER_CARD", details: { card: 2, keyword: "OBJECT" } });
    expect(codeOf(() => readFitsHeader(block(card("SIMPLE  = T"), card("SEQNUM  = sixty"))))).toMatchObject({ code: "BAD_HEADER_CARD", details: { keyword: "SEQNUM" } });
    const bad = block(card("SIMPLE  = T"), card("OBJECT  = 'caf\u00e9'"));
    expect(codeOf(() => readFitsHeader(bad))).toMatchObject({ code: "BAD_HEADER_CARD", details: { card: 2, keyword: "OBJECT" } });
  });
});

describe("readHeaderValues (the ingest's reader of the cards it translates)", () => {
  const translated = (k: string) => isTranslatedCard(k);
  const everything = () => true;
  const some = (k: string) => ["OBJECT", "LONGSTR", "SEQNUM", "ESO DET CHIP", "EXPTIME"].includes(k);
  const text = (...cards: string[]) => [...cards, card("END")].join("").padEnd(FITS_BLOCK);

  it("gives what readHeaderText gives for every obs_lsst header, whichever cards are kept", () => {
    for (const file of readdirSync(HEADERS_DIR)) {
      const header = writeFitsHeader(headerCards(obsLsstHeader(file))).toString("latin1");
      for (const keep of [translated, everything, some]) {
        expect({ file, values: readHeaderValues(header, keep) }).toEqual({ file, values: readHeaderText(header, { keep }).values });
      }
    }
  });

  it("joins long strings over CONTINUE cards, reads HIERARCH cards, keeps the first of a repeated keyword, and ignores what follows END", () => {
    const long = "x".repeat(100) + "'y" + "z".repeat(80);
    const header = writeFitsHeader([
      { keyword: "OBJECT", value: "first", comment: "a comment" },
      { keyword: "LONGSTR", value: long },
      { keyword: "SKIPPED", value: 1 },
      { keyword: "ESO DET CHIP", value: "CCD-42" },
      { keyword: "OBJECT", value: "second" },
      { keyword: "SEQNUM", value: 60 },
    ]).toString("latin1");
    const after = header.replace("END" + " ".repeat(77), card("END") ) + card("EXPTIME = 30.0");
    for (const h of [header, after]) {
      const values = readHeaderValues(h, some);
      expect(values).toEqual({ OBJECT: "first", LONGSTR: long, "ESO DET CHIP": "CCD-42", SEQNUM: 60 });
      expect(values).toEqual(readHeaderText(h, { keep: some }).values);
    }
  });

  it("names a bad card it reads (BAD_HEADER_CARD) and reads past bytes FITS does not allow in a card it skips", () => {
    expect(codeOf(() => readHeaderValues(text(card("SIMPLE  = T"), card("SEQNUM  = sixty")), some))).toMatchObject({ code: "BAD_HEADER_CARD", details: { card: 2, keyword: "SEQNUM" } });
    expect(codeOf(() => readHeaderValues(text(card("OBJECT  = 'caf\u00e9'")), some))).toMatchObject({ code: "BAD_HEADER_CARD", details: { card: 1, keyword: "OBJECT" } });
    expect(codeOf(() => readHeaderValues(text(card("SEQNUM  = 60 junk")), some))).toMatchObject({ code: "BAD_HEADER_CARD", details: { keyword: "SEQNUM" } });
    expect(readHeaderValues(text(card("COMMENT caf\u00e9"), card("SEQNUM  = 60")), some)).toEqual({ SEQNUM: 60 });
    expect(codeOf(() => readHeaderValues(text(), some))).toMatchObject({ code: "BAD_FITS_HEADER" });
  });
});
