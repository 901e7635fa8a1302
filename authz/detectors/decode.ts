/**
 * Shared, bounded decoding helpers for the detectors. Every function is a single linear
 * pass over its input (no regular expressions over attacker data) and allocates at most one
 * output buffer of the input's size.
 *
 * Percent-decoding is deliberately *lenient* the way historic servers were (IIS, old Tomcat,
 * PHP): overlong UTF-8 (`%c0%ae`), sequences with broken continuation bytes (`%c0%2e`) and
 * IIS `%uXXXX` escapes are decoded to the character a lax decoder would produce, and the
 * oddity is reported, so that a detector sees what the most permissive consumer would see.
 */

/** What a percent-decoding pass saw besides plain `%XX` escapes. */
export interface DecodeFlags {
  /** Overlong UTF-8 (a character encoded in more bytes than needed, e.g. `%c0%ae`). */
  overlong: boolean;
  /** Bytes that are not valid UTF-8 (stray continuation, broken sequence, 5/6-byte forms). */
  invalidUtf8: boolean;
  /** IIS-style `%uXXXX` escapes. */
  percentU: boolean;
}

export interface DecodeResult extends DecodeFlags {
  /** Each successive decoding, starting with the first round (the raw value is not included). */
  readonly rounds: readonly string[];
  /** The value still held escapes after the last allowed round. */
  readonly residual: boolean;
}

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** Value of a hex digit code unit, or -1. */
export function hexValue(code: number): number {
  return code < 128 ? (HEX[code] as number) : -1;
}

/**
 * HTML character references (`&#46;`, `&#x2F;`, `&#00039;`, `&name;`) decoded once, keeping
 * only the characters `accept` admits; the rest stay as written. A value that went through an
 * HTML form or template is unescaped once more by the server that receives it. Numeric
 * references may carry leading zeros and omit the `;` (as browsers read them; at most ten
 * digits are read, so long runs stay cheap); named ones (`named`, case-insensitive) need it.
 * Returns `s` itself when nothing was decoded.
 */
export function decodeCharacterReferences(s: string, named: ReadonlyMap<string, string>, accept: (codePoint: number) => boolean): string {
  let i = s.indexOf('&');
  if (i === -1) return s;
  let out = '';
  let from = 0;
  for (; i < s.length; i++) {
    if (s.charCodeAt(i) !== 0x26) continue;
    let j = i + 1;
    let text: string | undefined;
    if (s.charCodeAt(j) === 0x23) {
      const hex = (s.charCodeAt(j + 1) | 0x20) === 0x78;
      j += hex ? 2 : 1;
      const start = j;
      let v = 0;
      for (; j < s.length && j - start < 10; j++) {
        const c = s.charCodeAt(j);
        const d = hex ? hexValue(c) : c >= 0x30 && c <= 0x39 ? c - 0x30 : -1;
        if (d < 0) break;
        v = Math.min(v * (hex ? 16 : 10) + d, 0x110000);
      }
      if (j > start && v < 0x10000 && accept(v)) text = String.fromCharCode(v);
    } else {
      const start = j;
      while (j < s.length && j - start < 8 && (s.charCodeAt(j) | 0x20) >= 0x61 && (s.charCodeAt(j) | 0x20) <= 0x7a) j++;
      const known = s.charCodeAt(j) === 0x3b ? named.get(s.slice(start, j).toLowerCase()) : undefined;
      if (known !== undefined && accept(known.charCodeAt(0))) text = known;
    }
    if (text === undefined) continue;
    if (s.charCodeAt(j) === 0x3b) j++;
    out += s.slice(from, i) + text;
    from = j;
    i = j - 1;
  }
  return from === 0 ? s : out + s.slice(from);
}

/** True when `s` holds at least one `%XX` or `%uXXXX` escape. */
export function hasPercentEscape(s: string): boolean {
  const first = s.indexOf('%');
  if (first === -1) return false;
  for (let i = first; i + 2 < s.length; i++) if (escapeLength(s, i) > 0) return true;
  return false;
}

