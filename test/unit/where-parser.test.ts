import { DbbError } from "../../lib/errors";
import {
  bindNamesOf,
  identifiersOf,
  parseWhere,
  WhereNode,
} from "../../subgraphs/facility/where/parser";

/** Renders a tree compactly so that grouping is visible: binary nodes as (lhs OP rhs). */
function show(node: WhereNode | null): string {
  if (node === null) return "null";
  switch (node.kind) {
    case "identifier":
      return node.name;
    case "number":
      return node.raw;
    case "string":
      return `'${node.value}'`;
    case "time":
      return `T'${node.raw}'`;
    case "bind":
      return `:${node.name}`;
    case "range":
      return `${node.start}..${node.stop}${node.stride === null ? "" : `:${node.stride}`}`;
    case "unary":
      return node.op === "NOT" ? `(NOT ${show(node.operand)})` : `(${node.op}${show(node.operand)})`;
    case "binary":
      return `(${show(node.lhs)} ${node.op} ${show(node.rhs)})`;
    case "in":
      return `(${show(node.expr)} ${node.negated ? "NOT IN" : "IN"} [${node.items.map(show).join(", ")}])`;
    case "overlaps":
      return `(${show(node.lhs)} OVERLAPS ${show(node.rhs)})`;
    case "function":
      return `${node.name}(${node.args.map(show).join(", ")})`;
    case "tuple":
      return `<${node.items.map(show).join(", ")}>`;
  }
}

function parse(expression: string): WhereNode {
  const node = parseWhere(expression);
  if (node === null) throw new Error(`expected a tree for ${expression}`);
  return node;
}

function expectNode<K extends WhereNode["kind"]>(node: WhereNode, kind: K): Extract<WhereNode, { kind: K }> {
  expect(node.kind).toBe(kind);
  return node as Extract<WhereNode, { kind: K }>;
}

/** Asserts that parsing fails with WHERE_SYNTAX_ERROR at `position`; returns the message. */
function syntaxErrorOf(expression: string, position: number): string {
  let caught: unknown;
  try {
    parseWhere(expression);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DbbError);
  const err = caught as DbbError;
  expect(err.code).toBe("WHERE_SYNTAX_ERROR");
  expect(err.details).toEqual({ position, expression });
  expect(err.message).toContain(`at position ${position}`);
  return err.message;
}

describe("parseWhere: empty input", () => {
  it("returns null for an empty or whitespace-only expression", () => {
    expect(parseWhere("")).toBeNull();
    expect(parseWhere("   \t\n ")).toBeNull();
  });
});

