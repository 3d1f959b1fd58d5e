import { DbbError } from "./errors";

/**
 * A FITS primary header, read from the first bytes of a file (FITS Standard 4.0, §3–4): 2880-byte
 * blocks of 36 cards of 80 ASCII characters; a keyword in columns 1–8, "= " in 9–10 for a value,
 * `/` before a comment; strings in single quotes ('' is a quote inside), trailing blanks not
 * significant; T/F logicals; integers; floats (E or D exponent); an empty value is undefined (null).
 * Long strings continue over CONTINUE cards (a value ending in `&`), as astropy reads them;
 * ESO HIERARCH cards (`HIERARCH A B = value`) carry keywords longer than eight characters.
 * The header ends at END. Reading is bounded: at most `maxBlocks` blocks (1,000 by default,
 * 2.88 MB) are looked at, so a file that is not FITS costs little.
 *
 * Errors are DbbErrors naming what is wrong: BAD_FITS_HEADER for the header as a whole (not FITS,
 * no END, too long), BAD_HEADER_CARD for one card (its index and keyword in the details).
 */

/** The header's size unit. */
export const FITS_BLOCK = 2880;
export const FITS_CARD = 80;
export const DEFAULT_MAX_HEADER_BLOCKS = 1000;

/** The codes this module throws; registered in subgraphs/facility/errors.ts. */
export const BAD_FITS_HEADER = "BAD_FITS_HEADER";
export const BAD_HEADER_CARD = "BAD_HEADER_CARD";

export type FitsValue = string | number | boolean | null;

export interface FitsCard {
  keyword: string;
  /** undefined for commentary cards (COMMENT, HISTORY, blank keyword). */
  value?: FitsValue;
  comment?: string;
}

export interface FitsHeader {
  cards: FitsCard[];
  /** Keyword → value of its first card with a value (astropy's `header[key]`), CONTINUE cards merged. */
  values: Record<string, FitsValue>;
  /** Bytes the header takes in the file, END's block included. */
  byteLength: number;
}

const NOT_PRINTABLE = /[^\x20-\x7e]/;
const COMMENTARY = new Set(["COMMENT", "HISTORY", ""]);
const KEYWORD = /^[A-Z0-9_-]*$/;

function badHeader(message: string, details: Record<string, unknown> = {}) {
  return new DbbError(BAD_FITS_HEADER, message, details);
}

function badCard(index: number, keyword: string, message: string) {
  return new DbbError(BAD_HEADER_CARD, `card ${index + 1} (${keyword || "blank keyword"}): ${message}`, { card: index + 1, keyword });
}

