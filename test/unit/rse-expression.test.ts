import { DbbError, ErrorCode } from "../../lib/errors";
import {
  evaluateRseExpression,
  parseRseExpression,
  RseExpressionNode,
  RseForExpression,
} from "../../subgraphs/replicas/rse-expression";

/**
 * A small Data Backbone federation. Note the deliberate variety of attribute types:
 * freespace is a number, a numeric string ("8000") or junk ("unknown"); istape is a boolean or the
 * string "True" (as Rucio stores it); SUMMIT_DISK has no istape / decommissioned at all.
 */
const RSES: readonly RseForExpression[] = [
  {
    name: "USDF_DISK",
    attributes: {
      facility: "USDF", country: "US", tier: 1, type: "DISK", freespace: 500,
      fts: "https://fts.slac.stanford.edu:8446", istape: false, decommissioned: false,
    },
  },
  {
    name: "USDF_TAPE",
    attributes: {
      facility: "USDF", country: "US", tier: 1, type: "TAPE", freespace: 12000,
      fts: "https://fts.slac.stanford.edu:8446", istape: true, archive: true, decommissioned: false,
    },
  },
  {
    name: "FRDF_DISK",
    attributes: {
      facility: "FrDF", country: "FR", tier: 1, type: "DISK", freespace: 250.5,
      fts: "https://fts.cc.in2p3.fr:8446", istape: false, decommissioned: false,
    },
  },
  {
    name: "FRDF_TAPE",
    attributes: {
      facility: "FrDF", country: "FR", tier: 1, type: "TAPE", freespace: "8000",
      fts: "https://fts.cc.in2p3.fr:8446", istape: "True", archive: true, decommissioned: false,
    },
  },
  {
    name: "UKDF_DISK",
    attributes: {
      facility: "UKDF", country: "UK", tier: 2, type: "DISK", freespace: "unknown",
      fts: "https://fts.gridpp.rl.ac.uk:8446", istape: false, decommissioned: true,
    },
  },
  {
    name: "SUMMIT_DISK",
    attributes: { facility: "Summit", country: "CL", tier: 0, type: "DISK", freespace: 20, archive: false, contact: "ops@lsst.org" },
  },
];

const ALL = ["FRDF_DISK", "FRDF_TAPE", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK", "USDF_TAPE"];

const evaluate = (expression: string) => evaluateRseExpression(expression, RSES);

/** Runs fn, expects a DbbError INVALID_RSE_EXPRESSION and returns it. */
function errorOf(fn: () => unknown): DbbError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DbbError);
  const error = caught as DbbError;
  expect(error.code).toBe(ErrorCode.INVALID_RSE_EXPRESSION);
  return error;
}