describe("parseWhere: literals", () => {
  it("parses integers, floats and exponents, keeping the raw text", () => {
    expect(parse("42")).toEqual({ kind: "number", value: 42, raw: "42", isInteger: true, position: 0 });
    expect(parse(" 3.25")).toEqual({ kind: "number", value: 3.25, raw: "3.25", isInteger: false, position: 1 });
    expect(parse("1.e5")).toMatchObject({ value: 100000, raw: "1.e5", isInteger: false });
    expect(parse("2E-3")).toMatchObject({ value: 0.002, raw: "2E-3", isInteger: false });
    expect(parse(".5e-2")).toMatchObject({ value: 0.005, raw: ".5e-2", isInteger: false });
  });

  it("parses strings in single and double quotes", () => {
    expect(parse("'r'")).toEqual({ kind: "string", value: "r", quote: "'", position: 0 });
    expect(parse(`"HSC-R2"`)).toEqual({ kind: "string", value: "HSC-R2", quote: '"', position: 0 });
    expect(parse("''")).toMatchObject({ kind: "string", value: "" });
    expect(parse(`'say "hi"'`)).toMatchObject({ value: 'say "hi"' });
  });

  it("parses ISO time literals (isot, iso, date only, fractional seconds) with UTC by default", () => {
    expect(parse("T'2024-01-01T00:00:00'")).toEqual({
      kind: "time", raw: "2024-01-01T00:00:00", format: "isot", scale: "utc",
      iso: "2024-01-01T00:00:00", mjd: 60310, position: 0,
    });
    const iso = expectNode(parse("T'2024-01-01 00:00:00.5'"), "time");
    expect(iso).toMatchObject({ format: "iso", scale: "utc", iso: "2024-01-01T00:00:00.5" });
    expect(iso.mjd).toBeCloseTo(60310 + 0.5 / 86400, 10);
    expect(parse("T'2024-01-01'")).toMatchObject({ format: "iso", scale: "utc", iso: "2024-01-01T00:00:00", mjd: 60310 });
    expect(parse("t'2020-03-30 12:20'")).toMatchObject({ format: "iso", iso: "2020-03-30T12:20:00" });
    expect(parse("T'2024-02-29T23:59:60'")).toMatchObject({ format: "isot", iso: "2024-02-29T23:59:60" });
    expect(parse("T'2024-01-01T00:00:00+00:00'")).toMatchObject({ format: "isot", iso: "2024-01-01T00:00:00" });
  });

  it("parses MJD time literals as TAI by default", () => {
    expect(parse("T'60000.5'")).toEqual({
      kind: "time", raw: "60000.5", format: "mjd", scale: "tai", iso: "2023-02-25T12:00:00", mjd: 60000.5, position: 0,
    });
    expect(parse("T'58938.'")).toMatchObject({ format: "mjd", mjd: 58938 });
  });

  it("parses the format/ prefix and the /scale suffix", () => {
    expect(parse("T'mjd/60000.5'")).toMatchObject({ format: "mjd", scale: "tai", mjd: 60000.5 });
    expect(parse("T'60000.5/utc'")).toMatchObject({ format: "mjd", scale: "utc", mjd: 60000.5 });
    expect(parse("T'MJD/60000.5/TT'")).toMatchObject({ format: "mjd", scale: "tt", mjd: 60000.5 });
    expect(parse("T'iso/2024-01-01 00:00:00'")).toMatchObject({ format: "iso", scale: "utc", mjd: 60310 });
    expect(parse("T'isot/2024-01-01T12:00:00/tai'")).toMatchObject({ format: "isot", scale: "tai", mjd: 60310.5 });
    expect(parse("T'2024-01-01T00:00:00/tai'")).toMatchObject({ format: "isot", scale: "tai", iso: "2024-01-01T00:00:00" });
    expect(parse("T'jd/2460310.5'")).toMatchObject({ format: "jd", scale: "tai", mjd: 60310, iso: "2024-01-01T00:00:00" });
    expect(parse("T'unix/86400.0'")).toMatchObject({ format: "unix", scale: "utc", mjd: 40588, iso: "1970-01-02T00:00:00" });
  });

  it("parses yday and fits time literals", () => {
    expect(parse("T'2024:060:12:30:00.25'")).toMatchObject({ format: "yday", scale: "utc", iso: "2024-02-29T12:30:00.25" });
    expect(parse("T'2023:365'")).toMatchObject({ format: "yday", iso: "2023-12-31T00:00:00" });
    expect(parse("T'+02024-01-01T00:00:00'")).toMatchObject({ format: "fits", scale: "utc", mjd: 60310 });
    expect(parse("T'fits/2024-01-01T00:00:00'")).toMatchObject({ format: "fits", mjd: 60310 });
  });

  it("parses bind parameters", () => {
    expect(parse(":visit_id")).toEqual({ kind: "bind", name: "visit_id", position: 0 });
    expect(show(parse("visit = :v AND band IN (:bands, 'r')"))).toBe("((visit = :v) AND (band IN [:bands, 'r']))");
  });
});

