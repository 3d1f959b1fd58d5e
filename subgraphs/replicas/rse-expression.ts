import { DbbError, ErrorCode } from "../../lib/errors";

/**
 * RSE expressions, evaluated as Rucio does (rucio/core/rse_expression_parser.py), over a list of
 * RSEs held in memory.
 *
 * Primitives
 *   USDF_DISK        an RSE name: that RSE, plus every RSE whose attribute USDF_DISK is true
 *                    (Rucio gives each RSE an attribute named after itself set to True)
 *   istape           a bare word that is no RSE name: RSEs whose attribute istape is true / "true" / "True"
 *   type=DISK        attribute equals value, compared as strings (true matches "true", 1 matches "1")
 *   freespace>100    numeric comparison, strict; attributes that are not numeric never match
 *   freespace<0.5
 *   *                every RSE given
 *
 * Operators, applied strictly LEFT TO RIGHT with no precedence, parentheses group:
 *   A|B   union          A&B   intersection          A\B   complement (A minus B)
 *   A|B&C  means (A|B)&C        A&B|C  means (A&B)|C        A|(B&C)  groups explicitly
 *
 * Grammar (whitespace between tokens is ignored):
 *   expression := operand ( ( "|" | "&" | "\" ) operand )*
 *   operand    := "*" | primitive | "(" expression ")"
 *   primitive  := WORD [ "=" VALUE | "<" NUMBER | ">" NUMBER ]
 *   WORD       := [A-Za-z0-9_.-]+
 *   VALUE      := [A-Za-z0-9_.-:/@+]+
 *   NUMBER     := -?\d+(\.\d+)?
 *
 * Every error is a DbbError with code INVALID_RSE_EXPRESSION and details { position, expression },
 * `position` being the 0-based index of the character the message points at.
 */

export type AttributeValue = string | number | boolean;

export interface RseForExpression {
  name: string;
  attributes: Record<string, AttributeValue>;
}

export type BinaryOperator = "|" | "&" | "\\";

/** The parsed form of an RSE expression. `position` is where the node starts in the text (for an operation: its operator). */
export type RseExpressionNode =
  /** `*`: every RSE. */
  | { kind: "all"; position: number }
  /** A bare word: an RSE name and/or a boolean attribute key. */
  | { kind: "word"; word: string; position: number }
  /** `key=value`. */
  | { kind: "equals"; key: string; value: string; position: number }
  /** `key<number` or `key>number`. */
  | { kind: "compare"; key: string; operator: "<" | ">"; value: number; position: number }
  /** `left | right`, `left & right`, `left \ right`. */
  | { kind: "operation"; operator: BinaryOperator; left: RseExpressionNode; right: RseExpressionNode; position: number };

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Parentheses deeper than this are refused (keeps the recursive descent far from the stack limit). */
const MAX_NESTING = 100;
/** Expressions are quoted in messages up to this many characters (the details keep the whole text). */
const MAX_QUOTED = 200;

/** What may start an operand; used in "expected ..." messages. */
const OPERAND_HINT = "an RSE name, an attribute (key, key=value, key<number, key>number), '*' or '('";

function quote(expression: string): string {
  return expression.length > MAX_QUOTED ? `${expression.slice(0, MAX_QUOTED)}…` : expression;
}

function syntaxError(expression: string, position: number, what: string): DbbError {
  return new DbbError(
    ErrorCode.INVALID_RSE_EXPRESSION,
    `Invalid RSE expression '${quote(expression)}' at position ${position}: ${what}`,
    { position, expression },
  );
}

// ---------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------

type TokenType = "word" | "value" | "number" | "*" | "=" | "<" | ">" | "|" | "&" | "\\" | "(" | ")" | "end";

interface Token {
  type: TokenType;
  /** The source text of the token ("" for end). */
  text: string;
  /** 0-based index of its first character (the expression's length for end). */
  position: number;
}

const WORD_CHAR = /[A-Za-z0-9_.\-]/;
const VALUE_CHAR = /[A-Za-z0-9_.\-:/@+]/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const WHITESPACE = /\s/;
const SINGLE_CHAR_TOKENS: ReadonlySet<string> = new Set(["*", "|", "&", "\\", "(", ")", "=", "<", ">"]);