/** Reads a string value starting at the opening quote; returns the text and where the rest begins. */
function readString(text: string, at: number, index: number, keyword: string): { value: string; end: number } {
  let out = "";
  let i = at + 1;
  for (;;) {
    const q = text.indexOf("'", i);
    if (q < 0) throw badCard(index, keyword, "a string value has no closing quote");
    out += text.slice(i, q);
    if (text[q + 1] === "'") {
      out += "'";
      i = q + 2;
      continue;
    }
    return { value: out.replace(/ +$/, ""), end: q + 1 };
  }
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([ED][+-]?\d+)?$/;

/** Parses the value field of a card (what follows "= "): value and comment. */
function parseValueField(field: string, index: number, keyword: string): { value: FitsValue; comment?: string } {
  let i = 0;
  while (field[i] === " ") i++;
  let value: FitsValue;
  let rest: string;
  if (field[i] === "'") {
    const s = readString(field, i, index, keyword);
    value = s.value;
    rest = field.slice(s.end);
  } else {
    const slash = field.indexOf("/", i);
    const token = (slash < 0 ? field.slice(i) : field.slice(i, slash)).trim();
    rest = slash < 0 ? "" : field.slice(slash);
    if (token === "") value = null;
    else if (token === "T") value = true;
    else if (token === "F") value = false;
    else if (INT.test(token)) value = Number(token);
    else if (FLOAT.test(token.toUpperCase())) value = Number(token.toUpperCase().replace("D", "E"));
    else throw badCard(index, keyword, `value '${token.slice(0, 40)}' is not a string, logical, integer or float`);
  }
  const r = rest.trim();
  if (r && !r.startsWith("/")) throw badCard(index, keyword, `unexpected '${r.slice(0, 20)}' after the value (a comment starts with '/')`);
  const comment = r.slice(1).trim();
  return comment ? { value, comment } : { value };
}

/** Parses one 80-character card. Returns null for END. */
function parseCard(card: string, index: number): FitsCard | null {
  if (card.length !== FITS_CARD) throw badCard(index, card.slice(0, 8).trim(), `is ${card.length} characters, not 80`);
  const bad = NOT_PRINTABLE.exec(card);
  if (bad) throw badCard(index, card.slice(0, 8).trim(), `holds a byte outside printable ASCII (0x${bad[0].charCodeAt(0).toString(16)}) at column ${bad.index + 1}`);
  const head = card.slice(0, 8).trimEnd();
  if (head === "END" && card.slice(8).trim() === "") return null;
  if (head === "HIERARCH") {
    const eq = card.indexOf("=", 9);
    if (eq < 0) return { keyword: card.slice(9).trim().replace(/\s+/g, " ") };
    const keyword = card.slice(9, eq).trim().replace(/\s+/g, " ");
    return { keyword, ...parseValueField(card.slice(eq + 1), index, keyword) };
  }
  if (!KEYWORD.test(head)) throw badCard(index, head, "the keyword may hold only A–Z, 0–9, '-' and '_'");
  if (head === "CONTINUE") return { keyword: head, ...parseValueField(card.slice(8), index, head) };
  if (COMMENTARY.has(head) || card.slice(8, 10) !== "= ") {
    const text = card.slice(8).trimEnd();
    return text.trim() ? { keyword: head, comment: text.trim() } : { keyword: head };
  }
  return { keyword: head, ...parseValueField(card.slice(10), index, head) };
}

/** Cards → header: CONTINUE merged into long strings, values by keyword. */
function assemble(raw: FitsCard[], byteLength: number): FitsHeader {
  const cards: FitsCard[] = [];
  for (const [i, card] of raw.entries()) {
    if (card.keyword === "CONTINUE") {
      const last = cards[cards.length - 1];
      if (last && typeof last.value === "string" && last.value.endsWith("&") && typeof card.value === "string") {
        last.value = last.value.slice(0, -1) + card.value;
        if (card.comment) last.comment = last.comment ? `${last.comment} ${card.comment}` : card.comment;
        continue;
      }
      if (typeof card.value !== "string") throw badCard(i, "CONTINUE", "a CONTINUE card must hold a string");
      // A CONTINUE with nothing to continue is kept as a card of its own, as astropy does.
    }
    cards.push(card);
  }
  const values: Record<string, FitsValue> = {};
  for (const c of cards) if (c.value !== undefined && !Object.hasOwn(values, c.keyword) && c.keyword !== "CONTINUE") values[c.keyword] = c.value;
  return { cards, values, byteLength };
}

/**
 * Reads the primary header at the start of a file's bytes. The first card must be SIMPLE (a
 * primary header) — or XTENSION when `extension` is set. A header that does not end within the
 * bytes given is BAD_FITS_HEADER with `truncated: true` (read more and try again); one longer than
 * maxBlocks is BAD_FITS_HEADER with `limit`.
 */
export function readFitsHeader(bytes: Uint8Array, options: ReadOptions & { extension?: boolean } = {}): FitsHeader {
  const maxBlocks = options.maxBlocks ?? DEFAULT_MAX_HEADER_BLOCKS;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < FITS_CARD) throw badHeader(`a FITS file starts with a 2880-byte header block; got ${buf.length} bytes`, { truncated: true });
  const first = buf.subarray(0, 8).toString("latin1").trimEnd();
  const expected = options.extension ? "XTENSION" : "SIMPLE";
  if (first !== expected) throw badHeader(`not a FITS ${options.extension ? "extension" : "file"}: the first card is '${first.replace(/[^\x20-\x7e]/g, "?")}', not ${expected}`);
  const raw: FitsCard[] = [];
  const limit = Math.min(buf.length, maxBlocks * FITS_BLOCK);
  let lastKept = false;
  for (let at = 0, index = 0; at + FITS_CARD <= limit; at += FITS_CARD, index++) {
    const text = buf.subarray(at, at + FITS_CARD).toString("latin1");
    if (options.keep && !(lastKept = wanted(text, options.keep, lastKept))) continue;
    const card = parseCard(text, index);
    if (!card) return assemble(raw, Math.ceil((at + FITS_CARD) / FITS_BLOCK) * FITS_BLOCK);
    raw.push(card);
  }
  if (buf.length >= maxBlocks * FITS_BLOCK) {
    throw badHeader(`no END card in the first ${maxBlocks} header blocks (${maxBlocks * FITS_BLOCK} bytes); a header this long is refused`, { limit: maxBlocks });
  }
  throw badHeader(`no END card in the ${buf.length} bytes given: the header is truncated`, { truncated: true });
}