/** The UTF-16 code unit an IIS-style `%uXXXX` escape at `i` stands for, or -1. */
export function percentUnitAt(s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x25) return -1;
  const a = s.charCodeAt(i + 1);
  if ((a !== 0x75 && a !== 0x55) || i + 5 >= s.length || !isHex4(s, i + 2)) return -1;
  return (hexValue(s.charCodeAt(i + 2)) << 12) | (hexValue(s.charCodeAt(i + 3)) << 8) | (hexValue(s.charCodeAt(i + 4)) << 4) | hexValue(s.charCodeAt(i + 5));
}

function isHex4(s: string, at: number): boolean {
  return (
    hexValue(s.charCodeAt(at)) >= 0 &&
    hexValue(s.charCodeAt(at + 1)) >= 0 &&
    hexValue(s.charCodeAt(at + 2)) >= 0 &&
    hexValue(s.charCodeAt(at + 3)) >= 0
  );
}

function toText(out: Uint16Array, n: number): string {
  return Buffer.from(out.buffer, out.byteOffset, n * 2).toString('utf16le');
}

/** Minimum code point for a UTF-8 sequence with this many continuation bytes (overlong below it). */
const MIN_BY_CONTINUATIONS = [0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000];

/** Length of the escape at `i` (`%XX` → 3, `%uXXXX` → 6) or 0. */
function escapeLength(s: string, i: number): number {
  if (s.charCodeAt(i) !== 0x25) return 0;
  if (percentUnitAt(s, i) >= 0) return 6;
  return hexValue(s.charCodeAt(i + 1)) >= 0 && hexValue(s.charCodeAt(i + 2)) >= 0 ? 3 : 0;
}

/**
 * One round of percent-decoding: `%XX` bytes as lenient UTF-8, `%uXXXX` as one UTF-16 code
 * unit. Raw ASCII right after a lead byte is taken as its continuation byte, as lax decoders
 * did (`%c0.`). Never longer than the input; one tight pass.
 */
export function percentDecodeOnce(s: string, flags: DecodeFlags): string {
  const first = s.indexOf('%');
  if (first === -1) return s;
  const n = s.length;
  const out = new Uint16Array(n);
  for (let k = 0; k < first; k++) out[k] = s.charCodeAt(k);
  let o = first;
  let cp = 0;
  let need = 0;
  let total = 0;
  let changed = false;
  for (let i = first; i < n; ) {
    const c = s.charCodeAt(i);
    let b = -1;
    if (c === 0x25) {
      const len = escapeLength(s, i);
      if (len === 6) {
        if (need > 0) {
          flags.invalidUtf8 = true;
          out[o++] = 0xfffd;
          need = 0;
        }
        flags.percentU = true;
        changed = true;
        out[o++] = percentUnitAt(s, i);
        i += 6;
        continue;
      }
      if (len === 3) {
        b = (hexValue(s.charCodeAt(i + 1)) << 4) | hexValue(s.charCodeAt(i + 2));
        changed = true;
        i += 3;
      }
    }
    if (b === -1) {
      if (need > 0 && c < 0x80) {
        b = c; // raw ASCII taken as the continuation byte
        i += 1;
      } else {
        if (need > 0) {
          flags.invalidUtf8 = true;
          out[o++] = 0xfffd;
          need = 0;
        }
        out[o++] = c;
        i += 1;
        continue;
      }
    }
    if (need > 0) {
      // Lax decoders masked the low six bits whatever the top bits were (`%c0%2e` → '.').
      if ((b & 0xc0) !== 0x80) flags.invalidUtf8 = true;
      cp = (cp << 6) | (b & 0x3f);
      if (--need === 0) {
        if (cp < (MIN_BY_CONTINUATIONS[total] as number)) flags.overlong = true;
        const bad = cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff);
        if (total >= 4 || bad) flags.invalidUtf8 = true;
        if (bad) {
          out[o++] = 0xfffd;
        } else if (cp > 0xffff) {
          const v = cp - 0x10000;
          out[o++] = 0xd800 + (v >> 10);
          out[o++] = 0xdc00 + (v & 0x3ff);
        } else {
          out[o++] = cp;
        }
      }
    } else if (b < 0x80) {
      out[o++] = b;
    } else if (b < 0xc0) {
      flags.invalidUtf8 = true;
      out[o++] = 0xfffd;
    } else {
      total = b < 0xe0 ? 1 : b < 0xf0 ? 2 : b < 0xf8 ? 3 : b < 0xfc ? 4 : 5;
      cp = b & (0x7f >> (total + 1));
      need = total;
    }
  }
  if (need > 0) {
    flags.invalidUtf8 = true;
    out[o++] = 0xfffd;
  }
  return changed ? toText(out, o) : s;
}

