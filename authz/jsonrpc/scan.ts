/**
 * A linear, iterative JSON validator (RFC 8259 grammar) that enforces the structural limits
 * JSON.parse cannot: nesting depth and width are checked while scanning, so a 20 000-deep
 * body fails at level maxDepth + 1 without recursion; duplicate keys are refused because two
 * parsers that keep different duplicates (first vs last) see different requests; and
 * `__proto__` keys are refused because code that copies parsed objects with assignment
 * semantics would change the copy's prototype.
 *
 * `constructor` and `prototype` keys are accepted: JSON.parse stores them as plain own data
 * properties, which pollute nothing unless code deep-merges into an existing object, and
 * nothing in MCP Warden does that. Tool arguments legitimately use such names.
 *
 * Only after the scan passes is the text handed to JSON.parse (native, fast, and — the text
 * being valid — guaranteed to build exactly the structure that was checked).
 */

export type ScanFailure = 'parse-error' | 'json-too-deep' | 'json-too-wide' | 'json-duplicate-key' | 'json-proto-key';

export interface ScanResult {
  /** Deepest container nesting reached (1 for `{}`); on failure, where the scan stopped. */
  readonly maxDepth: number;
  /** Most members seen in one object or array. */
  readonly maxWidth: number;
  readonly failure: ScanFailure | undefined;
  /** UTF-16 offset of the failure (for messages). */
  readonly offset: number;
  /** Short reason for a parse error. */
  readonly reason: string;
}

const OBJECT = 1;
const ARRAY = 2;

// Scanner states.
const VALUE = 0;
const KEY_OR_END = 1;
const KEY = 2;
const AFTER_VALUE = 3;
const VALUE_OR_END = 4;

// eslint-disable-next-line no-control-regex -- control characters are what it must stop at
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;

/** Objects with more keys than this switch from a linear key list to a Set. */
const LINEAR_KEYS = 12;

class KeyIndex {
  private list: string[] = [];
  private set: Set<string> | undefined;

