/**
 * Parser for the Butler query `where` language of lsst/daf_butler (the user expressions of
 * `butler query-datasets --where ...` / `Butler.query_datasets(where=...)`). It only parses and does light
 * syntactic checks; compiling the tree to SQL is a later step.
 *
 * Source of the facts (lsst/daf_butler; the newest copy of the parser lives under
 * python/lsst/daf/butler/queries/expressions/parser/, the older one under .../registry/queries/expressions/parser/):
 *   - parserLex.py: tokens and their order. Reserved words are only IN, OR, AND, NOT and OVERLAPS, matched
 *     case-insensitively (IS, NULL, BETWEEN, LIKE are commented out, so there is no NULL). Strings are
 *     `'.*?'` (single quotes, no escapes, not across a line end); time literals are `T'.*?'` (the T in either
 *     case); ranges are `-?N..-?M[:S]` with S >= 1, spaces allowed around `..` and `:`; numbers are
 *     `\d+(\.\d*)?(e[-+]?\d+)?` or `\.\d+(e[-+]?\d+)?`; qualified identifiers have one or two dots; bind names
 *     are `:name`. Comparison tokens are = != < <= > >=.
 *   - parserYacc.py: the grammar. `expr: expr OR expr | expr AND expr | NOT expr | bool_primary`;
 *     `bool_primary: bool_primary (= != < <= > >= OVERLAPS) predicate | predicate` (one left-associative
 *     level); `predicate: bit_expr [NOT] IN ( list ) | bit_expr`; `bit_expr` with + - then * / %;
 *     unary + and - bind tightest; NOT has the highest precedence so `NOT a = 1 AND b = 2` is
 *     `(NOT (a = 1)) AND (b = 2)`. IN lists hold only literals (numbers with an optional sign, strings,
 *     times, ranges), simple identifiers, bind names and function calls (for UUID('...')); never empty.
 *     A parenthesised pair `(a, b)` is a tuple (only two items are supported: time ranges). Function calls
 *     are `SIMPLE_IDENTIFIER ( [expr {, expr}] )`. Time strings: optional `format/` prefix, optional
 *     `/scale` suffix, the format guessed from the value (a number with a decimal point is mjd; an ISO date
 *     is iso, or isot with a T; `+` and an ISO date is fits; `Y:D[:H:M[:S]]` is yday); the default scale is
 *     utc for iso, isot, fits, yday and unix, tt for cxcsec and tai otherwise; "+00:00" is removed first.
 *   - exprTree.py: function_call() — POINT 2 arguments, CIRCLE 3, BOX 4, POLYGON an even number >= 6 (all of
 *     them numeric expressions, identifiers or binds), REGION 1 (string, bind or identifier), GLOB 2
 *     (identifier, then string or bind), UUID 1 (a string holding a UUID).
 *   - doc/lsst.daf.butler/queries.rst: range literals are allowed inside IN only; tuples are used with IN and
 *     OVERLAPS for time ranges; `ingest_date` is a simple identifier.
 *
 * Extensions over daf_butler (accepted here, rejected by daf_butler): double-quoted strings and `<>` (kept
 * as "!="). Tuples and ranges are checked where daf_butler's later tree visitors would check them: a tuple
 * only as an operand of OVERLAPS or on the left of IN, a range only inside an IN list.
 *
 * Every error is a DbbError with code WHERE_SYNTAX_ERROR and details { position, expression }, `position`
 * being the 0-based offset the message points at (the end of the text for an unexpected end), and
 * `expression` the text or, for a long one, an excerpt around the position (`excerpt()`).
 *
 * Bounds (WHERE_LIMITS): an expression longer, more nested or with more terms than these is refused with
 * WHERE_TOO_COMPLEX before anything is compiled or sent to the database. The parser and every walk over the
 * tree recurse at most as deep as the nesting limit allows (AND/OR chains are walked without recursion by
 * the compiler), so no input can drive them past the stack, and the SQL sent nests as little as the tree.
 */
import { calendarOfMjd, CalendarTime, daysInMonth, formatIso, isLeapYear, MJD_OF_UNIX_EPOCH, mjdOfCalendar } from "../time";
import { DbbError } from "../../../lib/errors";

export const WHERE_SYNTAX_ERROR = "WHERE_SYNTAX_ERROR";
export const WHERE_TOO_COMPLEX = "WHERE_TOO_COMPLEX";

/**
 * The size of a where expression: characters; nesting (each parenthesis, NOT, sign, function call and
 * operator level below another; a chain of ANDs or ORs counts once); terms (operands outside IN lists:
 * names, literals, bind parameters). IN lists are bounded by the length only: they compile to one array.
 */
export const WHERE_LIMITS = { maxLength: 65536, maxNesting: 64, maxTerms: 1000 } as const;

/** At most this many characters of the input are echoed in an error. */
const EXCERPT_CHARS = 160;

/** The expression, or for a long one an excerpt of it around `position` (marked with … where cut). */
export function excerpt(expression: string, position = 0): string {
  if (expression.length <= EXCERPT_CHARS) return expression;
  const start = Math.max(0, Math.min(position - EXCERPT_CHARS / 2, expression.length - EXCERPT_CHARS));
  const end = start + EXCERPT_CHARS;
  return `${start > 0 ? "…" : ""}${expression.slice(start, end)}${end < expression.length ? "…" : ""}`;
}

/** A message cut to a length a person reads (the parts that quote input are cut already). */
export function capped(message: string): string {
  return message.length > 600 ? `${message.slice(0, 600)}…` : message;
}