/**
 * Hands out tokens on demand, one of lookahead, so that errors come in the order they occur in the
 * text. Lexing is context dependent in one way only: after `=` comes a VALUE (which may hold
 * `: / @ +`), after `<` or `>` a NUMBER (which may start with `-`).
 */
class Lexer {
  private index = 0;
  private lookahead: Token | null = null;
  /** What the next token must be: anything, the value after `=`, or the number after `<`/`>`. */
  private mode: "normal" | "value" | "number" = "normal";

  constructor(private readonly expression: string) {}

  peek(): Token {
    if (!this.lookahead) this.lookahead = this.lex();
    return this.lookahead;
  }

  next(): Token {
    const token = this.peek();
    this.lookahead = null;
    return token;
  }

  private lex(): Token {
    const text = this.expression;
    while (this.index < text.length && WHITESPACE.test(text[this.index])) this.index++;
    const start = this.index;

    if (this.mode !== "normal") {
      const mode = this.mode;
      this.mode = "normal";
      const run = this.readRun(VALUE_CHAR);
      const found = run ? `'${run}'` : this.describeCharAt(start);
      if (mode === "value") {
        if (!run) throw syntaxError(text, start, `expected a value after '=' (letters, digits, _ . - : / @ +), found ${found}`);
        return { type: "value", text: run, position: start };
      }
      if (!NUMBER.test(run)) throw syntaxError(text, start, `expected a number after '<' or '>' (such as 2 or -1.5), found ${found}`);
      return { type: "number", text: run, position: start };
    }

    if (start >= text.length) return { type: "end", text: "", position: text.length };
    const c = text[start];
    if (WORD_CHAR.test(c)) return { type: "word", text: this.readRun(WORD_CHAR), position: start };
    if (SINGLE_CHAR_TOKENS.has(c)) {
      this.index++;
      if (c === "=") this.mode = "value";
      else if (c === "<" || c === ">") this.mode = "number";
      return { type: c as TokenType, text: c, position: start };
    }
    throw syntaxError(
      text,
      start,
      `unexpected character '${c}'; expected an RSE name or attribute key (letters, digits, _ . -), '*', '=', '<', '>', an operator (| & \\) or a parenthesis`,
    );
  }

  private readRun(chars: RegExp): string {
    const start = this.index;
    while (this.index < this.expression.length && chars.test(this.expression[this.index])) this.index++;
    return this.expression.slice(start, this.index);
  }

  private describeCharAt(index: number): string {
    return index >= this.expression.length ? "end of expression" : `'${this.expression[index]}'`;
  }
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

function isOperator(token: Token): boolean {
  return token.type === "|" || token.type === "&" || token.type === "\\";
}

function describe(token: Token): string {
  return token.type === "end" ? "end of expression" : `'${token.text}'`;
}

/** Recursive descent over the grammar at the top of this file; operators fold to the left. */
class Parser {
  private readonly lexer: Lexer;
  /** The `(` tokens not closed yet, innermost last. */
  private readonly openParens: Token[] = [];

  constructor(private readonly expression: string) {
    this.lexer = new Lexer(expression);
  }

  parse(): RseExpressionNode {
    if (this.expression.trim() === "") throw this.fail(0, `the expression is empty; expected ${OPERAND_HINT}`);
    const node = this.parseExpression();
    const rest = this.lexer.peek();
    // parseExpression stops only at the end or at a ')'; at top level a ')' closes nothing.
    if (rest.type === ")") throw this.fail(rest.position, "unbalanced parenthesis: this ')' has no matching '('");
    return node;
  }