/**
 * The primary header at the start of a file's bytes as the text `recordArrivals` takes: its cards
 * up to and including END, as Latin-1 text (checked by reading it first).
 */
export function fitsHeaderText(bytes: Uint8Array, options: { maxBlocks?: number } = {}): string {
  const h = readFitsHeader(bytes, options);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, h.byteLength)).toString("latin1");
  const end = text.search(/END {77}/);
  return end >= 0 && end % FITS_CARD === 0 ? text.slice(0, end + FITS_CARD) : text;
}

/**
 * Reads header cards given as text: 80-character cards one after another (a header's bytes as
 * Latin-1 text, as `recordArrivals` takes it), or one card a line (lines shorter than 80 are padded).
 * END is optional here; nothing after it is read.
 */
export function readHeaderText(text: string, options: ReadOptions = {}): FitsHeader {
  const maxBlocks = options.maxBlocks ?? DEFAULT_MAX_HEADER_BLOCKS;
  const maxCards = maxBlocks * (FITS_BLOCK / FITS_CARD);
  const lines = text.includes("\n") ? text.split(/\r?\n/).filter((l, i, all) => l.length || i < all.length - 1) : null;
  const count = lines ? lines.length : Math.ceil(text.length / FITS_CARD);
  if (count > maxCards) throw badHeader(`the header has ${count} cards; at most ${maxCards} are read`, { limit: maxBlocks });
  const cardAt = lines ? (i: number) => lines[i] : (i: number) => text.slice(i * FITS_CARD, (i + 1) * FITS_CARD);
  // Without `keep` every card is parsed: one scan of the whole text for bytes FITS does not allow
  // first. With `keep` only the cards read are checked (parseCard), as only they can matter.
  if (!lines && !options.keep) {
    const bad = NOT_PRINTABLE.exec(text);
    if (bad) {
      const index = Math.floor(bad.index / FITS_CARD);
      throw badCard(index, cardAt(index).slice(0, 8).trim(), `holds a byte outside printable ASCII (0x${bad[0].charCodeAt(0).toString(16)}) at column ${(bad.index % FITS_CARD) + 1}`);
    }
  }
  const raw: FitsCard[] = [];
  let lastKept = false;
  for (let index = 0; index < count; index++) {
    const line = cardAt(index);
    if (line.length > FITS_CARD) throw badCard(index, line.slice(0, 8).trim(), `is ${line.length} characters, more than 80`);
    const padded = line.length === FITS_CARD ? line : line.padEnd(FITS_CARD);
    if (options.keep && !(lastKept = wanted(padded, options.keep, lastKept))) continue;
    const card = parseCard(padded, index);
    if (!card) break;
    if (card.keyword === "" && card.value === undefined && !card.comment) continue;
    raw.push(card);
  }
  if (!raw.length) throw badHeader("the header holds no cards");
  return assemble(raw, Math.ceil((raw.length + 1) / 36) * FITS_BLOCK);
}