/** A token or value as shown in a message: cut to a few dozen characters. */
function shown(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// ---------------------------------------------------------------------------------------------------------
// The tree
// ---------------------------------------------------------------------------------------------------------

/** `detector`, `visit.day_obs`, `visit.timespan.begin`: up to three dot-separated parts, case kept. */
export interface IdentifierNode {
  kind: "identifier";
  name: string;
  parts: string[];
  position: number;
}

/** `raw` is the text as written (with its sign, inside IN lists); `value` its numeric value. */
export interface NumberNode {
  kind: "number";
  value: number;
  raw: string;
  isInteger: boolean;
  position: number;
}

export interface StringNode {
  kind: "string";
  value: string;
  quote: "'" | '"';
  position: number;
}

export type TimeFormat = "mjd" | "jd" | "unix" | "iso" | "isot" | "fits" | "yday";
export type TimeScale = "tai" | "tcb" | "tcg" | "tdb" | "tt" | "ut1" | "utc" | "local";

/**
 * `T'...'`. `raw` is the text between the quotes. `iso` (YYYY-MM-DDTHH:MM:SS[.fff], no zone) and `mjd` give
 * the same instant in the literal's own `scale`; no scale conversion (leap seconds) is done here. `iso` is
 * absent when the year falls outside 0..9999.
 */
export interface TimeNode {
  kind: "time";
  raw: string;
  format: TimeFormat;
  scale: TimeScale;
  iso?: string;
  mjd?: number;
  position: number;
}

/** `:name`. */
export interface BindNode {
  kind: "bind";
  name: string;
  position: number;
}

/** `start..stop[:stride]`, both ends inclusive; `stride` is null when not written (meaning 1). IN lists only. */
export interface RangeNode {
  kind: "range";
  start: number;
  stop: number;
  stride: number | null;
  position: number;
}

export interface UnaryNode {
  kind: "unary";
  op: "NOT" | "-" | "+";
  operand: WhereNode;
  position: number;
}

export type BinaryOperator = "OR" | "AND" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%";

/** `position` is where the left operand starts (its opening parenthesis, if any); `opPosition` the operator's. */
export interface BinaryNode {
  kind: "binary";
  op: BinaryOperator;
  lhs: WhereNode;
  rhs: WhereNode;
  position: number;
  opPosition: number;
}

export type InItem = NumberNode | StringNode | TimeNode | RangeNode | BindNode | IdentifierNode | FunctionNode;

/** `expr IN (items)` / `expr NOT IN (items)`. */
export interface InNode {
  kind: "in";
  negated: boolean;
  expr: WhereNode;
  items: InItem[];
  position: number;
}

/** `lhs OVERLAPS rhs` (time ranges or regions). */
export interface OverlapsNode {
  kind: "overlaps";
  lhs: WhereNode;
  rhs: WhereNode;
  position: number;
  opPosition: number;
}

export type FunctionName = "POINT" | "CIRCLE" | "BOX" | "POLYGON" | "REGION" | "GLOB" | "UUID";

/** A call of one of the known functions; `name` upper-cased. */
export interface FunctionNode {
  kind: "function";
  name: FunctionName;
  args: WhereNode[];
  position: number;
}

/** `(a, b)`: exactly two items (a time range). */
export interface TupleNode {
  kind: "tuple";
  items: WhereNode[];
  position: number;
}

export type WhereNode =
  | IdentifierNode
  | NumberNode
  | StringNode
  | TimeNode
  | BindNode
  | RangeNode
  | UnaryNode
  | BinaryNode
  | InNode
  | OverlapsNode
  | FunctionNode
  | TupleNode;

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

function syntaxError(expression: string, position: number, message: string): DbbError {
  return new DbbError(WHERE_SYNTAX_ERROR, `Invalid where expression: ${capped(message)}`, { position, expression: excerpt(expression, position) });
}

function tooComplex(expression: string, position: number, message: string, limit: number): DbbError {
  return new DbbError(
    WHERE_TOO_COMPLEX,
    `Invalid where expression: ${message}; the limit is ${limit}. Simplify it: use IN (...) lists, ranges (1..100) or bind parameters`,
    { position, limit, expression: excerpt(expression, position) },
  );
}

// ---------------------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------------------

type Keyword = "AND" | "OR" | "NOT" | "IN" | "OVERLAPS";
const KEYWORDS: ReadonlySet<string> = new Set(["AND", "OR", "NOT", "IN", "OVERLAPS"]);

type OperatorText = "=" | "!=" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%";

type Token =
  | { type: "number"; text: string; pos: number }
  | { type: "string"; text: string; value: string; quote: "'" | '"'; pos: number }
  | { type: "time"; text: string; value: string; pos: number }
  | { type: "range"; text: string; start: number; stop: number; stride: number | null; pos: number }
  | { type: "ident"; text: string; parts: string[]; pos: number }
  | { type: "keyword"; text: string; keyword: Keyword; pos: number }
  | { type: "bind"; text: string; name: string; pos: number }
  | { type: "op"; text: string; op: OperatorText; pos: number }
  | { type: "("; text: string; pos: number }
  | { type: ")"; text: string; pos: number }
  | { type: ","; text: string; pos: number }
  | { type: "end"; text: string; pos: number };

const WHITESPACE = /[ \t\r\n]/;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)/y;
// A range: -?N .. -?M, optionally followed by : S. The stride digits are taken whatever they are and
// checked afterwards so that `1..5:0` gets a precise message.
const RANGE = /(-?\d+)\s*\.\.\s*(-?\d+)(?:\s*:\s*(\d+))?/y;