describe("evaluateRseExpression", () => {
  describe("primitives", () => {
    it("resolves an RSE name to that RSE", () => {
      expect(evaluate("USDF_DISK")).toEqual(["USDF_DISK"]);
      expect(evaluate("SUMMIT_DISK")).toEqual(["SUMMIT_DISK"]);
    });

    it("unites an RSE name with the RSEs whose attribute of that name is true (Rucio's own-name attribute)", () => {
      const rses: RseForExpression[] = [
        { name: "USDF_DISK", attributes: { USDF_DISK: true } },
        { name: "USDF_SCRATCH", attributes: { USDF_SCRATCH: true, USDF_DISK: true } },
        { name: "FRDF_DISK", attributes: { FRDF_DISK: true, USDF_DISK: false } },
      ];
      expect(evaluateRseExpression("USDF_DISK", rses)).toEqual(["USDF_DISK", "USDF_SCRATCH"]);
      expect(evaluateRseExpression("FRDF_DISK", rses)).toEqual(["FRDF_DISK"]);
    });

    it("resolves '*' to every RSE given, sorted ascending", () => {
      expect(evaluate("*")).toEqual(ALL);
      expect(evaluateRseExpression("*", [{ name: "B", attributes: {} }, { name: "A", attributes: {} }])).toEqual(["A", "B"]);
    });

    it("resolves a bare attribute key to the RSEs where it is boolean true or the string 'true'/'True'", () => {
      expect(evaluate("istape")).toEqual(["FRDF_TAPE", "USDF_TAPE"]); // true and "True"
      expect(evaluate("archive")).toEqual(["FRDF_TAPE", "USDF_TAPE"]); // SUMMIT_DISK has archive=false
      expect(evaluate("decommissioned")).toEqual(["UKDF_DISK"]);
      expect(evaluateRseExpression("staging", [
        { name: "A", attributes: { staging: "true" } },
        { name: "B", attributes: { staging: "yes" } },
        { name: "C", attributes: { staging: 1 } },
      ])).toEqual(["A"]);
    });

    it("matches key=value on string attributes, case-sensitively", () => {
      expect(evaluate("type=DISK")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK"]);
      expect(evaluate("facility=FrDF")).toEqual(["FRDF_DISK", "FRDF_TAPE"]);
      expect(errorOf(() => evaluate("facility=FRDF")).message).toBe("RSE expression 'facility=FRDF' resolved to no RSE");
    });

    it("accepts ':', '/', '@' and '+' in values", () => {
      expect(evaluate("fts=https://fts.slac.stanford.edu:8446")).toEqual(["USDF_DISK", "USDF_TAPE"]);
      expect(evaluate("contact=ops@lsst.org")).toEqual(["SUMMIT_DISK"]);
      expect(evaluateRseExpression("zone=UTC+1", [{ name: "A", attributes: { zone: "UTC+1" } }])).toEqual(["A"]);
    });

    it("matches key=value on numbers, compared as strings", () => {
      expect(evaluate("tier=1")).toEqual(["FRDF_DISK", "FRDF_TAPE", "USDF_DISK", "USDF_TAPE"]);
      expect(evaluate("tier=0")).toEqual(["SUMMIT_DISK"]);
      expect(evaluate("freespace=250.5")).toEqual(["FRDF_DISK"]);
      expect(evaluate("freespace=8000")).toEqual(["FRDF_TAPE"]); // the numeric string
      // string comparison: 1 is "1", not "1.0"
      expect(errorOf(() => evaluate("tier=1.0")).details).toEqual({ position: 0, expression: "tier=1.0" });
    });

    it("matches key=value on booleans as 'true'/'false' (and Rucio's 'True'/'False')", () => {
      expect(evaluate("istape=true")).toEqual(["USDF_TAPE"]); // FRDF_TAPE holds the string "True"
      expect(evaluate("istape=True")).toEqual(["FRDF_TAPE", "USDF_TAPE"]);
      expect(evaluate("istape=false")).toEqual(["FRDF_DISK", "UKDF_DISK", "USDF_DISK"]);
      expect(evaluate("archive=False")).toEqual(["SUMMIT_DISK"]);
      expect(evaluate("decommissioned=false")).toEqual(["FRDF_DISK", "FRDF_TAPE", "USDF_DISK", "USDF_TAPE"]);
    });

    it("compares numerically with > and <, strictly", () => {
      expect(evaluate("tier<1")).toEqual(["SUMMIT_DISK"]);
      expect(evaluate("tier>1")).toEqual(["UKDF_DISK"]);
      expect(evaluate("tier>0")).toEqual(["FRDF_DISK", "FRDF_TAPE", "UKDF_DISK", "USDF_DISK", "USDF_TAPE"]);
      expect(evaluate("tier>-1")).toEqual(ALL);
      expect(evaluate("freespace>500")).toEqual(["FRDF_TAPE", "USDF_TAPE"]); // 500 itself is not > 500
      expect(evaluate("freespace>499")).toEqual(["FRDF_TAPE", "USDF_DISK", "USDF_TAPE"]);
    });

    it("compares decimals, on both sides", () => {
      expect(evaluate("freespace<250.6")).toEqual(["FRDF_DISK", "SUMMIT_DISK"]);
      expect(evaluate("freespace>250.4&freespace<250.6")).toEqual(["FRDF_DISK"]);
      expect(evaluate("freespace<250.5")).toEqual(["SUMMIT_DISK"]);
      expect(evaluateRseExpression("load<-0.5", [
        { name: "A", attributes: { load: -0.75 } },
        { name: "B", attributes: { load: -0.25 } },
      ])).toEqual(["A"]);
    });

    it("converts numeric strings and never matches non-numeric attributes", () => {
      expect(evaluate("freespace>7999")).toEqual(["FRDF_TAPE", "USDF_TAPE"]); // "8000" counts as 8000
      // UKDF_DISK (freespace "unknown") is neither small nor large
      expect(evaluate("freespace<1000000")).toEqual(["FRDF_DISK", "FRDF_TAPE", "SUMMIT_DISK", "USDF_DISK", "USDF_TAPE"]);
      expect(evaluate("*\\freespace>-1")).toEqual(["UKDF_DISK"]);
      // booleans and missing attributes are not numeric
      expect(errorOf(() => evaluate("istape>0")).message).toBe("RSE expression 'istape>0' resolved to no RSE");
      expect(errorOf(() => evaluate("decommissioned<2")).message).toBe("RSE expression 'decommissioned<2' resolved to no RSE");
      expect(errorOf(() => evaluate("bandwidth>0")).details.position).toBe(0);
    });

    it("only looks at an RSE's own attributes, never Object.prototype", () => {
      expect(errorOf(() => evaluate("constructor")).message).toBe("RSE expression 'constructor' resolved to no RSE");
      expect(errorOf(() => evaluate("toString=x")).details.position).toBe(0);
    });
  });

  describe("operators", () => {
    it("'|' unites", () => {
      expect(evaluate("USDF_DISK|FRDF_DISK")).toEqual(["FRDF_DISK", "USDF_DISK"]);
      expect(evaluate("tier=0|decommissioned")).toEqual(["SUMMIT_DISK", "UKDF_DISK"]);
      expect(evaluate("USDF_DISK|USDF_DISK")).toEqual(["USDF_DISK"]);
    });

    it("'&' intersects", () => {
      expect(evaluate("facility=USDF&istape")).toEqual(["USDF_TAPE"]);
      expect(evaluate("type=DISK&tier=1")).toEqual(["FRDF_DISK", "USDF_DISK"]);
      expect(errorOf(() => evaluate("USDF_DISK&FRDF_DISK")).message).toBe("RSE expression 'USDF_DISK&FRDF_DISK' resolved to no RSE");
    });

    it("'\\' takes the complement (A minus B)", () => {
      expect(evaluate("facility=USDF\\istape")).toEqual(["USDF_DISK"]);
      expect(evaluate("type=DISK\\decommissioned")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "USDF_DISK"]);
      expect(evaluate("*\\USDF_TAPE")).toEqual(["FRDF_DISK", "FRDF_TAPE", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK"]);
      expect(evaluate("*\\istape")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK"]);
      expect(errorOf(() => evaluate("*\\*")).message).toBe("RSE expression '*\\*' resolved to no RSE");
    });

    it("chains several operators", () => {
      expect(evaluate("USDF_DISK|FRDF_DISK|UKDF_DISK|SUMMIT_DISK")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK"]);
      expect(evaluate("*\\istape\\decommissioned\\tier=0")).toEqual(["FRDF_DISK", "USDF_DISK"]);
    });
  });

  describe("strict left-to-right evaluation, no precedence", () => {
    it("A|B&C is (A|B)&C, not A|(B&C)", () => {
      // (all disks + USDF_TAPE) & USDF
      expect(evaluate("type=DISK|USDF_TAPE&facility=USDF")).toEqual(["USDF_DISK", "USDF_TAPE"]);
      expect(evaluate("(type=DISK|USDF_TAPE)&facility=USDF")).toEqual(["USDF_DISK", "USDF_TAPE"]);
      // what '&'-binds-tighter precedence would have given
      expect(evaluate("type=DISK|(USDF_TAPE&facility=USDF)")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK", "USDF_TAPE"]);
    });

    it("A&B|C is (A&B)|C, not A&(B|C)", () => {
      // (USDF & tapes) + SUMMIT_DISK
      expect(evaluate("facility=USDF&istape|SUMMIT_DISK")).toEqual(["SUMMIT_DISK", "USDF_TAPE"]);
      expect(evaluate("(facility=USDF&istape)|SUMMIT_DISK")).toEqual(["SUMMIT_DISK", "USDF_TAPE"]);
      // what '|'-binds-tighter precedence would have given
      expect(evaluate("facility=USDF&(istape|SUMMIT_DISK)")).toEqual(["USDF_TAPE"]);
    });

    it("A|B\\C is (A|B)\\C, not A|(B\\C)", () => {
      expect(evaluate("type=DISK|USDF_TAPE\\facility=USDF")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK"]);
      expect(evaluate("type=DISK|(USDF_TAPE\\facility=USDF)")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK"]);
    });

    it("builds a left-leaning tree", () => {
      const tree = parseRseExpression("A|B&C");
      expect(tree).toEqual<RseExpressionNode>({
        kind: "operation",
        operator: "&",
        position: 3,
        left: {
          kind: "operation",
          operator: "|",
          position: 1,
          left: { kind: "word", word: "A", position: 0 },
          right: { kind: "word", word: "B", position: 2 },
        },
        right: { kind: "word", word: "C", position: 4 },
      });
    });
  });

  describe("parentheses", () => {
    it("group and change the result", () => {
      expect(evaluate("*\\tier=1|istape")).toEqual(["FRDF_TAPE", "SUMMIT_DISK", "UKDF_DISK", "USDF_TAPE"]);
      expect(evaluate("*\\(tier=1|istape)")).toEqual(["SUMMIT_DISK", "UKDF_DISK"]);
    });

    it("nest", () => {
      expect(evaluate("((facility=USDF|facility=FrDF)&(type=TAPE))\\(FRDF_TAPE)")).toEqual(["USDF_TAPE"]);
      expect(evaluate("(((USDF_DISK)))")).toEqual(["USDF_DISK"]);
    });

    it("parse into typed nodes", () => {
      expect(parseRseExpression("(tier<1.5)&type=DISK\\*")).toEqual<RseExpressionNode>({
        kind: "operation",
        operator: "\\",
        position: 20,
        left: {
          kind: "operation",
          operator: "&",
          position: 10,
          left: { kind: "compare", key: "tier", operator: "<", value: 1.5, position: 1 },
          right: { kind: "equals", key: "type", value: "DISK", position: 11 },
        },
        right: { kind: "all", position: 21 },
      });
    });
  });

  describe("whitespace", () => {
    it("is ignored between tokens", () => {
      expect(evaluate("  type = DISK &  ( tier < 1 | facility= FrDF ) ")).toEqual(["FRDF_DISK", "SUMMIT_DISK"]);
      expect(evaluate("\tUSDF_DISK\n|\r\nUSDF_TAPE ")).toEqual(["USDF_DISK", "USDF_TAPE"]);
      expect(evaluate("* \\ istape")).toEqual(["FRDF_DISK", "SUMMIT_DISK", "UKDF_DISK", "USDF_DISK"]);
      expect(evaluate("freespace >  -1 & freespace<  250.6")).toEqual(["FRDF_DISK", "SUMMIT_DISK"]);
    });
  });

  describe("errors", () => {
    // [expression, position, fragment of the message]
    const cases: [string, number, string][] = [
      // empty
      ["", 0, "the expression is empty"],
      ["   ", 0, "the expression is empty"],
      // unexpected character
      ["USDF_DISK$", 9, "unexpected character '$'"],
      ["USDF_DISK,USDF_TAPE", 9, "unexpected character ','"],
      ["type:DISK", 4, "unexpected character ':'"],
      ["type==DISK", 5, "expected a value after '='"],
      // unbalanced parentheses
      ["(USDF_DISK|USDF_TAPE", 0, "unbalanced parenthesis: this '(' is never closed"],
      ["((USDF_DISK)", 0, "unbalanced parenthesis: this '(' is never closed"],
      ["USDF_DISK|(", 10, "unbalanced parenthesis: this '(' is never closed"],
      ["USDF_DISK|USDF_TAPE)", 19, "unbalanced parenthesis: this ')' has no matching '('"],
      ["(USDF_DISK))", 11, "unbalanced parenthesis: this ')' has no matching '('"],
      [")USDF_DISK", 0, "unbalanced parenthesis: this ')' has no matching '('"],
      ["()", 1, "empty parentheses"],
      // operator with a missing operand
      ["USDF_DISK|", 9, "operator '|' has no right operand"],
      ["USDF_DISK&", 9, "operator '&' has no right operand"],
      ["*\\", 1, "operator '\\' has no right operand"],
      ["|USDF_DISK", 0, "operator '|' has no left operand"],
      ["\\istape", 0, "operator '\\' has no left operand"],
      ["USDF_DISK||USDF_TAPE", 9, "operator '|' has no right operand; expected an RSE name, an attribute (key, key=value, key<number, key>number), '*' or '(' after it, found '|'"],
      ["(&USDF_DISK)", 1, "operator '&' has no left operand"],
      ["(USDF_DISK|)", 10, "operator '|' has no right operand"],
      // < and > followed by something other than a number
      ["tier<abc", 5, "expected a number after '<' or '>' (such as 2 or -1.5), found 'abc'"],
      ["tier>", 5, "expected a number after '<' or '>' (such as 2 or -1.5), found end of expression"],
      ["tier< |USDF_DISK", 6, "found '|'"],
      ["tier<1.", 5, "found '1.'"],
      ["tier<1.5.2", 5, "found '1.5.2'"],
      ["tier>1e3", 5, "found '1e3'"],
      ["tier>+1", 5, "found '+1'"],
      ["<1", 0, "'<' has no attribute key before it"],
      // = with no value
      ["type=", 5, "expected a value after '=' (letters, digits, _ . - : / @ +), found end of expression"],
      ["type=|tier=1", 5, "found '|'"],
      ["type= )", 6, "found ')'"],
      ["=DISK", 0, "'=' has no attribute key before it"],
      ["*=DISK", 1, "unexpected '='; it must directly follow an attribute key"],
      ["type=DISK=TAPE", 9, "unexpected '='"],
      // two primitives without an operator
      ["USDF_DISK USDF_TAPE", 10, "missing operator before 'USDF_TAPE'; expected '|' (union), '&' (intersection) or '\\' (complement)"],
      ["type=DISK tier=1", 10, "missing operator before 'tier'"],
      ["USDF_DISK(USDF_TAPE)", 9, "missing operator before '('"],
      ["(USDF_DISK)USDF_TAPE", 11, "missing operator before 'USDF_TAPE'"],
      ["* *", 2, "missing operator before '*'"],
      ["tier<1 2", 7, "missing operator before '2'"],
    ];

    it.each(cases)("%j fails at position %i", (expression, position, fragment) => {
      for (const run of [() => parseRseExpression(expression), () => evaluate(expression)]) {
        const error = errorOf(run);
        expect(error.details).toEqual({ position, expression });
        expect(error.message).toContain(`Invalid RSE expression '${expression}' at position ${position}: `);
        expect(error.message).toContain(fragment);
      }
    });

    it("reports the first error in reading order", () => {
      expect(errorOf(() => evaluate("|USDF_DISK$")).details.position).toBe(0);
      expect(errorOf(() => evaluate("USDF_DISK$|")).details.position).toBe(9);
    });

    it("refuses parentheses nested too deeply", () => {
      const expression = `${"(".repeat(150)}USDF_DISK${")".repeat(150)}`;
      const error = errorOf(() => evaluate(expression));
      expect(error.details).toEqual({ position: 100, expression });
      expect(error.message).toContain("at position 100: parentheses nested deeper than 100 levels");
      expect(evaluate(`${"(".repeat(100)}USDF_DISK${")".repeat(100)}`)).toEqual(["USDF_DISK"]);
    });

    it("handles long operator chains without deep recursion", () => {
      const expression = Array.from({ length: 20000 }, (_, i) => (i % 2 ? "USDF_DISK" : "FRDF_DISK")).join("|");
      expect(evaluate(expression)).toEqual(["FRDF_DISK", "USDF_DISK"]);
    });

    it("rejects an expression that resolves to no RSE, at position 0", () => {
      for (const expression of ["NOSUCH_DISK", "type=TAPE&tier=0", "istape\\archive", "USDF_DISK\\*"]) {
        const error = errorOf(() => evaluate(expression));
        expect(error.message).toBe(`RSE expression '${expression}' resolved to no RSE`);
        expect(error.details).toEqual({ position: 0, expression });
      }
      const error = errorOf(() => evaluateRseExpression("*", []));
      expect(error.message).toBe("RSE expression '*' resolved to no RSE");
    });

    it("parses but does not evaluate: parseRseExpression accepts an unknown name", () => {
      expect(parseRseExpression("NOSUCH_DISK")).toEqual({ kind: "word", word: "NOSUCH_DISK", position: 0 });
    });
  });
});