  /** Adds a key; false when it was already present. */
  add(key: string): boolean {
    if (this.set !== undefined) {
      if (this.set.has(key)) return false;
      this.set.add(key);
      return true;
    }
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (list[i] === key) return false;
    list.push(key);
    if (list.length > LINEAR_KEYS) this.set = new Set(list);
    return true;
  }
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function failed(deepest: number, widest: number, failure: ScanFailure, at: number, reason: string): ScanResult {
  return { maxDepth: deepest, maxWidth: widest, failure, offset: at, reason };
}

/**
 * Decoded value of the last key scanned by `scanString(…, true)`. Module state rather than a
 * closure per scan: the scan is synchronous, so no two scans interleave.
 */
let scannedKey = '';

/** Scans a string starting at the opening quote; returns the index after it, or -1. */
function scanString(text: string, start: number, wantKey: boolean): number {
  const n = text.length;
  let j = start + 1;
  let plainFrom = j;
  let decoded = '';
  let escaped = false;
  while (j < n) {
    // Skip the run of plain characters in one native step; stop at a quote, backslash or
    // control character.
    PLAIN_RUN.lastIndex = j;
    PLAIN_RUN.test(text);
    j = PLAIN_RUN.lastIndex;
    if (j >= n) break;
    const c = text.charCodeAt(j);
    if (c === 0x22) {
      if (wantKey) scannedKey = escaped ? decoded + text.slice(plainFrom, j) : text.slice(start + 1, j);
      return j + 1;
    }
    if (c < 0x20) return -1;
    if (c !== 0x5c) {
      j++;
      continue;
    }
    // Escape sequence.
    if (wantKey) decoded += text.slice(plainFrom, j);
    escaped = true;
    const e = text.charCodeAt(j + 1);
    let ch: string;
    switch (e) {
      case 0x22: ch = '"'; break;
      case 0x5c: ch = '\\'; break;
      case 0x2f: ch = '/'; break;
      case 0x62: ch = '\b'; break;
      case 0x66: ch = '\f'; break;
      case 0x6e: ch = '\n'; break;
      case 0x72: ch = '\r'; break;
      case 0x74: ch = '\t'; break;
      case 0x75: {
        if (j + 5 >= n) return -1;
        const a = hexValue(text.charCodeAt(j + 2));
        const b = hexValue(text.charCodeAt(j + 3));
        const d = hexValue(text.charCodeAt(j + 4));
        const f = hexValue(text.charCodeAt(j + 5));
        if ((a | b | d | f) < 0) return -1;
        ch = String.fromCharCode((a << 12) | (b << 8) | (d << 4) | f);
        j += 4;
        break;
      }
      default:
        return -1;
    }
    if (wantKey) decoded += ch;
    j += 2;
    plainFrom = j;
  }
  return -1;
}

/** Scans a number; returns the index after it, or -1. */
function scanNumber(text: string, start: number): number {
  const n = text.length;
  let j = start;
  if (text.charCodeAt(j) === 0x2d) j++;
  const first = text.charCodeAt(j);
  if (first === 0x30) {
    j++;
  } else if (first >= 0x31 && first <= 0x39) {
    j++;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
  } else {
    return -1;
  }
  if (text.charCodeAt(j) === 0x2e) {
    j++;
    if (!isDigit(text.charCodeAt(j))) return -1;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
  }
  const e = text.charCodeAt(j);
  if (e === 0x65 || e === 0x45) {
    j++;
    const sign = text.charCodeAt(j);
    if (sign === 0x2b || sign === 0x2d) j++;
    if (!isDigit(text.charCodeAt(j))) return -1;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
  }
  return j;
}

/**
 * Scans `text` and reports the structure's size and the first violation. Never throws; time
 * and memory are linear in the text (plus O(maxDepth)).
 */
export function scanJson(text: string, maxDepth: number, maxWidth: number): ScanResult {
  const n = text.length;
  const kinds: number[] = [0];
  const counts: number[] = [0];
  const keys: (KeyIndex | undefined)[] = [undefined];
  let depth = 0;
  let deepest = 0;
  let widest = 0;
  let i = 0;
  let state = VALUE;

  for (;;) {
    while (i < n && isWhitespace(text.charCodeAt(i))) i++;
    if (i >= n) {
      if (depth === 0 && state === AFTER_VALUE) break;
      return failed(deepest, widest, 'parse-error', i, 'unexpected end of input');
    }
    const c = text.charCodeAt(i);

    if (state === KEY_OR_END || state === KEY) {
      if (c === 0x7d && state === KEY_OR_END) {
        depth--;
        i++;
        state = AFTER_VALUE;
        continue;
      }
      if (c !== 0x22) return failed(deepest, widest, 'parse-error', i, 'expected a string key');
      const end = scanString(text, i, true);
      if (end < 0) return failed(deepest, widest, 'parse-error', i, 'invalid string');
      if (scannedKey === '__proto__') return failed(deepest, widest, 'json-proto-key', i, 'object key "__proto__" is not accepted');
      const members = (counts[depth] ?? 0) + 1;
      counts[depth] = members;
      if (members > widest) widest = members;
      if (members > maxWidth) return failed(deepest, widest, 'json-too-wide', i, `more than ${maxWidth} members in one object or array`);
      let index = keys[depth];
      if (index === undefined) {
        index = new KeyIndex();
        keys[depth] = index;
      }
      if (!index.add(scannedKey)) return failed(deepest, widest, 'json-duplicate-key', i, 'duplicate object key');
      i = end;
      while (i < n && isWhitespace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 0x3a) return failed(deepest, widest, 'parse-error', i, 'expected ":"');
      i++;
      state = VALUE;
      continue;
    }

    if (state === AFTER_VALUE) {
      if (depth === 0) return failed(deepest, widest, 'parse-error', i, 'unexpected data after the JSON value');
      const kind = kinds[depth];
      if (c === 0x2c) {
        i++;
        if (kind === OBJECT) {
          state = KEY;
        } else {
          const members = (counts[depth] ?? 0) + 1;
          counts[depth] = members;
          if (members > widest) widest = members;
          if (members > maxWidth) return failed(deepest, widest, 'json-too-wide', i, `more than ${maxWidth} members in one object or array`);
          state = VALUE;
        }
        continue;
      }
      if ((c === 0x7d && kind === OBJECT) || (c === 0x5d && kind === ARRAY)) {
        depth--;
        i++;
        continue;
      }
      return failed(deepest, widest, 'parse-error', i, 'expected "," or the end of the object or array');
    }

    // VALUE or VALUE_OR_END
    if (c === 0x5d && state === VALUE_OR_END) {
      depth--;
      i++;
      state = AFTER_VALUE;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (depth > maxDepth) return failed(deepest, widest, 'json-too-deep', i, `nesting deeper than ${maxDepth}`);
      kinds[depth] = c === 0x7b ? OBJECT : ARRAY;
      counts[depth] = 0;
      keys[depth] = undefined;
    }
    if (c === 0x7b) {
      i++;
      state = KEY_OR_END;
      continue;
    }
    if (c === 0x5b) {
      i++;
      // Peek for an empty array; otherwise the first element is a member.
      while (i < n && isWhitespace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 0x5d) {
        counts[depth] = 1;
        if (widest < 1) widest = 1;
        if (maxWidth < 1) return failed(deepest, widest, 'json-too-wide', i, `more than ${maxWidth} members in one object or array`);
      }
      state = VALUE_OR_END;
      continue;
    }
    let end: number;
    if (c === 0x22) {
      end = scanString(text, i, false);
    } else if (c === 0x2d || isDigit(c)) {
      end = scanNumber(text, i);
    } else if (c === 0x74) {
      end = text.startsWith('true', i) ? i + 4 : -1;
    } else if (c === 0x66) {
      end = text.startsWith('false', i) ? i + 5 : -1;
    } else if (c === 0x6e) {
      end = text.startsWith('null', i) ? i + 4 : -1;
    } else {
      end = -1;
    }
    if (end < 0) return failed(deepest, widest, 'parse-error', i, 'invalid value');
    i = end;
    state = AFTER_VALUE;
  }
  return { maxDepth: deepest, maxWidth: widest, failure: undefined, offset: n, reason: '' };
}