  /** expression := operand ( operator operand )*, folded strictly left to right. */
  private parseExpression(): RseExpressionNode {
    let left = this.parseOperand(null);
    for (;;) {
      const token = this.lexer.peek();
      if (isOperator(token)) {
        this.lexer.next();
        const right = this.parseOperand(token);
        left = { kind: "operation", operator: token.type as BinaryOperator, left, right, position: token.position };
        continue;
      }
      if (token.type === "end" || token.type === ")") return left;
      if (token.type === "word" || token.type === "*" || token.type === "(") {
        throw this.fail(
          token.position,
          `missing operator before ${describe(token)}; expected '|' (union), '&' (intersection) or '\\' (complement) between two terms`,
        );
      }
      // '=', '<' or '>' after something that is not an attribute key: '*=x', '(a)<3', 'a=b=c'.
      throw this.fail(
        token.position,
        `unexpected '${token.text}'; it must directly follow an attribute key, as in 'key${token.text}${token.type === "=" ? "value" : "1"}'`,
      );
    }
  }

  /**
   * operand := "*" | primitive | "(" expression ")".
   * @param operator the operator just read, whose right operand this is (null at the start of the
   *   expression or of a group); it names the culprit when the operand is missing.
   */
  private parseOperand(operator: Token | null): RseExpressionNode {
    const token = this.lexer.peek();
    switch (token.type) {
      case "*":
        this.lexer.next();
        return { kind: "all", position: token.position };
      case "word":
        return this.parsePrimitive();
      case "(": {
        this.lexer.next();
        if (this.openParens.length >= MAX_NESTING) {
          throw this.fail(token.position, `parentheses nested deeper than ${MAX_NESTING} levels`);
        }
        this.openParens.push(token);
        const inner = this.parseExpression();
        // parseExpression stops only at ')' or at the end.
        if (this.lexer.peek().type !== ")") {
          throw this.fail(token.position, "unbalanced parenthesis: this '(' is never closed; expected ')' before the end of the expression");
        }
        this.lexer.next();
        this.openParens.pop();
        return inner;
      }
      default:
        break;
    }
    // No operand where one is required: say why, from the point of view of the user's text.
    if (operator) {
      throw this.fail(operator.position, `operator '${operator.text}' has no right operand; expected ${OPERAND_HINT} after it, found ${describe(token)}`);
    }
    const group = this.openParens[this.openParens.length - 1];
    switch (token.type) {
      case "|":
      case "&":
      case "\\":
        throw this.fail(token.position, `operator '${token.text}' has no left operand; expected ${OPERAND_HINT} before it`);
      case ")":
        if (group) throw this.fail(token.position, `empty parentheses; expected ${OPERAND_HINT} inside '( )'`);
        throw this.fail(token.position, "unbalanced parenthesis: this ')' has no matching '('");
      case "end":
        // Only reachable right after a '(' (an empty expression is caught in parse()).
        throw this.fail(
          group ? group.position : token.position,
          "unbalanced parenthesis: this '(' is never closed; expected an expression and ')' after it",
        );
      default:
        // '=', '<', '>' with nothing before them.
        throw this.fail(
          token.position,
          `'${token.text}' has no attribute key before it; expected something like 'key${token.text}${token.type === "=" ? "value" : "1"}'`,
        );
    }
  }

  /** primitive := WORD [ "=" VALUE | "<" NUMBER | ">" NUMBER ]. */
  private parsePrimitive(): RseExpressionNode {
    const word = this.lexer.next();
    const after = this.lexer.peek();
    if (after.type === "=") {
      this.lexer.next();
      const value = this.lexer.next(); // the lexer guarantees a value token here
      return { kind: "equals", key: word.text, value: value.text, position: word.position };
    }
    if (after.type === "<" || after.type === ">") {
      this.lexer.next();
      const number = this.lexer.next(); // the lexer guarantees a number token here
      return { kind: "compare", key: word.text, operator: after.type, value: Number(number.text), position: word.position };
    }
    return { kind: "word", word: word.text, position: word.position };
  }

