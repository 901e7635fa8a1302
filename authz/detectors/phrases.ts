/**
 * A linear-time phrase matcher for natural-language rules (prompt-injection markers in
 * arguments, poisoning in tool descriptions). Text is read once as a stream of lower-cased
 * words; each rule is a short word pattern matched backwards from the word that ends it,
 * against a ring of the last words. No regular expressions run over the input, so the cost
 * is one pass plus a bounded amount of work per word.
 *
 * Pattern syntax (compiled at module load): words separated by spaces; `a|b` alternatives;
 * a leading `?` makes a slot optional; `~N` skips up to N arbitrary words. Special words: `:` (a colon), `<url>`
 * (http(s)/ftp URL), `<email>` (an e-mail address), `<ident>` (any other word holding an
 * underscore, such as a tool name `write_file`).
 */

export interface PhraseRule {
  /** Stable kebab-case rule name reported in findings. */
  readonly rule: string;
  /** What was found, for messages (`instruction override`). */
  readonly what: string;
  readonly pattern: string;
}

export interface PhraseMatch {
  readonly rule: string;
  readonly what: string;
  /** UTF-16 offsets of the matched phrase. */
  readonly start: number;
  readonly end: number;
}

interface Slot {
  /** Vocabulary ids this slot accepts. */
  readonly ids: ReadonlySet<number>;
  /**
   * The same as a table indexed by id (1 = accepted), filled when sealing: `matchBack` tests
   * it for every candidate word, and a typed-array read is far cheaper than `Set.has` on
   * hostile text where every word ends some rule (`the user the user …`).
   */
  accepts: Uint8Array;
  readonly optional: boolean;
  /** For a gap slot: how many words may be skipped (0 for word slots). */
  readonly gap: number;
}

interface Compiled {
  readonly rule: PhraseRule;
  readonly slots: readonly Slot[];
  /** Position of this rule in the matcher (index into the per-scan `lastFirst` table). */
  readonly index: number;
  /** Most words a match can span, first word to last (each slot counts its width). */
  readonly span: number;
}

const RING = 32;
const MAX_WORD = 32;
/** Id of a word outside every rule's vocabulary. */
const OTHER = -1;
const COLON = ':';
const EMPTY = new Uint8Array(0);

/**
 * Open-addressing table from a word's hash to its vocabulary id, so that words outside the
 * vocabulary (almost all of them) are rejected without allocating a string.
 */
class Vocabulary {
  readonly words: string[] = [];
  private readonly ids = new Map<string, number>();
  private table = new Int32Array(0);
  private hashes = new Int32Array(0);
  private mask = 0;

  idOf(word: string): number {
    let id = this.ids.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.words.push(word);
      this.ids.set(word, id);
    }
    return id;
  }

  seal(): void {
    let size = 64;
    while (size < this.words.length * 4) size *= 2;
    this.table = new Int32Array(size).fill(-1);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    this.words.forEach((w, id) => {
      const h = hashLower(w, 0, w.length);
      let slot = h & this.mask;
      while (this.table[slot] !== -1) slot = (slot + 1) & this.mask;
      this.table[slot] = id;
      this.hashes[slot] = h;
    });
  }

  /** The id of `text[start, end)` compared case-insensitively, or OTHER. */
  lookup(text: string, start: number, end: number, h: number): number {
    let slot = h & this.mask;
    for (;;) {
      const id = this.table[slot] as number;
      if (id === -1) return OTHER;
      if (this.hashes[slot] === h && equalsLower(text, start, end, this.words[id] as string)) return id;
      slot = (slot + 1) & this.mask;
    }
  }
}

function lowerCode(c: number): number {
  if (c >= 65 && c <= 90) return c + 32;
  return c === 0x2019 ? 39 : c;
}

function hashLower(text: string, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ lowerCode(text.charCodeAt(i)), 0x01000193);
  return h;
}