function describe(token: Token): string {
  switch (token.type) {
    case "end":
      return "end of expression";
    case "number":
      return `number ${shown(token.text)}`;
    case "string":
      return `string ${shown(token.text)}`;
    case "time":
      return `time literal ${shown(token.text)}`;
    case "range":
      return `range ${shown(token.text)}`;
    case "ident":
      return `identifier '${shown(token.text)}'`;
    case "keyword":
      return `keyword ${token.keyword}`;
    case "bind":
      return `bind parameter ${shown(token.text)}`;
    default:
      return `'${shown(token.text)}'`;
  }
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const n = expression.length;
  let i = 0;
  const matchAt = (re: RegExp, at: number): RegExpExecArray | null => {
    re.lastIndex = at;
    return re.exec(expression);
  };

  while (i < n) {
    const c = expression[i];
    if (WHITESPACE.test(c)) {
      i++;
      continue;
    }
    const start = i;

    // Time literal T'...' (either case of T), as daf_butler: the shortest run to the next quote, one line.
    if ((c === "T" || c === "t") && expression[i + 1] === "'") {
      const close = findClosingQuote(expression, i + 2, "'");
      if (close < 0) {
        throw syntaxError(
          expression,
          start,
          `unterminated time literal at position ${start}: found ${c}' with no closing quote on its line, expected T'time-string'`,
        );
      }
      tokens.push({ type: "time", text: expression.slice(start, close + 1), value: expression.slice(i + 2, close), pos: start });
      i = close + 1;
      continue;
    }

    // String literal: single quotes as daf_butler; double quotes accepted as an extension. No escapes.
    if (c === "'" || c === '"') {
      const close = findClosingQuote(expression, i + 1, c);
      if (close < 0) {
        throw syntaxError(
          expression,
          start,
          `unterminated string at position ${start}: found ${c} with no closing ${c} on its line, expected a closing ${c}`,
        );
      }
      tokens.push({ type: "string", text: expression.slice(start, close + 1), value: expression.slice(i + 1, close), quote: c, pos: start });
      i = close + 1;
      continue;
    }

    // Range literal (tried before numbers and before '-', as in daf_butler's lexer).
    if (c === "-" || isDigit(c)) {
      const m = matchAt(RANGE, i);
      if (m) {
        const strideText = m[3];
        if (strideText !== undefined && !/^[1-9]\d*$/.test(strideText)) {
          const stridePos = start + m[0].lastIndexOf(strideText);
          throw syntaxError(
            expression,
            stridePos,
            `bad range stride '${strideText}' at position ${stridePos}: expected a positive integer (as in 1..10:2)`,
          );
        }
        const startValue = Number(m[1]);
        const stopValue = Number(m[2]);
        const stride = strideText === undefined ? null : Number(strideText);
        for (const [text, value] of [[m[1], startValue], [m[2], stopValue], [strideText, stride]] as const) {
          if (value !== null && !Number.isSafeInteger(value)) {
            throw syntaxError(expression, start, `range bound ${shown(String(text))} at position ${start} is too large: expected an integer of at most 15 digits`);
          }
        }
        tokens.push({ type: "range", text: m[0], start: startValue, stop: stopValue, stride, pos: start });
        i = start + m[0].length;
        continue;
      }
    }

    // Number.
    if (isDigit(c) || (c === "." && isDigit(expression[i + 1] ?? ""))) {
      const m = matchAt(NUMBER, i);
      if (m) {
        tokens.push({ type: "number", text: m[0], pos: start });
        i += m[0].length;
        continue;
      }
    }

    // Identifier (up to three dot-separated parts) or keyword.
    const nameMatch = matchAt(NAME, i);
    if (nameMatch) {
      const parts = [nameMatch[0]];
      i += nameMatch[0].length;
      while (expression[i] === ".") {
        const next = matchAt(NAME, i + 1);
        if (!next) break;
        if (parts.length === 3) {
          throw syntaxError(
            expression,
            i,
            `unexpected '.' at position ${i} after identifier '${parts.join(".")}': expected an identifier of at most three dot-separated parts`,
          );
        }
        parts.push(next[0]);
        i += 1 + next[0].length;
      }
      const text = parts.join(".");
      if (parts.length === 1 && KEYWORDS.has(text.toUpperCase())) {
        tokens.push({ type: "keyword", text, keyword: text.toUpperCase() as Keyword, pos: start });
      } else {
        tokens.push({ type: "ident", text, parts, pos: start });
      }
      continue;
    }

    // Bind parameter.
    if (c === ":") {
      const m = matchAt(NAME, i + 1);
      if (!m) {
        throw syntaxError(
          expression,
          start,
          `unexpected character ':' at position ${start}: expected a bind parameter name after ':' (as in :name)`,
        );
      }
      tokens.push({ type: "bind", text: ":" + m[0], name: m[0], pos: start });
      i += 1 + m[0].length;
      continue;
    }

    // Operators and punctuation.
    const two = expression.slice(i, i + 2);
    if (two === "!=" || two === "<>" || two === "<=" || two === ">=") {
      tokens.push({ type: "op", text: two, op: two === "<>" ? "!=" : two, pos: start });
      i += 2;
      continue;
    }
    if ("=<>+-*/%".includes(c)) {
      tokens.push({ type: "op", text: c, op: c as OperatorText, pos: start });
      i += 1;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") {
      tokens.push({ type: c, text: c, pos: start });
      i += 1;
      continue;
    }

    let hint = "an identifier, a literal, an operator or a parenthesis";
    if (c === "!") hint = "'!=' (there is no '!' operator; use NOT)";
    else if (c === "&" || c === "|") hint = "AND / OR instead of '&' / '|'";
    else if (c === ".") hint = "a digit after '.' or an identifier part after a name";
    throw syntaxError(expression, start, `unexpected character '${c}' at position ${start}: expected ${hint}`);
  }
  tokens.push({ type: "end", text: "", pos: n });
  return tokens;
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

/** Index of the closing quote, searching from `from` and stopping at a line end (daf_butler's `.*?`). */
function findClosingQuote(text: string, from: number, quote: string): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === quote) return j;
    if (text[j] === "\n") return -1;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------------------
// Time literals
// ---------------------------------------------------------------------------------------------------------

/** The formats astropy.time.Time knows: accepted by daf_butler, so "unknown format" is only said of others. */
const ASTROPY_FORMATS: ReadonlySet<string> = new Set([
  "jd", "mjd", "decimalyear", "unix", "unix_tai", "cxcsec", "galexsec", "gps", "plot_date", "stardate",
  "datetime", "ymdhms", "iso", "isot", "yday", "datetime64", "fits", "byear", "jyear", "byear_str",
  "jyear_str", "astropy_time",
]);
const ASTROPY_SCALES: ReadonlySet<string> = new Set(["tai", "tcb", "tcg", "tdb", "tt", "ut1", "utc", "local"]);