/**
 * readHeaderText(text, { keep }).values, faster: for header text of 80-character cards (a header's
 * bytes as Latin-1 text) the kept cards' values are read without building cards or comments; the
 * same values, the same errors (a kept card that is not FITS is BAD_HEADER_CARD naming it). Text of
 * one card a line goes through readHeaderText. `keep` as for readHeaderText (the same function each
 * time).
 */
export function readHeaderValues(text: string, keep: (keyword: string) => boolean, options: { maxBlocks?: number } = {}): Record<string, FitsValue> {
  if (text.includes("\n")) return readHeaderText(text, { ...options, keep }).values;
  const maxBlocks = options.maxBlocks ?? DEFAULT_MAX_HEADER_BLOCKS;
  const maxCards = maxBlocks * (FITS_BLOCK / FITS_CARD);
  const count = Math.ceil(text.length / FITS_CARD);
  if (count > maxCards) throw badHeader(`the header has ${count} cards; at most ${maxCards} are read`, { limit: maxBlocks });
  const known = keywordsKnown(keep);
  const values: Record<string, FitsValue> = {};
  let any = false;
  /** The string value the CONTINUE cards that follow extend (its keyword), while it ends in '&'. */
  let open: string | null = null;
  let lastKept = false;
  for (let index = 0; index < count; index++) {
    const at = index * FITS_CARD;
    const verdict = known.lookup(text, at);
    if (verdict === SKIP || (verdict === FOLLOWS && !lastKept)) {
      lastKept = false;
      // A CONTINUE with nothing kept before it is skipped; any other card ends a long string.
      if (verdict === SKIP) open = null;
      continue;
    }
    const card = text.slice(at, at + FITS_CARD);
    const padded = card.length === FITS_CARD ? card : card.padEnd(FITS_CARD);
    if (verdict === END_CARD && padded.slice(8).trim() === "") break;
    if (verdict === ASK || verdict === END_CARD) {
      // HIERARCH, a byte above 0x7f in the keyword, the last card cut short: the general reader.
      if (!(lastKept = wanted(padded, keep, lastKept))) {
        open = null;
        continue;
      }
      const parsed = parseCard(padded, index);
      if (!parsed) break;
      if (parsed.keyword === "" && parsed.value === undefined && !parsed.comment) continue;
      any = true;
      if (parsed.keyword === "CONTINUE") {
        // The last card, cut short, continuing a long string.
        if (open !== null && typeof parsed.value === "string") values[open] = (values[open] as string).slice(0, -1) + parsed.value;
        open = null;
        continue;
      }
      open = null;
      if (parsed.value !== undefined && !Object.hasOwn(values, parsed.keyword)) {
        values[parsed.keyword] = parsed.value;
        if (typeof parsed.value === "string" && parsed.value.endsWith("&")) open = parsed.keyword;
      }
      continue;
    }
    lastKept = true;
    const bad = NOT_PRINTABLE.exec(padded);
    if (bad) throw badCard(index, padded.slice(0, 8).trim(), `holds a byte outside printable ASCII (0x${bad[0].charCodeAt(0).toString(16)}) at column ${bad.index + 1}`);
    if (verdict === FOLLOWS) {
      // CONTINUE: a string that extends the long string before it, or a card of its own.
      const { value } = parseValueField(padded.slice(8), index, "CONTINUE");
      if (typeof value !== "string") throw badCard(index, "CONTINUE", "a CONTINUE card must hold a string");
      any = true;
      if (open !== null) {
        const before = values[open] as string;
        values[open] = before.slice(0, -1) + value;
        if (!value.endsWith("&")) open = null;
      }
      continue;
    }
    // A kept keyword (checked to be a FITS keyword when first met).
    const keyword = verdict as string;
    open = null;
    any = true;
    if (padded.charCodeAt(8) !== 61 /* = */ || padded.charCodeAt(9) !== 32) continue;
    const quick = quickValue(padded);
    const value = quick !== undefined ? quick : parseValueField(padded.slice(10), index, keyword).value;
    if (!Object.hasOwn(values, keyword)) {
      values[keyword] = value;
      if (typeof value === "string" && value.endsWith("&")) open = keyword;
    }
  }
  if (!any) throw badHeader("the header holds no cards");
  return values;
}