/**
 * Repeated percent-decoding, at most `maxRounds` rounds (`%252e` → `%2e` → `.`), stopping
 * as soon as a round changes nothing. Returns every round so callers can check each form.
 */
export function percentDecodeRounds(s: string, maxRounds = 3): DecodeResult {
  const flags: DecodeFlags = { overlong: false, invalidUtf8: false, percentU: false };
  const rounds: string[] = [];
  let current = s;
  for (let r = 0; r < maxRounds && hasPercentEscape(current); r++) {
    const next = percentDecodeOnce(current, flags);
    if (next === current) break;
    rounds.push(next);
    current = next;
  }
  return { ...flags, rounds, residual: rounds.length === maxRounds && hasPercentEscape(current) };
}

/** True when the string has a code unit outside ASCII. */
export function hasNonAscii(s: string): boolean {
  return Buffer.byteLength(s, 'utf8') !== s.length;
}

/**
 * Characters that render as, or are folded by some file system or best-fit code page into,
 * a dot, a slash or a backslash (fullwidth forms, one-dot leader, fraction and division
 * slash, small forms, big solidus, set minus …).
 */
const LOOKALIKE = new Map<number, number>([
  [0xff0e, 0x2e], // FULLWIDTH FULL STOP
  [0x2024, 0x2e], // ONE DOT LEADER
  [0xfe52, 0x2e], // SMALL FULL STOP
  [0x2e31, 0x2e], // WORD SEPARATOR MIDDLE DOT
  [0x00b7, 0x2e], // MIDDLE DOT
  [0x3002, 0x2e], // IDEOGRAPHIC FULL STOP
  [0xff61, 0x2e], // HALFWIDTH IDEOGRAPHIC FULL STOP
  [0xff0f, 0x2f], // FULLWIDTH SOLIDUS
  [0x2044, 0x2f], // FRACTION SLASH
  [0x2215, 0x2f], // DIVISION SLASH
  [0x29f8, 0x2f], // BIG SOLIDUS
  [0x2571, 0x2f], // BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT
  [0x1735, 0x2f], // PHILIPPINE SINGLE PUNCTUATION
  [0xff3c, 0x5c], // FULLWIDTH REVERSE SOLIDUS
  [0xfe68, 0x5c], // SMALL REVERSE SOLIDUS
  [0x2216, 0x5c], // SET MINUS
  [0x29f5, 0x5c], // REVERSE SOLIDUS OPERATOR
  [0x29f9, 0x5c], // BIG REVERSE SOLIDUS
  [0x2572, 0x5c], // BOX DRAWINGS LIGHT DIAGONAL UPPER LEFT TO LOWER RIGHT
]);

const LOOKALIKE_TABLE = new Uint16Array(0x10000);
for (let c = 0; c < 0x10000; c++) LOOKALIKE_TABLE[c] = c;
for (const [from, to] of LOOKALIKE) LOOKALIKE_TABLE[from] = to;

/** Maps look-alikes of `.`, `/` and `\` to the ASCII character; other text is unchanged. */
export function foldLookalikes(input: string): string {
  if (!hasNonAscii(input)) return input;
  // Two dot leader and ellipsis are several dots in one glyph (NFKC agrees).
  const s = input.includes('\u2025') || input.includes('\u2026') ? input.replaceAll('\u2025', '..').replaceAll('\u2026', '...') : input;
  const out = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i] = LOOKALIKE_TABLE[c] as number;
  }
  return toText(out, s.length);
}


/** Printable form of one short token for a message (`';'`, `'\n'`). */
export function describeToken(token: string, max = 8): string {
  let text = '';
  for (let i = 0; i < token.length && i < max; i++) {
    const c = token.charCodeAt(i);
    text += c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c < 0x20 ? `\\x${c.toString(16).padStart(2, '0')}` : token[i];
  }
  return `'${text}'`;
}