// daf_butler's guess of the format: [format/] (number | iso | fits | yday) [/scale]. Numbers need a point.
const TIME_STRING = new RegExp(
  "^(?:(\\w+)/)?" +
    "(?:" +
    "(?<number>-?(?:\\d+\\.\\d*|\\.\\d+))" +
    "|(?<iso>\\d+-\\d+-\\d+(?:[ T]\\d+:\\d+(?::\\d+(?:\\.\\d*)?)?)?)" +
    "|(?<fits>\\+\\d+-\\d+-\\d+(?:T\\d+:\\d+:\\d+(?:\\.\\d*)?)?)" +
    "|(?<yday>\\d+:\\d+(?::\\d+:\\d+(?::\\d+(?:\\.\\d*)?)?)?)" +
    ")" +
    "(?:/(\\w+))?$",
  "i",
);

const DATE_TIME = /^(\+?\d+)-(\d+)-(\d+)(?:([ Tt])(\d+):(\d+)(?::(\d+)(?:\.(\d*))?)?)?$/;
const YDAY = /^(\d+):(\d+)(?::(\d+):(\d+)(?::(\d+)(?:\.(\d*))?)?)?$/;

class TimeError extends Error {}

function parseTimeString(raw: string): { format: TimeFormat; scale: TimeScale; iso?: string; mjd?: number } {
  const text = raw.split("+00:00").join("");
  const m = TIME_STRING.exec(text);
  if (!m || !m.groups) {
    throw new TimeError(
      "it matches none of the time forms: expected an ISO date/time (2024-01-01, 2024-01-01 00:00:00, 2024-01-01T00:00:00.5), " +
        "an MJD with a decimal point (60000.5), +YYYYY-MM-DD (fits) or YYYY:DDD[:HH:MM[:SS]] (yday), " +
        "optionally as format/value and/or value/scale",
    );
  }
  const explicitFormat = m[1]?.toLowerCase();
  const explicitScale = m[m.length - 1]?.toLowerCase();
  const { number, iso, fits, yday } = m.groups;

  if (explicitFormat !== undefined && !ASTROPY_FORMATS.has(explicitFormat)) {
    const hint = ASTROPY_SCALES.has(explicitFormat)
      ? ` ('${explicitFormat}' is a time scale; the scale goes after the value, as in T'value/${explicitFormat}')`
      : "";
    throw new TimeError(`unknown time format '${explicitFormat}'${hint}: expected one of mjd, jd, unix, iso, isot, fits, yday`);
  }
  if (explicitScale !== undefined && !ASTROPY_SCALES.has(explicitScale)) {
    throw new TimeError(`unknown time scale '${explicitScale}': expected one of ${[...ASTROPY_SCALES].join(", ")}`);
  }

  let format: string;
  if (explicitFormat !== undefined) format = explicitFormat;
  else if (number !== undefined) format = "mjd";
  else if (iso !== undefined) format = /t/i.test(iso) ? "isot" : "iso";
  else if (fits !== undefined) format = "fits";
  else format = "yday";

  const supported: readonly string[] = ["mjd", "jd", "unix", "iso", "isot", "fits", "yday"];
  if (!supported.includes(format)) {
    throw new TimeError(`time format '${format}' is not supported here: expected one of ${supported.join(", ")}`);
  }
  const defaultScale: TimeScale = ["iso", "isot", "fits", "yday", "unix"].includes(format) ? "utc" : "tai";
  const scale = (explicitScale ?? defaultScale) as TimeScale;

  const mismatch = (): TimeError => new TimeError(`value does not match time format '${format}'`);
  let mjd: number;
  let calendar: CalendarTime | undefined;
  if (format === "mjd" || format === "jd" || format === "unix") {
    if (number === undefined) throw mismatch();
    const value = Number(number);
    if (!Number.isFinite(value)) throw mismatch();
    mjd = format === "mjd" ? value : format === "jd" ? value - 2400000.5 : MJD_OF_UNIX_EPOCH + value / 86400;
  } else if (format === "yday") {
    if (yday === undefined) throw mismatch();
    calendar = parseYday(yday);
    mjd = mjdOfCalendar(calendar);
  } else {
    // iso, isot, fits
    const value = iso ?? fits;
    if (value === undefined) throw mismatch();
    const hasTime = /[ Tt]/.test(value);
    if (hasTime) {
      const separator = value.match(/[ Tt]/)![0];
      if (format === "iso" && separator !== " ") throw new TimeError("format 'iso' separates date and time with a space, not 'T'");
      if (format !== "iso" && separator === " ") throw new TimeError(`format '${format}' separates date and time with 'T', not a space`);
    }
    if (format !== "fits" && value.startsWith("+")) throw mismatch();
    calendar = parseDateTime(value);
    mjd = mjdOfCalendar(calendar);
  }

  const result: { format: TimeFormat; scale: TimeScale; iso?: string; mjd?: number } = {
    format: format as TimeFormat,
    scale,
    mjd,
  };
  const shown = calendar ?? calendarOfMjd(mjd);
  if (shown.year >= 0 && shown.year <= 9999) result.iso = formatIso(shown);
  return result;
}

function parseDateTime(value: string): CalendarTime {
  const m = DATE_TIME.exec(value);
  if (!m) throw new TimeError("not a valid date/time");
  const [, yearText, monthText, dayText, , hourText, minuteText, secondText, fraction] = m;
  if (yearText.startsWith("+")) {
    if (!/^\+\d{5}$/.test(yearText)) throw new TimeError(`year '${yearText}' must be written +YYYYY (five digits) in fits format`);
  } else if (!/^\d{4}$/.test(yearText)) {
    throw new TimeError(`year '${yearText}' must have four digits`);
  }
  const t: CalendarTime = {
    year: Number(yearText),
    month: field(monthText, "month", 1, 12),
    day: 0,
    hour: hourText === undefined ? 0 : field(hourText, "hour", 0, 23),
    minute: minuteText === undefined ? 0 : field(minuteText, "minute", 0, 59),
    second: secondText === undefined ? 0 : field(secondText, "second", 0, 60),
    fraction: fraction ?? "",
  };
  t.day = field(dayText, "day", 1, daysInMonth(t.year, t.month));
  return t;
}