function equalsLower(text: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (lowerCode(text.charCodeAt(start + i)) !== word.charCodeAt(i)) return false;
  return true;
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isWordCode(c: number): boolean {
  return isLetter(c) || (c >= 48 && c <= 57) || c === 95 || c === 39 || c === 0x2019;
}

/**
 * Per ASCII code: the lower-cased code of a word character (as `lowerCode`), 0 for anything
 * else. One table read per character replaces the class tests and the case fold in the scan.
 */
const WORD_LOWER = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (isWordCode(c)) WORD_LOWER[c] = lowerCode(c);

/** `lowerCode(c)` for word characters, 0 for others. */
function wordLower(c: number): number {
  return c < 128 ? (WORD_LOWER[c] as number) : c === 0x2019 ? 39 : 0;
}

export class PhraseMatcher {
  private readonly vocab = new Vocabulary();
  private readonly byLastMap = new Map<number, Compiled[]>();
  /** Rules ending with each vocabulary id (index = id), filled when sealing. */
  private byLast: (Compiled[] | undefined)[] = [];
  /**
   * Rules whose (required) first slot accepts each vocabulary id (index = id). The scan keeps
   * the word index where each rule's first word was last seen, and tries a rule only when it
   * is recent enough for the rule to fit: on hostile text where every word ends some rule
   * (`the user the user …`), the backward match would otherwise run for every word although
   * the phrase never started.
   */
  private byFirst: (number[] | undefined)[] = [];
  /**
   * Vocabulary id of each one-letter ASCII word (index = lower-cased code), OTHER if none:
   * text of one-letter words (`a a a …`, `<a<a…`) then skips the hash-table probe.
   */
  private readonly single = new Int32Array(128).fill(OTHER);
  private ruleCount = 0;
  private readonly urlId: number;
  private readonly emailId: number;
  private readonly colonId: number;
  private readonly identId: number;

  constructor(rules: readonly PhraseRule[]) {
    this.urlId = this.vocab.idOf('<url>');
    this.emailId = this.vocab.idOf('<email>');
    this.colonId = this.vocab.idOf(COLON);
    this.identId = this.vocab.idOf('<ident>');
    const byFirstMap = new Map<number, number[]>();
    for (const r of rules) {
      const c = this.compile(r, this.ruleCount++);
      for (const id of (c.slots[0] as Slot).ids) {
        const list = byFirstMap.get(id) ?? [];
        list.push(c.index);
        byFirstMap.set(id, list);
      }
      const last = c.slots[c.slots.length - 1] as Slot;
      for (const id of last.ids) {
        const list = this.byLastMap.get(id) ?? [];
        list.push(c);
        this.byLastMap.set(id, list);
      }
    }
    this.vocab.seal();
    this.byLast = this.vocab.words.map((_, id) => this.byLastMap.get(id));
    this.byFirst = this.vocab.words.map((_, id) => byFirstMap.get(id));
    this.vocab.words.forEach((w, id) => {
      if (w.length === 1 && w.charCodeAt(0) < 128) this.single[w.charCodeAt(0)] = id;
    });
    const seen = new Set<Compiled>();
    for (const list of this.byLastMap.values()) {
      for (const c of list) {
        if (seen.has(c)) continue;
        seen.add(c);
        for (const slot of c.slots) {
          slot.accepts = new Uint8Array(this.vocab.words.length);
          for (const id of slot.ids) slot.accepts[id] = 1;
        }
      }
    }
  }

  private compile(rule: PhraseRule, index: number): Compiled {
    const slots: Slot[] = [];
    for (const raw of rule.pattern.trim().split(/\s+/)) {
      if (raw.startsWith('~')) {
        slots.push({ ids: new Set(), accepts: EMPTY, optional: true, gap: Number(raw.slice(1)) });
        continue;
      }
      const optional = raw.startsWith('?');
      const body = optional ? raw.slice(1) : raw;
      slots.push({ ids: new Set(body.split('|').map((w) => this.vocab.idOf(w))), accepts: EMPTY, optional, gap: 0 });
    }
    const last = slots[slots.length - 1];
    if (last === undefined || last.gap > 0 || last.optional) {
      throw new Error(`phrase rule ${rule.rule}: the last slot must be plain words (${rule.pattern})`);
    }
    // The first-word filter in `scan` relies on every match containing a first-slot word.
    if ((slots[0] as Slot).gap > 0 || (slots[0] as Slot).optional) {
      throw new Error(`phrase rule ${rule.rule}: the first slot must be plain words (${rule.pattern})`);
    }
    const span = slots.reduce((sum, slot) => sum + (slot.gap > 0 ? slot.gap : 1), 0);
    return { rule, slots, index, span };
  }

  /** The first match in `text`, or undefined. */
  find(text: string): PhraseMatch | undefined {
    let found: PhraseMatch | undefined;
    this.scan(text, (m) => {
      found = m;
      return false;
    });
    return found;
  }

  /** Up to `max` matches, at most one per rule name. */
  findAll(text: string, max = 16): PhraseMatch[] {
    const out: PhraseMatch[] = [];
    const seen = new Set<string>();
    this.scan(text, (m) => {
      if (!seen.has(m.rule)) {
        seen.add(m.rule);
        out.push(m);
      }
      return out.length < max;
    });
    return out;
  }

  /** Streams words through the ring; `onMatch` returns false to stop. */
  private scan(text: string, onMatch: (m: PhraseMatch) => boolean): void {
    const ids = new Int32Array(RING);
    const starts = new Int32Array(RING);
    // Per rule: 1 + the word index of its latest first-slot word (0 = never seen).
    const lastFirst = new Int32Array(this.ruleCount);
    let count = 0;
    const n = text.length;
    // Hot-loop fields as locals: this loop runs once per word of possibly hostile text.
    const { vocab, byFirst, byLast, single } = this;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      let id = OTHER;
      let end: number;
      const first = wordLower(c);
      if (c === 58) {
        id = this.colonId;
        end = i + 1;
      } else if (first === 0 || first === 39) {
        i++;
        continue;
      } else if ((c === 104 || c === 72 || c === 102 || c === 70) && isUrlStart(text, i)) {
        // URL: scheme://… up to whitespace.
        end = i;
        while (end < n && text.charCodeAt(end) > 32) end++;
        id = this.urlId;
      } else {
        let h = 0x811c9dc5 | 0;
        let underscore = false;
        end = i;
        while (end < n) {
          const code = text.charCodeAt(end);
          const d = code < 128 ? (WORD_LOWER[code] as number) : wordLower(code);
          if (d === 0) break;
          if (d === 95) underscore = true;
          h = Math.imul(h ^ d, 0x01000193);
          end++;
        }
        const email = end + 1 < n && text.charCodeAt(end) === 64 ? emailEnd(text, end + 1) : -1;
        if (email > 0) {
          id = this.emailId;
          end = email;
        } else if (end - i === 1 && c < 128) {
          id = single[WORD_LOWER[c] as number] as number;
        } else if (end - i <= MAX_WORD) {
          id = vocab.lookup(text, i, end, h);
        }
        if (id === OTHER && underscore) id = this.identId;
      }
      const at = count & (RING - 1);
      ids[at] = id;
      starts[at] = i;
      count++;
      if (id !== OTHER) {
        const starting = byFirst[id];
        if (starting !== undefined) for (const r of starting) lastFirst[r] = count;
        const candidates = byLast[id];
        if (candidates !== undefined) {
          for (const cand of candidates) {
            // No first word within reach: matchBack cannot succeed (see byFirst).
            const seen = lastFirst[cand.index] as number;
            if (seen === 0 || count - seen >= cand.span) continue;
            const from = matchBack(cand.slots, cand.slots.length - 1, count - 1, ids, count);
            if (from >= 0 && !onMatch({ rule: cand.rule.rule, what: cand.rule.what, start: starts[from & (RING - 1)] as number, end })) return;
          }
        }
      }
      i = end;
    }
  }
}