describe("parseWhere: identifiers", () => {
  it("parses simple and dotted identifiers with their parts", () => {
    expect(parse("detector")).toEqual({ kind: "identifier", name: "detector", parts: ["detector"], position: 0 });
    expect(parse("visit.day_obs")).toEqual({ kind: "identifier", name: "visit.day_obs", parts: ["visit", "day_obs"], position: 0 });
    expect(parse("exposure.observation_type")).toMatchObject({ parts: ["exposure", "observation_type"] });
    expect(parse("visit.timespan.begin")).toMatchObject({ parts: ["visit", "timespan", "begin"] });
    expect(parse("ingest_date")).toMatchObject({ kind: "identifier", name: "ingest_date" });
    expect(show(parse("visit.region OVERLAPS tract.region"))).toBe("(visit.region OVERLAPS tract.region)");
    expect(show(parse("ingest_date < T'2020-11-06 21:10:00'"))).toBe("(ingest_date < T'2020-11-06 21:10:00')");
  });

  it("keeps identifier case (only keywords and function names are case-insensitive)", () => {
    expect(parse("Instrument")).toMatchObject({ name: "Instrument" });
    expect(parse("visit.IN")).toMatchObject({ kind: "identifier", name: "visit.IN" });
  });
});

describe("parseWhere: ranges", () => {
  it("parses ranges with and without stride inside IN", () => {
    const node = expectNode(parse("visit IN (1..10, 100..200:5, -10 .. -1 : 2)"), "in");
    expect(node.items).toEqual([
      { kind: "range", start: 1, stop: 10, stride: null, position: 10 },
      { kind: "range", start: 100, stop: 200, stride: 5, position: 17 },
      { kind: "range", start: -10, stop: -1, stride: 2, position: 29 },
    ]);
  });
});

describe("parseWhere: precedence and grouping", () => {
  it("groups a OR b AND c as a OR (b AND c)", () => {
    expect(show(parse("a OR b AND c"))).toBe("(a OR (b AND c))");
    expect(show(parse("a AND b OR c"))).toBe("((a AND b) OR c)");
    expect(show(parse("a OR b OR c"))).toBe("((a OR b) OR c)");
  });

  it("binds NOT tighter than AND but looser than comparison", () => {
    expect(show(parse("NOT a = 1 AND b = 2"))).toBe("((NOT (a = 1)) AND (b = 2))");
    expect(show(parse("NOT NOT a"))).toBe("(NOT (NOT a))");
    expect(show(parse("a AND NOT b OR c"))).toBe("((a AND (NOT b)) OR c)");
    expect(show(parse("NOT visit IN (1, 2)"))).toBe("(NOT (visit IN [1, 2]))");
  });

  it("orders arithmetic: unary minus > * / % > + - > comparison", () => {
    expect(show(parse("a + b * c = d"))).toBe("((a + (b * c)) = d)");
    expect(show(parse("a - b - c"))).toBe("((a - b) - c)");
    expect(show(parse("-a * b"))).toBe("((-a) * b)");
    expect(show(parse("exposure % 2 = 1"))).toBe("((exposure % 2) = 1)");
    expect(show(parse("a / -2 + +b"))).toBe("((a / (-2)) + (+b))");
    expect(show(parse("- - a"))).toBe("(-(-a))");
    expect(show(parse("x + 1 IN (2, 3)"))).toBe("((x + 1) IN [2, 3])");
    expect(show(parse("a = b IN (1)"))).toBe("(a = (b IN [1]))");
  });

  it("keeps comparisons and OVERLAPS on one left-associative level, as daf_butler's bool_primary", () => {
    expect(show(parse("a < b = c"))).toBe("((a < b) = c)");
  });

  it("honours parentheses and records where the group starts", () => {
    const node = expectNode(parse("(a OR b) AND c"), "binary");
    expect(show(node)).toBe("((a OR b) AND c)");
    expect(node.position).toBe(0);
    expect(node.opPosition).toBe(9);
    expect(expectNode(node.lhs, "binary").position).toBe(1);
    expect(show(parse("((visit = 1 OR visit = 2)) AND band = 'r'"))).toBe("(((visit = 1) OR (visit = 2)) AND (band = 'r'))");
  });

  it("records positions of every node", () => {
    const node = expectNode(parse("visit > 100 AND  band != 'g'"), "binary");
    const left = expectNode(node.lhs, "binary");
    const right = expectNode(node.rhs, "binary");
    expect([node.position, left.position, left.lhs.position, left.rhs.position]).toEqual([0, 0, 0, 8]);
    expect([right.position, right.opPosition, right.rhs.position]).toEqual([17, 22, 25]);
  });

  it("accepts all comparison operators, <> being kept as !=", () => {
    for (const op of ["=", "!=", "<", "<=", ">", ">="]) {
      expect(expectNode(parse(`a ${op} 10`), "binary").op).toBe(op);
    }
    expect(expectNode(parse("a <> 10"), "binary").op).toBe("!=");
  });
});

