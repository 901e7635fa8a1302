/**
 * Invisible-character helpers shared by the prompt-injection detector and the tool-definition
 * scanner, and the excerpt helper every detector uses so findings never echo a whole value
 * and never carry invisible characters into logs.
 */
import { Buffer } from 'node:buffer';

/** Why a code point is considered invisible (hidden-text smuggling classes). */
export type InvisibleClass = 'tag' | 'zero-width' | 'bidi' | 'other-format';

/**
 * Classifies one code point. Tag characters (U+E0000–E007F) spell ASCII invisibly ("ASCII
 * smuggling"); zero-width characters and bidi controls hide or reorder text (Trojan Source,
 * CVE-2021-42574); the rest are format characters with no visible glyph.
 */
export function invisibleClass(cp: number): InvisibleClass | undefined {
  if (cp >= 0xe0000 && cp <= 0xe007f) return 'tag';
  if ((cp >= 0x200b && cp <= 0x200d) || cp === 0x2060 || cp === 0xfeff) return 'zero-width';
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e || cp === 0x200f || cp === 0x061c) {
    return 'bidi';
  }
  if (
    cp === 0x00ad ||
    cp === 0x180e ||
    (cp >= 0x2061 && cp <= 0x2064) ||
    (cp >= 0xfff9 && cp <= 0xfffb) ||
    (cp >= 0x1bca0 && cp <= 0x1bca3) ||
    (cp >= 0x1d173 && cp <= 0x1d17a)
  ) {
    return 'other-format';
  }
  return undefined;
}

export interface InvisibleRun {
  readonly cls: InvisibleClass;
  /** UTF-16 offsets of the first invisible character found. */
  readonly start: number;
  readonly end: number;
  /** Invisible characters of any class in the whole string. */
  readonly count: number;
  /** ASCII decoded from tag characters, if any (bounded). */
  readonly tagText: string;
}

const MAX_TAG_TEXT = 64;

/** Supplementary ranges `invisibleClass` knows (keep the two in step). */
const SUPPLEMENTARY_INVISIBLE: readonly (readonly [number, number])[] = [
  [0x1bca0, 0x1bca3],
  [0x1d173, 0x1d17a],
  [0xe0000, 0xe007f],
];

/**
 * 1 for each UTF-16 code unit that is an invisible character or the high surrogate of one:
 * the search for the first one is a table read per unit, whatever the string's encoding.
 */
const INVISIBLE_UNIT = new Uint8Array(65536);
for (let c = 0; c < 0xd800; c++) if (invisibleClass(c) !== undefined) INVISIBLE_UNIT[c] = 1;
for (let c = 0xe000; c < 0x10000; c++) if (invisibleClass(c) !== undefined) INVISIBLE_UNIT[c] = 1;
for (const [lo, hi] of SUPPLEMENTARY_INVISIBLE) {
  for (let h = 0xd800 + ((lo - 0x10000) >> 10); h <= 0xd800 + ((hi - 0x10000) >> 10); h++) INVISIBLE_UNIT[h] = 1;
}

/**
 * Finds invisible characters. A single leading U+FEFF (byte-order mark) is tolerated, as is
 * U+200D between two emoji-range code points (ZWJ sequences such as family emoji).
 */
export function findInvisible(value: string): InvisibleRun | undefined {
  const units = codeUnitsOf(value);
  const n = units.length;
  let i = 0;
  // Two units at a time up to the first non-ASCII one (no invisible character is ASCII): one
  // test per pair. Past it, one table read per unit (switching back and forth costs more).
  if (units.byteOffset % 4 === 0) {
    const pairs = new Uint32Array(units.buffer, units.byteOffset, n >>> 1);
    const m = pairs.length;
    let k = 0;
    while (k < m && ((pairs[k] as number) & 0xff80ff80) === 0) k++;
    i = 2 * k;
  }
  while (i < n && INVISIBLE_UNIT[units[i] as number] === 0) i++;
  return i === n ? undefined : exactInvisible(units, i);
}