/** Which cards to parse: the keyword (HIERARCH ones without the prefix, words single-spaced); CONTINUE cards follow the card they continue. END is always read. */
export interface ReadOptions {
  maxBlocks?: number;
  /**
   * Parse only the cards of these keywords; the others are skipped unread (a byte FITS does not
   * allow in a skipped card goes unnoticed, as astropy reads such a header with a warning). Give the
   * same function each time to readHeaderValues: it remembers the answers by keyword.
   */
  keep?: (keyword: string) => boolean;
}

function wanted(card: string, keep: (keyword: string) => boolean, lastKept: boolean): boolean {
  const head = card.slice(0, 8).trimEnd();
  if (head === "END" || head === "CONTINUE") return head === "END" || lastKept;
  if (head === "HIERARCH") {
    const eq = card.indexOf("=", 9);
    return keep((eq < 0 ? card.slice(9) : card.slice(9, eq)).trim().replace(/\s+/g, " "));
  }
  return keep(head);
}

const SKIP = 0;
/** CONTINUE: read when the card before was. */
const FOLLOWS = 2;
/** Not answered by the numbers (HIERARCH, a byte above 0x7f, a card cut short): the caller asks `wanted`. */
const ASK = 3;
const END_CARD = 4;
/** Card positions whose last answer is kept (an LSSTCam raw's primary header has 252 cards). */
const LAYOUT_CARDS = 1024;
/** At most this many keywords are remembered per `keep` function, whatever the headers hold. */
const MAX_REMEMBERED = 20_000;

/**
 * A `keep` function's answers by keyword, the eight keyword columns read as two 28-bit numbers
 * (seven bits a character), so a skipped card costs eight character reads and two map lookups. A
 * kept card's answer is its keyword (valid FITS, not commentary: any other is ASK).
 */
class KnownKeywords {
  private readonly answers = new Map<number, Map<number, number | string>>();
  private size = 0;
  /** The keyword numbers and answer last seen at each of the first LAYOUT_CARDS card positions (hi −1: none yet). */
  private readonly layoutHi = new Int32Array(LAYOUT_CARDS).fill(-1);
  private readonly layoutLo = new Int32Array(LAYOUT_CARDS);
  private readonly layoutVerdict: Array<number | string> = new Array(LAYOUT_CARDS).fill(ASK);

  constructor(private readonly keep: (keyword: string) => boolean) {
    this.remember("END", END_CARD);
    this.remember("CONTINUE", FOLLOWS);
    this.remember("HIERARCH", ASK);
  }

  private remember(head: string, verdict: number | string): void {
    const padded = head.padEnd(8);
    let hi = 0;
    let lo = 0;
    for (let i = 0; i < 4; i++) hi = (hi << 7) | padded.charCodeAt(i);
    for (let i = 4; i < 8; i++) lo = (lo << 7) | padded.charCodeAt(i);
    let inner = this.answers.get(hi);
    if (!inner) this.answers.set(hi, (inner = new Map()));
    inner.set(lo, verdict);
    this.size++;
  }

  lookup(text: string, at: number): number | string {
    if (at + 8 > text.length) return ASK;
    let hi = 0;
    let lo = 0;
    let high = 0;
    for (let i = 0; i < 4; i++) {
      const c = text.charCodeAt(at + i);
      high |= c;
      hi = (hi << 7) | c;
    }
    for (let i = 4; i < 8; i++) {
      const c = text.charCodeAt(at + i);
      high |= c;
      lo = (lo << 7) | c;
    }
    if (high > 0x7f) return ASK;
    // Headers of one camera put their cards in the same order: the answer at this position last time first.
    const slot = at / FITS_CARD;
    if (slot < LAYOUT_CARDS && this.layoutHi[slot] === hi && this.layoutLo[slot] === lo) return this.layoutVerdict[slot];
    const verdict = this.answers.get(hi)?.get(lo);
    if (verdict !== undefined) {
      if (slot < LAYOUT_CARDS) {
        this.layoutHi[slot] = hi;
        this.layoutLo[slot] = lo;
        this.layoutVerdict[slot] = verdict;
      }
      return verdict;
    }
    const head = text.slice(at, at + 8).trimEnd();
    const answer = !this.keep(head) ? SKIP : KEYWORD.test(head) && !COMMENTARY.has(head) ? head : ASK;
    if (this.size < MAX_REMEMBERED) this.remember(text.slice(at, at + 8), answer);
    return answer;
  }
}