describe("parseWhere: IN and NOT IN", () => {
  it("parses mixed literals, ranges, binds and identifiers", () => {
    const node = expectNode(parse("visit IN (100, 110, 130..145:5, -3, +4, 'x', T'2024-01-01', :ids, other)"), "in");
    expect(node.negated).toBe(false);
    expect(node.position).toBe(0);
    expect(node.items.map((i) => i.kind)).toEqual([
      "number", "number", "range", "number", "number", "string", "time", "bind", "identifier",
    ]);
    expect(node.items[3]).toEqual({ kind: "number", value: -3, raw: "-3", isInteger: true, position: 32 });
    expect(node.items[4]).toMatchObject({ value: 4, raw: "+4" });
  });

  it("parses NOT IN in any case", () => {
    const node = expectNode(parse("visit Not In (100, 110, 130..145:5)"), "in");
    expect(node.negated).toBe(true);
    expect(show(node)).toBe("(visit NOT IN [100, 110, 130..145:5])");
    expect(show(parse("detector not in (1..4) and band in ('g')"))).toBe("((detector NOT IN [1..4]) AND (band IN ['g']))");
  });

  it("accepts a time tuple on the left of IN and UUID() in the list", () => {
    expect(show(parse("(T'2020-01-01', t1) IN (T'2020-01-01', t2)"))).toBe(
      "(<T'2020-01-01', t1> IN [T'2020-01-01', t2])",
    );
    expect(show(parse("dataset_id IN (UUID('5f8b4c6e-3a52-4b8f-9f3e-2f1c5d9a7b10'))"))).toBe(
      "(dataset_id IN [UUID('5f8b4c6e-3a52-4b8f-9f3e-2f1c5d9a7b10')])",
    );
  });
});

describe("parseWhere: OVERLAPS", () => {
  it("takes a time tuple on the right (and on the left)", () => {
    const node = expectNode(parse("visit.timespan OVERLAPS (T'2024-01-01', T'2024-01-02T12:00:00')"), "overlaps");
    expect(node.position).toBe(0);
    expect(node.opPosition).toBe(15);
    const tuple = expectNode(node.rhs, "tuple");
    expect(tuple.position).toBe(24);
    expect(tuple.items.map((i) => (i as { iso?: string }).iso)).toEqual(["2024-01-01T00:00:00", "2024-01-02T12:00:00"]);
    expect(show(parse("(T'2020-01-01', T'2022-01-01') overlaps (T'2019-01-01', :end)"))).toBe(
      "(<T'2020-01-01', T'2022-01-01'> OVERLAPS <T'2019-01-01', :end>)",
    );
  });

  it("takes a CIRCLE or POINT on the right", () => {
    expect(show(parse("visit.region OVERLAPS CIRCLE(150.1, -2.5, 0.1)"))).toBe("(visit.region OVERLAPS CIRCLE(150.1, (-2.5), 0.1))");
    expect(show(parse("NOT (patch.region OVERLAPS POINT(:ra, :dec))"))).toBe("(NOT (patch.region OVERLAPS POINT(:ra, :dec)))");
    expect(show(parse("visit.region OVERLAPS region_1 AND band = 'r'"))).toBe("((visit.region OVERLAPS region_1) AND (band = 'r'))");
  });
});