  private fail(position: number, what: string): DbbError {
    return syntaxError(this.expression, position, what);
  }
}

/**
 * Parses an RSE expression into its tree (operators folded left to right).
 * @throws DbbError INVALID_RSE_EXPRESSION with details { position, expression }
 */
export function parseRseExpression(expression: string): RseExpressionNode {
  if (typeof expression !== "string") throw syntaxError(String(expression), 0, `the expression is empty; expected ${OPERAND_HINT}`);
  return new Parser(expression).parse();
}

// ---------------------------------------------------------------------------------------------
// Evaluator
// ---------------------------------------------------------------------------------------------

/** Strings that count as numbers for `<` / `>` (what Python's float() takes, minus inf/nan). */
const NUMERIC_STRING = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Own attributes only: a key like `constructor` must not reach Object.prototype. */
function attribute(rse: RseForExpression, key: string): AttributeValue | undefined {
  return Object.hasOwn(rse.attributes, key) ? rse.attributes[key] : undefined;
}

function isTrue(value: AttributeValue | undefined): boolean {
  return value === true || value === "true" || value === "True";
}

/** Compared as strings; a boolean also matches its Python spelling (True / False) as Rucio stores it. */
function equals(value: AttributeValue | undefined, expected: string): boolean {
  if (value === undefined) return false;
  if (String(value) === expected) return true;
  return typeof value === "boolean" && (value ? "True" : "False") === expected;
}

/** The attribute as a number, or undefined when it is not numeric (booleans never are). */
function numeric(value: AttributeValue | undefined): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string") {
    const trimmed = value.trim();
    return NUMERIC_STRING.test(trimmed) ? Number(trimmed) : undefined;
  }
  return undefined;
}

function select(rses: readonly RseForExpression[], keep: (rse: RseForExpression) => boolean): Set<string> {
  const out = new Set<string>();
  for (const rse of rses) if (keep(rse)) out.add(rse.name);
  return out;
}

/** The RSE names a primitive (any node but an operation) stands for. */
function resolvePrimitive(node: Exclude<RseExpressionNode, { kind: "operation" }>, rses: readonly RseForExpression[]): Set<string> {
  switch (node.kind) {
    case "all":
      return select(rses, () => true);
    case "word":
      // The RSE of that name (if any) united with the RSEs whose attribute of that key is true.
      return select(rses, (rse) => rse.name === node.word || isTrue(attribute(rse, node.word)));
    case "equals":
      return select(rses, (rse) => equals(attribute(rse, node.key), node.value));
    case "compare":
      return select(rses, (rse) => {
        const value = numeric(attribute(rse, node.key));
        if (value === undefined) return false;
        return node.operator === "<" ? value < node.value : value > node.value;
      });
  }
}

function apply(operator: BinaryOperator, left: Set<string>, right: Set<string>): Set<string> {
  switch (operator) {
    case "|":
      return new Set([...left, ...right]);
    case "&":
      return new Set([...left].filter((name) => right.has(name)));
    case "\\":
      return new Set([...left].filter((name) => !right.has(name)));
  }
}

/**
 * Resolves a tree to RSE names. The left spine (A|B|C|... is one long chain of left children) is
 * walked with a loop, so only parentheses — capped at MAX_NESTING — add recursion depth.
 */
function resolve(node: RseExpressionNode, rses: readonly RseForExpression[]): Set<string> {
  const chain: Extract<RseExpressionNode, { kind: "operation" }>[] = [];
  let leftmost = node;
  while (leftmost.kind === "operation") {
    chain.push(leftmost);
    leftmost = leftmost.left;
  }
  let result = resolvePrimitive(leftmost, rses);
  for (let i = chain.length - 1; i >= 0; i--) result = apply(chain[i].operator, result, resolve(chain[i].right, rses));
  return result;
}

/**
 * Evaluates an RSE expression over the given RSEs.
 * @returns the matching RSE names, sorted ascending (never empty)
 * @throws DbbError INVALID_RSE_EXPRESSION when the expression is malformed (details.position points
 *   at the problem) or resolves to no RSE (details.position 0)
 */
export function evaluateRseExpression(expression: string, rses: readonly RseForExpression[]): string[] {
  const tree = parseRseExpression(expression);
  const names = [...resolve(tree, rses)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (!names.length) {
    throw new DbbError(ErrorCode.INVALID_RSE_EXPRESSION, `RSE expression '${quote(expression)}' resolved to no RSE`, {
      position: 0,
      expression,
    });
  }
  return names;
}