/** End of `host.tld` after an `@`, or -1 when what follows is not a dotted host. */
function emailEnd(text: string, from: number): number {
  const n = text.length;
  if (!isWordCode(text.charCodeAt(from))) return -1;
  let k = from;
  let dot = false;
  while (k < n && k - from < 256) {
    const d = text.charCodeAt(k);
    if (d === 46) dot = true;
    else if (!isWordCode(d) && d !== 45) break;
    k++;
  }
  return dot ? k : -1;
}

/**
 * Matches `slots[0..si]` backwards so that slot `si` ends at word index `wi`. Returns the
 * index of the first matched word, or -1. Bounded by the ring and the (small) gaps.
 */
function matchBack(slots: readonly Slot[], si: number, wi: number, ids: Int32Array, count: number): number {
  if (si < 0) return wi + 1;
  if (wi < 0 || count - wi > RING) {
    for (let k = si; k >= 0; k--) if (!(slots[k] as Slot).optional) return -1;
    return wi + 1;
  }
  const slot = slots[si] as Slot;
  if (slot.gap > 0) {
    for (let skip = 0; skip <= slot.gap; skip++) {
      const r = matchBack(slots, si - 1, wi - skip, ids, count);
      if (r >= 0) return r;
    }
    return -1;
  }
  if (slot.accepts[ids[wi & (RING - 1)] as number] === 1) {
    const r = matchBack(slots, si - 1, wi - 1, ids, count);
    if (r >= 0) return r;
  }
  if (slot.optional) return matchBack(slots, si - 1, wi, ids, count);
  return -1;
}

function isUrlStart(text: string, i: number): boolean {
  // http:// https:// ftp:// — compared in place, at most 8 characters.
  let j = i;
  while (j < text.length && j - i < 5 && isLetter(text.charCodeAt(j))) j++;
  if (text.charCodeAt(j) !== 58 || text.charCodeAt(j + 1) !== 47 || text.charCodeAt(j + 2) !== 47) return false;
  const scheme = text.slice(i, j).toLowerCase();
  return scheme === 'http' || scheme === 'https' || scheme === 'ftp';
}