describe("parseWhere: functions", () => {
  it("accepts each known function with the right number of arguments, names upper-cased", () => {
    expect(parse("POINT(1, 2)")).toMatchObject({ kind: "function", name: "POINT", position: 0 });
    expect(parse("point(ra, dec)")).toMatchObject({ name: "POINT" });
    expect(parse("Circle(1, 2, 0.5 * 2)")).toMatchObject({ name: "CIRCLE" });
    expect(parse("BOX(1, 2, 3, 4)")).toMatchObject({ name: "BOX" });
    expect(parse("POLYGON(1, 2, 3, 4, 5, 6)")).toMatchObject({ name: "POLYGON" });
    expect(expectNode(parse("POLYGON(1, 2, 3, 4, 5, 6, 7, 8)"), "function").args).toHaveLength(8);
    expect(parse("REGION('CIRCLE 1 2 3')")).toMatchObject({ name: "REGION" });
    expect(parse("REGION(:pos)")).toMatchObject({ name: "REGION" });
    expect(show(parse("glob(visit.name, 'abc*') OR GLOB(physical_filter, :pattern)"))).toBe(
      "(GLOB(visit.name, 'abc*') OR GLOB(physical_filter, :pattern))",
    );
  });

  it.each([
    ["POINT(1)", "POINT", "2 arguments"],
    ["POINT(1, 2, 3)", "POINT", "2 arguments"],
    ["CIRCLE(1, 2)", "CIRCLE", "3 arguments"],
    ["BOX(1, 2, 3)", "BOX", "4 arguments"],
    ["BOX(1, 2, 3, 4, 5)", "BOX", "4 arguments"],
    ["POLYGON(1, 2, 3, 4)", "POLYGON", "an even number of at least 6"],
    ["POLYGON(1, 2, 3, 4, 5, 6, 7)", "POLYGON", "an even number of at least 6"],
    ["REGION()", "REGION", "1 argument"],
    ["REGION('a', 'b')", "REGION", "1 argument"],
    ["GLOB(visit.name)", "GLOB", "2 arguments"],
    ["UUID()", "UUID", "1 argument"],
  ])("rejects %s (wrong number of arguments)", (expression, name, expected) => {
    const message = syntaxErrorOf(`a OVERLAPS ${expression}`, 11);
    expect(message).toContain(`${name}() at position 11 takes ${expected}`);
  });

  it("rejects arguments of the wrong sort", () => {
    expect(syntaxErrorOf("CIRCLE(1, 'two', 3)", 10)).toContain("expected a numeric expression");
    expect(syntaxErrorOf("POINT(1, a = 2)", 9)).toContain("expected a numeric expression");
    expect(syntaxErrorOf("REGION(1)", 7)).toContain("expected a string, bind parameter or identifier");
    expect(syntaxErrorOf("GLOB('abc*', visit.name)", 5)).toContain("expected an identifier as the first argument");
    expect(syntaxErrorOf("GLOB(visit.name, 3)", 17)).toContain("expected a string pattern");
    expect(syntaxErrorOf("UUID('not-a-uuid')", 5)).toContain("UUID");
  });
});

describe("parseWhere: keywords are case-insensitive", () => {
  it("accepts and/or/not/in/overlaps in any case", () => {
    expect(show(parse("a and b Or not c"))).toBe("((a AND b) OR (NOT c))");
    expect(show(parse("x iN (1) AnD y NoT iN (2)"))).toBe("((x IN [1]) AND (y NOT IN [2]))");
    expect(show(parse("t1 Overlaps t2"))).toBe("(t1 OVERLAPS t2)");
  });
});

