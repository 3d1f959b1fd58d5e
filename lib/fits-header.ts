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

const COMMENTARY = new Set(["COMMENT", "HISTORY", ""]);

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
    else if (INT.test(token)) {
      const n = Number(token);
      value = Number.isSafeInteger(n) ? n : Number(token);
    } else if (FLOAT.test(token.toUpperCase())) value = Number(token.toUpperCase().replace("D", "E"));
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
  for (let i = 0; i < card.length; i++) {
    const c = card.charCodeAt(i);
    if (c < 32 || c > 126) throw badCard(index, card.slice(0, 8).trim(), `holds a byte outside printable ASCII (0x${c.toString(16)}) at column ${i + 1}`);
  }
  const head = card.slice(0, 8).trimEnd();
  if (head === "END" && card.slice(8).trim() === "") return null;
  if (head === "HIERARCH") {
    const eq = card.indexOf("=", 9);
    if (eq < 0) return { keyword: card.slice(9).trim().replace(/\s+/g, " ") };
    const keyword = card.slice(9, eq).trim().replace(/\s+/g, " ");
    return { keyword, ...parseValueField(card.slice(eq + 1), index, keyword) };
  }
  if (!/^[A-Z0-9_-]*$/.test(head)) throw badCard(index, head, "the keyword may hold only A–Z, 0–9, '-' and '_'");
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
  for (const c of cards) if (c.value !== undefined && !(c.keyword in values) && c.keyword !== "CONTINUE") values[c.keyword] = c.value;
  return { cards, values, byteLength };
}

/**
 * Reads the primary header at the start of a file's bytes. The first card must be SIMPLE (a
 * primary header) — or XTENSION when `extension` is set. A header that does not end within the
 * bytes given is BAD_FITS_HEADER with `truncated: true` (read more and try again); one longer than
 * maxBlocks is BAD_FITS_HEADER with `limit`.
 */
export function readFitsHeader(bytes: Uint8Array, options: { maxBlocks?: number; extension?: boolean } = {}): FitsHeader {
  const maxBlocks = options.maxBlocks ?? DEFAULT_MAX_HEADER_BLOCKS;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < FITS_CARD) throw badHeader(`a FITS file starts with a 2880-byte header block; got ${buf.length} bytes`, { truncated: true });
  const first = buf.subarray(0, 8).toString("latin1").trimEnd();
  const expected = options.extension ? "XTENSION" : "SIMPLE";
  if (first !== expected) throw badHeader(`not a FITS ${options.extension ? "extension" : "file"}: the first card is '${first.replace(/[^\x20-\x7e]/g, "?")}', not ${expected}`);
  const raw: FitsCard[] = [];
  const limit = Math.min(buf.length, maxBlocks * FITS_BLOCK);
  for (let at = 0, index = 0; at + FITS_CARD <= limit; at += FITS_CARD, index++) {
    const card = parseCard(buf.subarray(at, at + FITS_CARD).toString("latin1"), index);
    if (!card) return assemble(raw, Math.ceil((at + FITS_CARD) / FITS_BLOCK) * FITS_BLOCK);
    raw.push(card);
  }
  if (buf.length >= maxBlocks * FITS_BLOCK) {
    throw badHeader(`no END card in the first ${maxBlocks} header blocks (${maxBlocks * FITS_BLOCK} bytes); a header this long is refused`, { limit: maxBlocks });
  }
  throw badHeader(`no END card in the ${buf.length} bytes given: the header is truncated`, { truncated: true });
}

/**
 * Reads header cards given as text: 80-character cards one after another (a header's bytes as
 * Latin-1 text, as `recordArrivals` takes it), or one card a line (lines shorter than 80 are padded).
 * END is optional here; nothing after it is read.
 */
export function readHeaderText(text: string, options: { maxBlocks?: number } = {}): FitsHeader {
  const maxCards = (options.maxBlocks ?? DEFAULT_MAX_HEADER_BLOCKS) * (FITS_BLOCK / FITS_CARD);
  const lines = text.includes("\n") ? text.split(/\r?\n/).filter((l, i, all) => l.length || i < all.length - 1) : [];
  const cards = lines.length ? lines : Array.from({ length: Math.ceil(text.length / FITS_CARD) }, (_, i) => text.slice(i * FITS_CARD, (i + 1) * FITS_CARD));
  if (cards.length > maxCards) throw badHeader(`the header has ${cards.length} cards; at most ${maxCards} are read`, { limit: options.maxBlocks ?? DEFAULT_MAX_HEADER_BLOCKS });
  const raw: FitsCard[] = [];
  for (const [index, line] of cards.entries()) {
    if (line.length > FITS_CARD) throw badCard(index, line.slice(0, 8).trim(), `is ${line.length} characters, more than 80`);
    const card = parseCard(line.padEnd(FITS_CARD), index);
    if (!card) break;
    if (card.keyword === "" && card.value === undefined && !card.comment) continue;
    raw.push(card);
  }
  if (!raw.length) throw badHeader("the header holds no cards");
  return assemble(raw, Math.ceil((raw.length + 1) / 36) * FITS_BLOCK);
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
