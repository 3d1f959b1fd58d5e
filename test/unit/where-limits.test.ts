import { DbbError } from "../../lib/errors";
import { parseWhere, WHERE_LIMITS } from "../../subgraphs/facility/where/parser";

/** The bounds of a where expression (WHERE_TOO_COMPLEX) and how little of the input an error echoes. */
function refusal(expression: string): DbbError {
  try {
    parseWhere(expression);
  } catch (err) {
    if (err instanceof DbbError) return err;
    throw new Error(`expected a DbbError, got ${(err as Error).name}: ${(err as Error).message}`);
  }
  throw new Error("expected the expression to be refused");
}

const repeat = (n: number, f: (i: number) => string, sep: string) => Array.from({ length: n }, (_, i) => f(i)).join(sep);

describe("where limits", () => {
  it("refuses a sum of 300 terms (which wedged the embedded database) as WHERE_TOO_COMPLEX", () => {
    const err = refusal(`${repeat(300, () => "detector", " + ")} = 1`);
    expect(err.code).toBe("WHERE_TOO_COMPLEX");
    expect(err.details.limit).toBe(WHERE_LIMITS.maxNesting);
    expect(err.message).toMatch(/nests more than 64 levels/);
  });

  it("refuses NOT ×273 and unary minus ×624 (which desynchronised the connection)", () => {
    expect(refusal(`${"NOT ".repeat(273)}detector = 1`).code).toBe("WHERE_TOO_COMPLEX");
    expect(refusal(`detector = ${"-".repeat(624)}1`).code).toBe("WHERE_TOO_COMPLEX");
  });

  it("refuses 50,000 nested parentheses with a coded error, not a stack overflow", () => {
    const err = refusal(`${"(".repeat(50000)}detector = 1${")".repeat(50000)}`);
    expect(err.code).toBe("WHERE_TOO_COMPLEX");
  });

  it("counts a chain of ORs once, so 500 alternatives parse, and refuses more than 1,000 terms", () => {
    const ok = parseWhere(repeat(250, (i) => `detector = ${i}`, " OR "));
    expect(ok).not.toBeNull();
    const err = refusal(repeat(501, (i) => `detector = ${i}`, " OR "));
    expect(err.code).toBe("WHERE_TOO_COMPLEX");
    expect(err.details.limit).toBe(WHERE_LIMITS.maxTerms);
    expect(err.message).toMatch(/more than 1000 terms/);
  });

  it("bounds IN lists by length only: 5,000 values parse", () => {
    const node = parseWhere(`visit IN (${repeat(5000, (i) => String(i), ", ")})`);
    expect(node?.kind === "in" && node.items.length).toBe(5000);
  });

  it("refuses an expression longer than 65,536 characters and echoes only an excerpt", () => {
    const err = refusal(`detector IN (${repeat(20000, (i) => String(i), ", ")})`);
    expect(err.code).toBe("WHERE_TOO_COMPLEX");
    expect(String(err.details.expression).length).toBeLessThanOrEqual(170);
    expect(err.message.length).toBeLessThan(400);
  });

  it("echoes at most a short excerpt of a long expression in a syntax error", () => {
    const long = `'${"x".repeat(30000)}'`;
    const err = refusal(`detector = 1 AND ${long} ${long}`);
    expect(err.code).toBe("WHERE_SYNTAX_ERROR");
    expect(String(err.details.expression).length).toBeLessThanOrEqual(170);
    expect(err.message.length).toBeLessThan(400);
  });
});

describe("where ranges as daf_butler's lexer reads them", () => {
  // parserLex.py: _RE_RANGE = r"(?P<start>-?\d+)\s*\.\.\s*(?P<stop>-?\d+)(\s*:\s*(?P<stride>[1-9]\d*))?"
  it.each([
    ["detector IN (-10 .. 10:5)", -10, 10, 5],
    ["detector IN (1..10 : 2)", 1, 10, 2],
    ["detector IN (1 ..10: 2)", 1, 10, 2],
    ["detector IN (1\t..\n10\n:\t2)", 1, 10, 2],
    ["detector IN (-5..-1)", -5, -1, null],
  ])("reads %j", (expression, start, stop, stride) => {
    const node = parseWhere(expression);
    expect(node?.kind).toBe("in");
    expect(node?.kind === "in" && node.items[0]).toMatchObject({ kind: "range", start, stop, stride });
  });
});