/** Whether a card's text from `at` on is blanks, then nothing or a comment. */
function restIsComment(card: string, at: number): boolean {
  while (at < FITS_CARD && card.charCodeAt(at) === 32) at++;
  return at === FITS_CARD || card.charCodeAt(at) === 47;
}

const FLOAT_E = /^[+-]?(\d+\.?\d*|\.\d+)(E[+-]?\d+)?$/;

/**
 * The value of a `KEYWORD = value / comment` card (80 printable characters) in its common shapes: a
 * string without '' inside, T, F, an integer, a float with an E exponent. Undefined for anything
 * else: parseValueField reads it (and names what is wrong).
 */
function quickValue(card: string): FitsValue | undefined {
  let i = 10;
  while (i < FITS_CARD && card.charCodeAt(i) === 32) i++;
  if (i === FITS_CARD) return undefined;
  if (card.charCodeAt(i) === 39) {
    const q = card.indexOf("'", i + 1);
    if (q < 0 || card.charCodeAt(q + 1) === 39 || !restIsComment(card, q + 1)) return undefined;
    let e = q;
    while (e > i + 1 && card.charCodeAt(e - 1) === 32) e--;
    return card.slice(i + 1, e);
  }
  let j = i;
  while (j < FITS_CARD && card.charCodeAt(j) !== 32 && card.charCodeAt(j) !== 47) j++;
  if (j === i || !restIsComment(card, j)) return undefined;
  const token = card.slice(i, j);
  if (token === "T") return true;
  if (token === "F") return false;
  // An integer or a float with an E exponent (FLOAT_E holds the integers too).
  return FLOAT_E.test(token) ? Number(token) : undefined;
}

const knownByKeep = new WeakMap<(keyword: string) => boolean, KnownKeywords>();

function keywordsKnown(keep: (keyword: string) => boolean): KnownKeywords {
  let known = knownByKeep.get(keep);
  if (!known) knownByKeep.set(keep, (known = new KnownKeywords(keep)));
  return known;
}

// --- Writing -------------------------------------------------------------------------------------

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new DbbError(BAD_HEADER_CARD, `a FITS value cannot be ${n}`);
  if (Number.isInteger(n) && Math.abs(n) < 1e20) return String(n);
  const s = String(n).toUpperCase();
  return s.includes(".") || s.includes("E") ? s : `${s}.0`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''").padEnd(8)}'`;
}

function isHierarch(keyword: string) {
  return keyword.length > 8 || !/^[A-Z0-9_-]*$/.test(keyword);
}