function parseYday(value: string): CalendarTime {
  const m = YDAY.exec(value);
  if (!m) throw new TimeError("not a valid yday time");
  const [, yearText, dayText, hourText, minuteText, secondText, fraction] = m;
  if (!/^\d{4}$/.test(yearText)) throw new TimeError(`year '${yearText}' must have four digits`);
  const year = Number(yearText);
  if (!/^\d{3}$/.test(dayText)) throw new TimeError(`day of year '${dayText}' must have three digits`);
  let dayOfYear = Number(dayText);
  const yearLength = isLeapYear(year) ? 366 : 365;
  if (dayOfYear < 1 || dayOfYear > yearLength) throw new TimeError(`day of year ${dayText} is out of range 001..${yearLength}`);
  let month = 1;
  while (dayOfYear > daysInMonth(year, month)) {
    dayOfYear -= daysInMonth(year, month);
    month++;
  }
  return {
    year,
    month,
    day: dayOfYear,
    hour: hourText === undefined ? 0 : field(hourText, "hour", 0, 23),
    minute: minuteText === undefined ? 0 : field(minuteText, "minute", 0, 59),
    second: secondText === undefined ? 0 : field(secondText, "second", 0, 60),
    fraction: fraction ?? "",
  };
}

function field(text: string, what: string, min: number, max: number): number {
  if (text.length > 2) throw new TimeError(`${what} '${text}' has more than two digits`);
  const value = Number(text);
  if (value < min || value > max) throw new TimeError(`${what} ${text} is out of range ${min}..${max}`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------------------

const FUNCTION_SIGNATURES: Record<FunctionName, string> = {
  POINT: "POINT(ra, dec)",
  CIRCLE: "CIRCLE(ra, dec, radius)",
  BOX: "BOX(ra, dec, width, height)",
  POLYGON: "POLYGON(ra1, dec1, ra2, dec2, ra3, dec3, ...)",
  REGION: "REGION('pos-string')",
  GLOB: "GLOB(identifier, 'pattern')",
  UUID: "UUID('uuid-string')",
};

const ARITHMETIC_OPS: ReadonlySet<string> = new Set(["+", "-", "*", "/", "%"]);

function isNumericArgument(node: WhereNode): boolean {
  switch (node.kind) {
    case "number":
    case "bind":
    case "identifier":
      return true;
    case "unary":
      return node.op !== "NOT";
    case "binary":
      return ARITHMETIC_OPS.has(node.op);
    default:
      return false;
  }
}

const UUID_TEXT = /^[0-9a-f]{32}$/i;

// ---------------------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------------------

class Parser {
  private index = 0;
  /** Start of the outermost parentheses around a node, when there are some. */
  private readonly outerStart = new Map<WhereNode, number>();
  /** The nesting of each node built (see WHERE_LIMITS). */
  private readonly depth = new Map<WhereNode, number>();
  /** How deep the parser has descended (parentheses, NOT, signs, calls): bounded before each descent. */
  private nesting = 0;
  private terms = 0;

  constructor(
    private readonly expression: string,
    private readonly tokens: Token[],
  ) {}

  parse(): WhereNode {
    const node = this.parseOr();
    const next = this.peek();
    if (next.type !== "end") {
      if (next.type === ")") {
        throw this.fail(next.pos, `unbalanced parenthesis: found ')' at position ${next.pos} with no matching '(', expected AND, OR or end of expression`);
      }
      throw this.fail(
        next.pos,
        `found ${describe(next)} at position ${next.pos}, expected AND, OR, a comparison, IN, OVERLAPS, an arithmetic operator or end of expression${this.unsupportedHint(next)}`,
      );
    }
    this.checkTuples(node, false);
    return node;
  }

  // --- token helpers -----------------------------------------------------------------------------------

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== "end") this.index++;
    return token;
  }

  private isKeyword(token: Token, keyword: Keyword): boolean {
    return token.type === "keyword" && token.keyword === keyword;
  }

  private fail(position: number, message: string): DbbError {
    return syntaxError(this.expression, position, message);
  }

  /** Descends one level (parenthesis, NOT, sign, call) or refuses the expression as too deeply nested. */
  private descend<T>(at: Token, parse: () => T): T {
    if (++this.nesting > WHERE_LIMITS.maxNesting) {
      throw tooComplex(this.expression, at.pos, `it nests more than ${WHERE_LIMITS.maxNesting} levels deep at position ${at.pos}`, WHERE_LIMITS.maxNesting);
    }
    try {
      return parse();
    } finally {
      this.nesting--;
    }
  }

  /** Records a node built from its children: its nesting (AND/OR chains count once) must stay within the limit. */
  private built<T extends WhereNode>(node: T, ...children: WhereNode[]): T {
    let d = 1;
    for (const child of children) {
      const c = this.depth.get(child) ?? 1;
      const chained = node.kind === "binary" && child.kind === "binary" && (node.op === "AND" || node.op === "OR") && child.op === node.op;
      d = Math.max(d, chained ? c : c + 1);
    }
    if (d > WHERE_LIMITS.maxNesting) {
      const at = node.kind === "binary" || node.kind === "overlaps" ? node.opPosition : node.position;
      throw tooComplex(this.expression, at, `it nests more than ${WHERE_LIMITS.maxNesting} levels deep at position ${at} (operators within operators)`, WHERE_LIMITS.maxNesting);
    }
    this.depth.set(node, d);
    return node;
  }

  /** Counts an operand outside IN lists. */
  private term<T extends WhereNode>(node: T): T {
    if (++this.terms > WHERE_LIMITS.maxTerms) {
      throw tooComplex(this.expression, node.position, `it has more than ${WHERE_LIMITS.maxTerms} terms (names, literals, bind parameters) outside IN lists`, WHERE_LIMITS.maxTerms);
    }
    return node;
  }

  private startOf(node: WhereNode): number {
    return this.outerStart.get(node) ?? node.position;
  }

  private unsupportedHint(token: Token): string {
    if (token.type === "ident" && token.parts.length === 1) {
      const word = token.text.toUpperCase();
      if (["IS", "NULL", "BETWEEN", "LIKE", "ESCAPE", "REGEXP"].includes(word)) {
        return ` (${word} is not part of the daf_butler where language)`;
      }
    }
    return "";
  }

  /** "expected an expression" error at the current token, naming what came before. */
  private expectedExpression(after?: Token): DbbError {
    const found = this.peek();
    const afterText = after ? ` after '${after.text}'` : "";
    let hint = "";
    if (found.type === "op" && found.op === "=" && after?.type === "op" && after.op === "=") hint = " (equality is a single '=')";
    if (found.type === "keyword" && found.keyword === "NOT" && after !== undefined) {
      hint = " (NOT applies to a whole condition: write NOT (a = b), or use NOT IN / !=)";
    }
    if (found.type === "end") {
      return this.fail(found.pos, `unexpected end of expression at position ${found.pos}: expected an expression${afterText}`);
    }
    return this.fail(found.pos, `found ${describe(found)} at position ${found.pos}, expected an expression${afterText}${hint}`);
  }

  private expectClose(open: Token, what: string): Token {
    const token = this.peek();
    if (token.type === ")") return this.next();
    if (token.type === "end") {
      throw this.fail(
        open.pos,
        `unbalanced parenthesis: '(' at position ${open.pos} is never closed; found end of expression at position ${token.pos}, expected ')'`,
      );
    }
    throw this.fail(token.pos, `found ${describe(token)} at position ${token.pos}, expected ${what}${this.unsupportedHint(token)}`);
  }

  // --- grammar -------------------------------------------------------------------------------------------

  private parseOr(): WhereNode {
    let lhs = this.parseAnd();
    while (this.isKeyword(this.peek(), "OR")) {
      const op = this.next();
      if (this.peek().type === "end" || this.peek().type === ")") throw this.expectedExpression(op);
      const rhs = this.parseAnd();
      lhs = this.built({ kind: "binary", op: "OR", lhs, rhs, position: this.startOf(lhs), opPosition: op.pos }, lhs, rhs);
    }
    return lhs;
  }

  private parseAnd(): WhereNode {
    let lhs = this.parseNot();
    while (this.isKeyword(this.peek(), "AND")) {
      const op = this.next();
      if (this.peek().type === "end" || this.peek().type === ")") throw this.expectedExpression(op);
      const rhs = this.parseNot();
      lhs = this.built({ kind: "binary", op: "AND", lhs, rhs, position: this.startOf(lhs), opPosition: op.pos }, lhs, rhs);
    }
    return lhs;
  }

  private parseNot(): WhereNode {
    const token = this.peek();
    if (this.isKeyword(token, "NOT")) {
      this.next();
      if (this.peek().type === "end" || this.peek().type === ")") throw this.expectedExpression(token);
      const operand = this.descend(token, () => this.parseNot());
      return this.built({ kind: "unary", op: "NOT", operand, position: token.pos }, operand);
    }
    return this.parseComparison();
  }

  private parseComparison(): WhereNode {
    let lhs = this.parsePredicate();
    for (;;) {
      const token = this.peek();
      if (token.type === "op" && ["=", "!=", "<", "<=", ">", ">="].includes(token.op)) {
        this.next();
        const rhs = this.parsePredicateAfter(token);
        lhs = this.built({ kind: "binary", op: token.op as BinaryOperator, lhs, rhs, position: this.startOf(lhs), opPosition: token.pos }, lhs, rhs);
      } else if (this.isKeyword(token, "OVERLAPS")) {
        this.next();
        const rhs = this.parsePredicateAfter(token);
        lhs = this.built({ kind: "overlaps", lhs, rhs, position: this.startOf(lhs), opPosition: token.pos }, lhs, rhs);
      } else {
        return lhs;
      }
    }
  }

  private parsePredicateAfter(op: Token): WhereNode {
    if (!this.startsOperand(this.peek())) throw this.expectedExpression(op);
    return this.parsePredicate();
  }

  private parsePredicate(): WhereNode {
    const expr = this.parseAdditive();
    const token = this.peek();
    let negated = false;
    if (this.isKeyword(token, "NOT")) {
      if (!this.isKeyword(this.peek(1), "IN")) {
        const after = this.peek(1);
        throw this.fail(after.pos, `found ${describe(after)} at position ${after.pos}, expected IN after NOT`);
      }
      this.next();
      negated = true;
    } else if (!this.isKeyword(token, "IN")) {
      return expr;
    }
    const inToken = this.next();
    const open = this.peek();
    if (open.type !== "(") {
      throw this.fail(open.pos, `found ${describe(open)} at position ${open.pos}, expected '(' after IN (the list must be in parentheses)`);
    }
    this.next();
    const items = this.parseInItems(open, inToken);
    return this.built({ kind: "in", negated, expr, items, position: this.startOf(expr) }, expr);
  }

  private parseInItems(open: Token, inToken: Token): InItem[] {
    if (this.peek().type === ")") {
      const close = this.peek();
      throw this.fail(close.pos, `empty IN list: found ')' at position ${close.pos}, expected at least one literal, range, bind parameter or identifier after '${inToken.text} ('`);
    }
    const items: InItem[] = [];
    for (;;) {
      items.push(this.parseInItem());
      const token = this.peek();
      if (token.type === ",") {
        this.next();
        if (this.peek().type === ")") {
          const close = this.peek();
          throw this.fail(close.pos, `found ')' at position ${close.pos}, expected another IN list item after ','`);
        }
        continue;
      }
      this.expectClose(open, "',' or ')' in the IN list (IN lists hold only literals, ranges, bind parameters and simple identifiers)");
      return items;
    }
  }

  private parseInItem(): InItem {
    const token = this.peek();
    const inListHint = "expected a literal, range, bind parameter or simple identifier in the IN list";
    switch (token.type) {
      case "number":
        this.next();
        return this.numberNode(token.text, token.pos);
      case "op":
        if ((token.op === "-" || token.op === "+") && this.peek(1).type === "number") {
          this.next();
          const number = this.next();
          return this.numberNode(token.op + number.text, token.pos);
        }
        break;
      case "range":
        this.next();
        return { kind: "range", start: token.start, stop: token.stop, stride: token.stride, position: token.pos };
      case "string":
      case "time":
      case "bind":
        this.next();
        return this.literalNode(token) as InItem;
      case "ident": {
        if (token.parts.length > 1) {
          throw this.fail(token.pos, `found qualified identifier '${shown(token.text)}' at position ${token.pos}, ${inListHint} (daf_butler allows no dotted names here)`);
        }
        if (this.peek(1).type === "(") {
          const call = this.parseFunctionCall();
          if (call.name !== "UUID") {
            throw this.fail(call.position, `found ${call.name}() at position ${call.position}, ${inListHint} (the only function allowed in an IN list is UUID('...'))`);
          }
          return call;
        }
        this.next();
        return { kind: "identifier", name: token.text, parts: [...token.parts], position: token.pos };
      }
      default:
        break;
    }
    if (token.type === "end") {
      throw this.fail(token.pos, `unexpected end of expression at position ${token.pos}: ${inListHint}`);
    }
    throw this.fail(token.pos, `found ${describe(token)} at position ${token.pos}, ${inListHint} (no expressions or parentheses)`);
  }

  private parseAdditive(): WhereNode {
    let lhs = this.parseMultiplicative();
    for (;;) {
      const token = this.peek();
      if (token.type !== "op" || (token.op !== "+" && token.op !== "-")) return lhs;
      this.next();
      if (!this.startsOperand(this.peek())) throw this.expectedExpression(token);
      const rhs = this.parseMultiplicative();
      lhs = this.built({ kind: "binary", op: token.op, lhs, rhs, position: this.startOf(lhs), opPosition: token.pos }, lhs, rhs);
    }
  }

  private parseMultiplicative(): WhereNode {
    let lhs = this.parseUnary();
    for (;;) {
      const token = this.peek();
      if (token.type !== "op" || (token.op !== "*" && token.op !== "/" && token.op !== "%")) return lhs;
      this.next();
      if (!this.startsOperand(this.peek())) throw this.expectedExpression(token);
      const rhs = this.parseUnary();
      lhs = this.built({ kind: "binary", op: token.op, lhs, rhs, position: this.startOf(lhs), opPosition: token.pos }, lhs, rhs);
    }
  }

  private parseUnary(): WhereNode {
    const token = this.peek();
    if (token.type === "op" && (token.op === "-" || token.op === "+")) {
      this.next();
      if (!this.startsOperand(this.peek())) throw this.expectedExpression(token);
      const operand = this.descend(token, () => this.parseUnary());
      return this.built({ kind: "unary", op: token.op, operand, position: token.pos }, operand);
    }
    return this.parsePrimary();
  }

  /** Whether a token can begin an arithmetic operand (used to report "expected an expression" early). */
  private startsOperand(token: Token): boolean {
    switch (token.type) {
      case "number":
      case "string":
      case "time":
      case "range":
      case "ident":
      case "bind":
      case "(":
        return true;
      case "op":
        return token.op === "-" || token.op === "+";
      default:
        return false;
    }
  }

  private parsePrimary(): WhereNode {
    const token = this.peek();
    switch (token.type) {
      case "number":
        this.next();
        return this.term(this.numberNode(token.text, token.pos));
      case "string":
      case "time":
      case "bind":
        this.next();
        return this.term(this.literalNode(token));
      case "range":
        throw this.fail(
          token.pos,
          `found range ${shown(token.text)} at position ${token.pos}, expected a single value: range literals are only allowed inside an IN (...) list`,
        );
      case "ident":
        if (this.peek(1).type === "(") {
          if (token.parts.length > 1) {
            const paren = this.peek(1);
            throw this.fail(paren.pos, `found '(' at position ${paren.pos} after qualified name '${shown(token.text)}', expected a function name without dots or an operator`);
          }
          return this.parseFunctionCall();
        }
        this.next();
        return this.term({ kind: "identifier", name: token.text, parts: [...token.parts], position: token.pos });
      case "(":
        return this.descend(token, () => this.parseParenthesised());
      default:
        throw this.expectedExpression(this.tokens[this.index - 1]);
    }
  }

  private parseParenthesised(): WhereNode {
    const open = this.next();
    if (this.peek().type === ")") {
      const close = this.peek();
      throw this.fail(close.pos, `found ')' at position ${close.pos}, expected an expression inside '(' at position ${open.pos}`);
    }
    const first = this.parseOr();
    if (this.peek().type === ",") {
      this.next();
      const second = this.parseOr();
      if (this.peek().type === ",") {
        const comma = this.peek();
        throw this.fail(comma.pos, `found ',' at position ${comma.pos}, expected ')': a tuple has exactly two items (a time range)`);
      }
      this.expectClose(open, "')' to end the tuple");
      return this.built({ kind: "tuple", items: [first, second], position: open.pos }, first, second);
    }
    this.expectClose(open, "')' or an operator");
    this.outerStart.set(first, open.pos);
    return first;
  }

  private parseFunctionCall(): FunctionNode {
    const nameToken = this.next() as Extract<Token, { type: "ident" }>;
    const open = this.next();
    const args: WhereNode[] = [];
    if (this.peek().type !== ")") {
      for (;;) {
        args.push(this.descend(nameToken, () => this.parseOr()));
        if (this.peek().type !== ",") break;
        this.next();
      }
    }
    this.expectClose(open, `',' or ')' in the arguments of ${shown(nameToken.text)}()`);
    return this.built(this.checkFunction(nameToken, args), ...args);
  }

  private checkFunction(nameToken: Token, args: WhereNode[]): FunctionNode {
    const name = nameToken.text.toUpperCase();
    const pos = nameToken.pos;
    if (!Object.prototype.hasOwnProperty.call(FUNCTION_SIGNATURES, name)) {
      throw this.fail(
        pos,
        `unknown function '${shown(nameToken.text)}' at position ${pos}: expected one of ${Object.keys(FUNCTION_SIGNATURES).join(", ")}`,
      );
    }
    const fn = name as FunctionName;
    const signature = FUNCTION_SIGNATURES[fn];
    const arity = (expected: string): DbbError =>
      this.fail(pos, `${fn}() at position ${pos} takes ${expected}, found ${args.length}: expected ${signature}`);
    const badArg = (arg: WhereNode, expected: string): DbbError =>
      this.fail(this.startOf(arg), `bad argument of ${fn}() at position ${this.startOf(arg)}: found ${this.kindText(arg)}, expected ${expected}`);

    switch (fn) {
      case "POINT":
      case "CIRCLE":
      case "BOX": {
        const count = { POINT: 2, CIRCLE: 3, BOX: 4 }[fn];
        if (args.length !== count) throw arity(`${count} arguments`);
        for (const arg of args) if (!isNumericArgument(arg)) throw badArg(arg, "a numeric expression, identifier or bind parameter");
        break;
      }
      case "POLYGON":
        if (args.length < 6 || args.length % 2 !== 0) throw arity("an even number of at least 6 arguments (three or more ra, dec vertices)");
        for (const arg of args) if (!isNumericArgument(arg)) throw badArg(arg, "a numeric expression, identifier or bind parameter");
        break;
      case "REGION":
        if (args.length !== 1) throw arity("1 argument");
        if (!["string", "bind", "identifier"].includes(args[0].kind)) throw badArg(args[0], "a string, bind parameter or identifier");
        break;
      case "GLOB":
        if (args.length !== 2) throw arity("2 arguments");
        if (args[0].kind !== "identifier") throw badArg(args[0], "an identifier as the first argument");
        if (args[1].kind !== "string" && args[1].kind !== "bind") throw badArg(args[1], "a string pattern or bind parameter as the second argument");
        break;
      case "UUID": {
        if (args.length !== 1) throw arity("1 argument");
        const arg = args[0];
        if (arg.kind !== "string") throw badArg(arg, "a string literal");
        const hex = arg.value.trim().replace(/^urn:/i, "").replace(/^uuid:/i, "").replace(/[{}-]/g, "");
        if (!UUID_TEXT.test(hex)) throw badArg(arg, "a string holding a UUID (8-4-4-4-12 hex digits)");
        break;
      }
    }
    return { kind: "function", name: fn, args, position: pos };
  }

  private kindText(node: WhereNode): string {
    switch (node.kind) {
      case "binary":
        return `an expression with '${node.op}'`;
      case "unary":
        return `an expression with '${node.op}'`;
      case "function":
        return `${node.name}()`;
      case "in":
        return "an IN expression";
      default:
        return `a ${node.kind}`;
    }
  }

  private numberNode(raw: string, position: number): NumberNode {
    return { kind: "number", value: Number(raw), raw, isInteger: /^[-+]?\d+$/.test(raw), position };
  }

  private literalNode(token: Token): StringNode | TimeNode | BindNode {
    switch (token.type) {
      case "string":
        return { kind: "string", value: token.value, quote: token.quote, position: token.pos };
      case "bind":
        return { kind: "bind", name: token.name, position: token.pos };
      case "time": {
        try {
          const parsed = parseTimeString(token.value);
          return { kind: "time", raw: token.value, ...parsed, position: token.pos };
        } catch (err) {
          if (!(err instanceof TimeError)) throw err;
          throw this.fail(token.pos, `bad time literal ${shown(token.text)} at position ${token.pos}: ${err.message}`);
        }
      }
      default:
        throw new Error(`not a literal token: ${token.type}`);
    }
  }

  /** A tuple is only meaningful as an operand of OVERLAPS or on the left of IN (daf_butler's visitors). */
  private checkTuples(node: WhereNode, tupleAllowed: boolean): void {
    switch (node.kind) {
      case "tuple":
        if (!tupleAllowed) {
          throw this.fail(
            node.position,
            `unexpected tuple at position ${node.position}: expected a single value; a tuple (a, b) is only allowed as an operand of OVERLAPS or on the left of IN`,
          );
        }
        for (const item of node.items) this.checkTuples(item, false);
        return;
      case "overlaps":
        this.checkTuples(node.lhs, true);
        this.checkTuples(node.rhs, true);
        return;
      case "in":
        this.checkTuples(node.expr, true);
        for (const item of node.items) this.checkTuples(item, false);
        return;
      case "binary":
        this.checkTuples(node.lhs, false);
        this.checkTuples(node.rhs, false);
        return;
      case "unary":
        this.checkTuples(node.operand, false);
        return;
      case "function":
        for (const arg of node.args) this.checkTuples(arg, false);
        return;
      default:
        return;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------------------

/**
 * Parses a daf_butler `where` expression. Returns null for an empty or whitespace-only expression (daf_butler
 * accepts those too). Throws DbbError WHERE_SYNTAX_ERROR with details { position, expression } otherwise.
 */
export function parseWhere(expression: string): WhereNode | null {
  if (expression.length > WHERE_LIMITS.maxLength) {
    throw tooComplex(expression, WHERE_LIMITS.maxLength, `it has ${expression.length} characters`, WHERE_LIMITS.maxLength);
  }
  const tokens = tokenize(expression);
  if (tokens.length === 1) return null;
  return new Parser(expression, tokens).parse();
}

/** The direct children of a node, left to right. */
export function childrenOf(node: WhereNode): WhereNode[] {
  switch (node.kind) {
    case "unary":
      return [node.operand];
    case "binary":
    case "overlaps":
      return [node.lhs, node.rhs];
    case "in":
      return [node.expr, ...node.items];
    case "function":
      return [...node.args];
    case "tuple":
      return [...node.items];
    default:
      return [];
  }
}

function collect(node: WhereNode, pick: (n: WhereNode) => string | undefined): string[] {
  const seen = new Set<string>();
  const stack: WhereNode[] = [node];
  while (stack.length) {
    const n = stack.pop()!;
    const value = pick(n);
    if (value !== undefined) seen.add(value);
    stack.push(...childrenOf(n).reverse());
  }
  return [...seen];
}

/** Every identifier name used (dotted names whole), once each, in order of first appearance. */
export function identifiersOf(node: WhereNode): string[] {
  return collect(node, (n) => (n.kind === "identifier" ? n.name : undefined));
}

/** Every bind parameter name used (without the colon), once each, in order of first appearance. */
export function bindNamesOf(node: WhereNode): string[] {
  return collect(node, (n) => (n.kind === "bind" ? n.name : undefined));
}