describe("parseWhere: syntax errors", () => {
  it("reports an unterminated string at its opening quote", () => {
    expect(syntaxErrorOf("band = 'r", 7)).toContain("unterminated string");
    expect(syntaxErrorOf(`band = "r`, 7)).toContain("unterminated string");
    expect(syntaxErrorOf("band = 'r\n'", 7)).toContain("unterminated string");
    expect(syntaxErrorOf("t > T'2024-01-01", 4)).toContain("unterminated time literal");
  });

  it.each([
    ["T'yesterday'", "matches none"],
    ["T'2024-13-01'", "month 13"],
    ["T'2023-02-29'", "day 29"],
    ["T'2024-01-01 25:00'", "hour 25"],
    ["T'2024-01-01 12'", "matches none"],
    ["T'60000'", "matches none"],
    ["T'24-01-01'", "four digits"],
    ["T'tai/2024-01-01'", "is a time scale"],
    ["T'2024-01-01/xyz'", "unknown time scale"],
    ["T'foo/60000.5'", "unknown time format"],
    ["T'cxcsec/60000.5'", "not supported"],
    ["T'iso/2024-01-01T00:00:00'", "not 'T'"],
    ["T'isot/2024-01-01 00:00:00'", "not a space"],
    ["T'iso/60000.5'", "does not match"],
    ["T'mjd/2024-01-01'", "does not match"],
    ["T'2023:366'", "day of year"],
  ])("rejects the bad time literal %s", (literal, reason) => {
    const message = syntaxErrorOf(`x > ${literal}`, 4);
    expect(message).toContain(`bad time literal ${literal} at position 4`);
    expect(message).toContain(reason);
  });

  it("reports unbalanced parentheses", () => {
    expect(syntaxErrorOf("(a = 1 AND b = 2", 0)).toContain("'(' at position 0 is never closed");
    expect(syntaxErrorOf("a = 1 AND (b = 2 OR (c = 3)", 10)).toContain("never closed");
    expect(syntaxErrorOf("a = 1)", 5)).toContain("no matching '('");
    expect(syntaxErrorOf("(a = 1 b", 7)).toContain("expected ')'");
    expect(syntaxErrorOf("POINT(1, 2", 5)).toContain("never closed");
    expect(syntaxErrorOf("()", 1)).toContain("expected an expression");
  });

  it("reports a trailing operator as an unexpected end", () => {
    expect(syntaxErrorOf("a = 1 AND", 9)).toContain("unexpected end of expression at position 9: expected an expression after 'AND'");
    expect(syntaxErrorOf("a = 1 OR ", 9)).toContain("after 'OR'");
    expect(syntaxErrorOf("visit =", 7)).toContain("after '='");
    expect(syntaxErrorOf("visit + ", 8)).toContain("after '+'");
    expect(syntaxErrorOf("NOT", 3)).toContain("after 'NOT'");
    expect(syntaxErrorOf("a OVERLAPS", 10)).toContain("after 'OVERLAPS'");
    expect(syntaxErrorOf("(a AND) OR b", 6)).toContain("after 'AND'");
  });

  it("reports an unknown function", () => {
    expect(syntaxErrorOf("visit.region OVERLAPS ELLIPSE(1, 2, 3, 4)", 22)).toContain("unknown function 'ELLIPSE'");
    expect(syntaxErrorOf("lower(band) = 'r'", 0)).toContain("expected one of POINT, CIRCLE, BOX, POLYGON, REGION, GLOB, UUID");
    expect(syntaxErrorOf("visit.f(1)", 7)).toContain("function name without dots");
  });

  it("reports a range outside an IN list", () => {
    expect(syntaxErrorOf("visit = 1..10", 8)).toContain("only allowed inside an IN (...) list");
    expect(syntaxErrorOf("1..10:2", 0)).toContain("range 1..10:2");
    expect(syntaxErrorOf("visit IN (1..10:0)", 16)).toContain("expected a positive integer");
  });

  it("reports an empty or malformed IN list", () => {
    expect(syntaxErrorOf("visit IN ()", 10)).toContain("empty IN list");
    expect(syntaxErrorOf("visit NOT IN ( )", 15)).toContain("empty IN list");
    expect(syntaxErrorOf("visit IN (1,)", 12)).toContain("another IN list item");
    expect(syntaxErrorOf("visit IN 1", 9)).toContain("expected '(' after IN");
    expect(syntaxErrorOf("visit IN (x + 1)", 12)).toContain("expected ',' or ')'");
    expect(syntaxErrorOf("visit IN ((1))", 10)).toContain("expected a literal, range, bind parameter or simple identifier");
    expect(syntaxErrorOf("visit IN (exposure.id)", 10)).toContain("qualified identifier");
    expect(syntaxErrorOf("x IN (POINT(1, 2))", 6)).toContain("only function allowed in an IN list is UUID");
    expect(syntaxErrorOf("visit IN (1, 2", 9)).toContain("never closed");
    expect(syntaxErrorOf("visit NOT 3", 10)).toContain("expected IN after NOT");
    expect(syntaxErrorOf("a IN (1) IN (2)", 9)).toContain("found keyword IN");
  });

  it("reports a stray character", () => {
    expect(syntaxErrorOf("visit = 1; DROP TABLE x", 9)).toContain("unexpected character ';' at position 9");
    expect(syntaxErrorOf("a ! b", 2)).toContain("'!='");
    expect(syntaxErrorOf("a = 1 && b = 2", 6)).toContain("AND / OR");
    expect(syntaxErrorOf("a = #", 4)).toContain("unexpected character '#'");
    expect(syntaxErrorOf("visit.", 5)).toContain("unexpected character '.'");
    expect(syntaxErrorOf("a = : b", 4)).toContain("bind parameter name");
  });

  it("reports other misplaced tokens with what was found and expected", () => {
    expect(syntaxErrorOf("a == 1", 3)).toContain("equality is a single '='");
    expect(syntaxErrorOf("a = NOT b", 4)).toContain("NOT applies to a whole condition");
    expect(syntaxErrorOf("x IS NULL", 2)).toContain("IS is not part of the daf_butler where language");
    expect(syntaxErrorOf("visit 5", 6)).toContain("found number 5 at position 6");
    expect(syntaxErrorOf("a.b.c.d = 1", 5)).toContain("at most three dot-separated parts");
    expect(syntaxErrorOf("AND a", 0)).toContain("found keyword AND at position 0, expected an expression");
  });

  it("reports tuples outside OVERLAPS / IN and tuples of the wrong size", () => {
    expect(syntaxErrorOf("(a, b) = 1", 0)).toContain("tuple");
    expect(syntaxErrorOf("t OVERLAPS (a, b, c)", 16)).toContain("exactly two items");
    expect(syntaxErrorOf("POINT((1, 2), 3)", 6)).toContain("tuple");
  });
});

describe("identifiersOf / bindNamesOf", () => {
  it("lists each identifier and bind name once, in order of first appearance", () => {
    const node = parse(
      "instrument = :instr AND visit.day_obs > 20240101 AND (detector IN (1..9, :dets, other) OR visit.day_obs = :day) " +
        "AND GLOB(physical_filter, :pattern) AND visit.region OVERLAPS CIRCLE(ra0, :dec, 0.1) AND ingest_date > T'60000.5'",
    );
    expect(identifiersOf(node)).toEqual([
      "instrument", "visit.day_obs", "detector", "other", "physical_filter", "visit.region", "ra0", "ingest_date",
    ]);
    expect(bindNamesOf(node)).toEqual(["instr", "dets", "day", "pattern", "dec"]);
  });

  it("returns empty lists for a tree without identifiers or binds", () => {
    const node = parse("1 = 1");
    expect(identifiersOf(node)).toEqual([]);
    expect(bindNamesOf(node)).toEqual([]);
  });
});