/** One card (or several, for a long string) as 80-character text. */
function formatCard(card: FitsCard): string[] {
  const { keyword, value, comment } = card;
  if (value === undefined) return [(keyword.padEnd(8) + (comment ? ` ${comment}` : "")).slice(0, FITS_CARD).padEnd(FITS_CARD)];
  let prefix = isHierarch(keyword) ? `HIERARCH ${keyword} = ` : `${keyword.padEnd(8)}= `;
  // A long HIERARCH keyword may drop the blanks around '=' (as astropy writes it when it must).
  if (isHierarch(keyword) && prefix.length + (typeof value === "string" ? value.length + 2 : 20) > FITS_CARD) prefix = `HIERARCH ${keyword}=`;
  const tail = comment ? ` / ${comment}` : "";
  if (typeof value !== "string") {
    const v = value === null ? "" : value === true ? "T" : value === false ? "F" : formatNumber(value);
    const text = prefix + (isHierarch(keyword) ? v : v.padStart(20)) + tail;
    if (text.length > FITS_CARD && (prefix + v).length > FITS_CARD) throw new DbbError(BAD_HEADER_CARD, `card ${keyword} does not fit in 80 characters`, { keyword });
    return [text.slice(0, FITS_CARD).padEnd(FITS_CARD)];
  }
  const whole = prefix + quote(value) + tail;
  if (whole.length <= FITS_CARD) return [whole.padEnd(FITS_CARD)];
  if ((prefix + quote(value)).length <= FITS_CARD) return [(prefix + quote(value)).padEnd(FITS_CARD)];
  // Long string: chunks ending in '&', continued on CONTINUE cards (escaped quotes never split).
  const out: string[] = [];
  let rest = value;
  let head = prefix;
  for (;;) {
    const room = FITS_CARD - head.length - 2;
    if (room < 2) throw new DbbError(BAD_HEADER_CARD, `keyword ${keyword} leaves no room for its value`, { keyword });
    if (rest.replace(/'/g, "''").length <= room) {
      out.push((head + `'${rest.replace(/'/g, "''")}'`).padEnd(FITS_CARD));
      return out;
    }
    let take = 0;
    let used = 0;
    while (take < rest.length && used + (rest[take] === "'" ? 2 : 1) <= room - 1) used += rest[take++] === "'" ? 2 : 1;
    out.push((head + `'${rest.slice(0, take).replace(/'/g, "''")}&'`).padEnd(FITS_CARD));
    rest = rest.slice(take);
    head = "CONTINUE  ";
  }
}

/** Header cards → FITS header bytes: the cards, END, padded with blanks to whole 2880-byte blocks. */
export function writeFitsHeader(cards: FitsCard[] | Record<string, FitsValue>): Buffer {
  const list: FitsCard[] = Array.isArray(cards) ? cards : Object.entries(cards).map(([keyword, value]) => ({ keyword, value }));
  const text = list.flatMap(formatCard).join("") + "END".padEnd(FITS_CARD);
  return Buffer.from(text.padEnd(Math.ceil(text.length / FITS_BLOCK) * FITS_BLOCK), "latin1");
}

/** The mandatory keywords a primary header starts with, in their required order. */
const STRUCTURAL = new Set(["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND"]);

/**
 * A small valid FITS file: a primary header (SIMPLE, BITPIX, NAXIS…, then the given cards) and,
 * when `image` is given, a 16-bit integer image as the primary data (big-endian, padded to a block).
 * Without an image the primary HDU has NAXIS = 0, as an LSSTCam raw's primary HDU has.
 */
export function writeFitsFile(cards: FitsCard[] | Record<string, FitsValue>, image?: { width: number; height: number; pixels?: (x: number, y: number) => number }): Buffer {
  const list: FitsCard[] = (Array.isArray(cards) ? cards : Object.entries(cards).map(([keyword, value]) => ({ keyword, value }))).filter((c) => !STRUCTURAL.has(c.keyword));
  const structural: FitsCard[] = [
    { keyword: "SIMPLE", value: true, comment: "conforms to FITS standard" },
    { keyword: "BITPIX", value: 16 },
    { keyword: "NAXIS", value: image ? 2 : 0 },
    ...(image ? [{ keyword: "NAXIS1", value: image.width }, { keyword: "NAXIS2", value: image.height }] : []),
    { keyword: "EXTEND", value: true },
  ];
  const header = writeFitsHeader([...structural, ...list]);
  if (!image) return header;
  const data = Buffer.alloc(Math.ceil((image.width * image.height * 2) / FITS_BLOCK) * FITS_BLOCK);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) data.writeInt16BE(Math.max(-32768, Math.min(32767, Math.round(image.pixels?.(x, y) ?? 0))), (y * image.width + x) * 2);
  }
  return Buffer.concat([header, data]);
}