/** The code point ending just before `i` (a lone surrogate counts as one). */
function codePointBefore(units: Uint16Array, i: number): number {
  if (i === 0) return -1;
  const last = units[i - 1] as number;
  if ((last & 0xfc00) === 0xdc00 && i >= 2) {
    const high = units[i - 2] as number;
    if ((high & 0xfc00) === 0xd800) return (high - 0xd800) * 0x400 + (last - 0xdc00) + 0x10000;
  }
  return last;
}

function exactInvisible(units: Uint16Array, from: number): InvisibleRun | undefined {
  let first: { cls: InvisibleClass; start: number; end: number } | undefined;
  let count = 0;
  let tagText = '';
  const n = units.length;
  for (let i = from; i < n; i++) {
    if (INVISIBLE_UNIT[units[i] as number] === 0) continue;
    let cp = units[i] as number;
    let width = 1;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
      const lo = units[i + 1] as number;
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = (cp - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
        width = 2;
      }
    }
    const cls = invisibleClass(cp);
    if (cls !== undefined && !(cp === 0xfeff && i === 0) && !(cp === 0x200d && isEmojiJoinable(codePointBefore(units, i), units, i + 1))) {
      count++;
      if (first === undefined) first = { cls, start: i, end: i + width };
      if (cls === 'tag' && tagText.length < MAX_TAG_TEXT) {
        const ascii = cp - 0xe0000;
        if (ascii >= 0x20 && ascii < 0x7f) tagText += String.fromCharCode(ascii);
      }
    }
    i += width - 1;
  }
  return first === undefined ? undefined : { ...first, count, tagText };
}

function isEmoji(cp: number): boolean {
  return (cp >= 0x1f000 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf) || cp === 0xfe0f;
}

function isEmojiJoinable(prevCp: number, units: Uint16Array, next: number): boolean {
  if (!isEmoji(prevCp) || next >= units.length) return false;
  let cp = units[next] as number;
  const lo = next + 1 < units.length ? (units[next + 1] as number) : 0;
  if ((cp & 0xfc00) === 0xd800 && (lo & 0xfc00) === 0xdc00) cp = (cp - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000;
  return isEmoji(cp);
}

/**
 * Strings shorter than this are copied unit by unit; longer ones by one native call, whose
 * fixed cost only pays off past a few dozen characters.
 */
const NATIVE_COPY_MIN = 64;
/**
 * The scratch buffer is kept between calls up to this many units (2 MiB, a 1 MiB string):
 * fresh memory costs page faults on first write, as much as the scan of a short value.
 */
const KEEP_SCRATCH_UNITS = 1024 * 1024;
const LITTLE_ENDIAN = new Uint16Array(new Uint8Array([1, 0]).buffer)[0] === 1;
let scratch = Buffer.alloc(0);

/**
 * The UTF-16 code units of `value` as a typed array, for scanners that read every character.
 * `charCodeAt` in a hot loop dispatches on V8's string representation (one- or two-byte,
 * sliced, cons) on every call once a process has seen several kinds, which costs two to three
 * times a typed-array read; the copy is one native call. With a `sentinel`, the array has one
 * more unit, `sentinel`, after the value's. The array is a view of a shared
 * scratch buffer: it is valid only until the next call, so scanners must not hold on to it.
 */
export function codeUnitsOf(value: string, sentinel?: number): Uint16Array {
  const n = value.length;
  let buffer = scratch;
  if (buffer.length < 2 * (n + 1)) {
    buffer = Buffer.allocUnsafeSlow(2 * Math.max(n + 1, 1024));
    if (n <= KEEP_SCRATCH_UNITS) scratch = buffer;
  }
  const units = new Uint16Array(buffer.buffer, buffer.byteOffset, sentinel === undefined ? n : n + 1);
  // A scanner's inner loops can stop at a sentinel unit instead of testing the length.
  if (sentinel !== undefined) units[n] = sentinel;
  if (n < NATIVE_COPY_MIN || !LITTLE_ENDIAN) {
    for (let i = 0; i < n; i++) units[i] = value.charCodeAt(i);
  } else {
    buffer.write(value, 0, 2 * n, 'utf16le');
  }
  return units;
}

