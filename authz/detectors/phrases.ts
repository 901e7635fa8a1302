/**
 * A linear-time phrase matcher for natural-language rules (prompt-injection markers in
 * arguments, poisoning in tool descriptions). Text is read once as a stream of lower-cased
 * words; each rule is a short word pattern matched backwards from the word that ends it,
 * against a ring of the last words. No regular expressions run over the input, so the cost
 * is one pass plus a bounded amount of work per word.
 *
 * Pattern syntax (compiled at module load): words separated by spaces; `a|b` alternatives;
 * a leading `?` makes a slot optional; `~N` skips up to N arbitrary words, `*` exactly one. Special words: `:` (a colon), `<url>`
 * (http(s)/ftp URL), `<email>` (an e-mail address), `<ident>` (any other word holding an
 * underscore, such as a tool name `write_file`).
 */

import { codeUnitsOf } from './unicode.js';

export interface PhraseRule {
  /** Stable kebab-case rule name reported in findings. */
  readonly rule: string;
  /** What was found, for messages (`instruction override`). */
  readonly what: string;
  readonly pattern: string;
  /**
   * The phrase does not count after a negation (`do not send passwords`, `never include
   * credentials`, `make sure not to share tokens`): advice against the act, not the act.
   */
  readonly unlessNegated?: boolean;
  /**
   * The phrase does not count when this word comes right after it (`do not tell the user`
   * + `to approve it` is advice about what to say, not a secret kept from the user).
   */
  readonly unlessFollowedBy?: string;
  /**
   * The phrase does not count right after one of these `|`-separated words: `can you` + `call
   * the weather tool` is a request made to the assistant, where an injected instruction tells
   * it what to call.
   */
  readonly unlessPrecededBy?: string;
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
  /** For a gap slot: how many words must be skipped (1 for `*`, 0 for `~N`). */
  readonly minGap: number;
}

interface Compiled {
  readonly rule: PhraseRule;
  readonly slots: readonly Slot[];
  /** Position of this rule in the matcher (index into the per-scan `lastFirst` table). */
  readonly index: number;
  /** Most words a match can span, first word to last (each slot counts its width). */
  readonly span: number;
  /** `rule.unlessFollowedBy` as lower-case code units, empty for none. */
  readonly followedBy: readonly number[];
  /** `rule.unlessPrecededBy` as lower-case code units per word, empty for none. */
  readonly precededBy: readonly (readonly number[])[];
}

const RING = 32;
const MAX_WORD = 32;
/** Id of a word outside every rule's vocabulary. */
const OTHER = -1;
const COLON = ':';
const EMPTY = new Uint8Array(0);
/** Bits of `roles`: the word is in a rule's first slot, last slot, or guard slot. */
const FIRST = 1;
const LAST = 2;
const GUARD = 4;
const ROLE_BITS = 3;
/** Guards are middle slots whose words are in at most this many middle slots of all rules. */
const MAX_GUARD_USES = 4;
/** A guard never seen: out of reach of every word count. */
const NEVER = -0x40000000;
/** The guard of rules without one, always within reach. */
const NO_GUARD = 0;
const ALWAYS = 0x40000000;

/**
 * Word classes of the automaton's alphabet (index = UTF-16 code unit): SEPARATOR for
 * everything that is not part of a word, COLON_CLASS for `:` (a word of its own), APOSTROPHE
 * for `'` and U+2019 (inside a word, never at its start), then one class per lower-cased
 * ASCII letter, digit and `_`. A word is a run of classes ≥ APOSTROPHE. 64 KiB, so that no
 * code unit needs a range test before the read.
 */
const CLASS = new Uint8Array(65536);
const SEPARATOR = 0;
/**
 * Class of SENTINEL, the unit `scan` puts after the text so that its inner loops need no
 * length test. U+FFFF is a noncharacter; where text holds one, it is a separator like any.
 */
const END_CLASS = 1;
const SENTINEL = 0xffff;
const COLON_CLASS = 2;
const APOSTROPHE = 3;
/** Classes of word characters a word can start with are this or more. */
const WORD_START = APOSTROPHE + 1;
/** Row width of the automaton: the classes, rounded up. */
const STRIDE = 64;
/** Lower-cased ASCII code of each class (0 for SEPARATOR and COLON_CLASS). */
const CLASS_CHAR = new Uint8Array(STRIDE);
{
  let next = WORD_START;
  const add = (c: number, folded: number): void => {
    if (CLASS[folded] === SEPARATOR) {
      CLASS[folded] = next;
      CLASS_CHAR[next] = folded;
      next++;
    }
    CLASS[c] = CLASS[folded] as number;
  };
  for (let c = 97; c <= 122; c++) add(c, c);
  for (let c = 65; c <= 90; c++) add(c, c + 32);
  for (let c = 48; c <= 57; c++) add(c, c);
  add(95, 95);
  CLASS[39] = APOSTROPHE;
  CLASS[0x2019] = APOSTROPHE;
  CLASS_CHAR[APOSTROPHE] = 39;
  CLASS[58] = COLON_CLASS;
  CLASS[SENTINEL] = END_CLASS;
}
const UNDERSCORE_CLASS = CLASS[95] as number;

/** Rows of the automaton's fixed states (row offsets, multiples of STRIDE). */
const DEAD = 0;
/** Dead after an `_`: the word is no vocabulary word but reads as `<ident>`. */
const DEAD_IDENT = STRIDE;
const ROOT = 2 * STRIDE;

/**
 * The vocabulary as a deterministic automaton over word classes (a trie with two dead
 * states), so that reading a word's characters also finds its id: one table read per
 * character, no hashing, no second comparison, and a word outside the vocabulary (almost all
 * of them) costs one step per character once it has left the trie. Row `r` holds the next
 * row per class; its SEPARATOR column, never a transition, holds the id of the word that ends
 * in that state (OTHER, or the `<ident>` id after an `_` outside any vocabulary word).
 */
class Vocabulary {
  readonly words: string[] = [];
  private readonly ids = new Map<string, number>();
  next = new Int32Array(0);

  idOf(word: string): number {
    let id = this.ids.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.words.push(word);
      this.ids.set(word, id);
    }
    return id;
  }

  /** Builds the automaton; `identId` is the id words holding an `_` read as. */
  seal(identId: number): void {
    const rows: number[][] = [];
    const underscored: boolean[] = [];
    const row = (ident: boolean): number => {
      rows.push(new Array<number>(STRIDE).fill(-1));
      underscored.push(ident);
      return rows.length - 1;
    };
    row(false);
    row(true);
    const root = row(false);
    const accept = new Map<number, number>();
    this.words.forEach((w, id) => {
      // Only words a scan can read: lower-case word characters, not starting with `'`, and
      // no longer than MAX_WORD (longer words are never looked up).
      if (w.length === 0 || w.length > MAX_WORD || (CLASS[w.charCodeAt(0)] as number) < WORD_START) return;
      for (let k = 0; k < w.length; k++) {
        const c = w.charCodeAt(k);
        if ((CLASS[c] as number) < APOSTROPHE || CLASS_CHAR[CLASS[c] as number] !== c) return;
      }
      let state = root;
      for (let k = 0; k < w.length; k++) {
        const cls = CLASS[w.charCodeAt(k)] as number;
        let to = (rows[state] as number[])[cls] as number;
        if (to < 0) {
          to = row((underscored[state] as boolean) || cls === UNDERSCORE_CLASS);
          (rows[state] as number[])[cls] = to;
        }
        state = to;
      }
      accept.set(state, id);
    });
    const next = new Int32Array(rows.length * STRIDE);
    rows.forEach((r, state) => {
      const ident = underscored[state] as boolean;
      for (let cls = APOSTROPHE; cls < STRIDE; cls++) {
        const to = r[cls] as number;
        const dead = ident || cls === UNDERSCORE_CLASS || state === 1 ? DEAD_IDENT : DEAD;
        next[state * STRIDE + cls] = to >= 0 ? to * STRIDE : dead;
      }
      next[state * STRIDE + SEPARATOR] = accept.get(state) ?? (ident ? identId : OTHER);
      next[state * STRIDE + COLON_CLASS] = DEAD;
      next[state * STRIDE + END_CLASS] = DEAD;
    });
    this.next = next;
  }
}

/** Word characters of e-mail hosts and of `isWordCode` below. */
function isWordCode(c: number): boolean {
  return (CLASS[c] as number) >= APOSTROPHE;
}

/** Lists of rule indices per vocabulary id, flattened: `rules[at[id] .. at[id + 1])`. */
interface RuleIndex {
  readonly at: Int32Array;
  readonly rules: Int32Array;
}

function ruleIndex(lists: readonly (readonly number[] | undefined)[]): RuleIndex {
  const at = new Int32Array(lists.length + 1);
  const rules: number[] = [];
  lists.forEach((list, id) => {
    at[id] = rules.length;
    if (list !== undefined) rules.push(...list);
  });
  at[lists.length] = rules.length;
  return { at, rules: Int32Array.from(rules) };
}

export class PhraseMatcher {
  private readonly vocab = new Vocabulary();
  private readonly compiled: Compiled[] = [];
  /** Rules ending with each vocabulary id, filled when sealing. */
  private readonly byLast: RuleIndex;
  /**
   * First words are grouped by the set of rules they start (`send` and `copy` start the same
   * rules, `mail` fewer), and each rule's (required) first slot is a union of groups. The
   * scan keeps the word index where each group was last seen, one write per first word, and
   * tries a rule only when one of its groups is recent enough for the rule to fit: on hostile
   * text where every word ends some rule (`the user the user …`), the backward match would
   * otherwise run for every word although the phrase never started.
   */
  private readonly groupsOf: RuleIndex;
  /** Most words each rule's match can span (index = rule). */
  private readonly spans: Int32Array;
  /** The largest of `spans`. */
  private readonly maxSpan: number;
  /** 1 for the vocabulary ids of rules' first words (index = id). */
  private readonly firstIds: Uint8Array;
  /** Per class of the first character: bit k set when some rule's first word has k characters. */
  private readonly firstShape = new Uint32Array(STRIDE);
  /** Length of the shortest first word of a rule. */
  private readonly minFirst: number;
  /** The ring of the latest words: vocabulary ids and UTF-16 starts. */
  private readonly ids = new Int32Array(RING);
  private readonly starts = new Int32Array(RING);
  /** Per group of first words: 1 + the word index where one was last kept (0 = never). */
  private readonly lastFirst: Int32Array;
  /**
   * Guards: the required word slots of each rule between its first and last. A rule is tried
   * only when a word each of them accepts was kept within the rule's span (as for the first
   * slot): on text made of words that end rules and start them (`the user must not …`),
   * the backward match otherwise runs for phrases whose middle never came.
   */
  private readonly byGuard: RuleIndex;
  /** The guard of each rule (index = rule), NO_GUARD for rules without one. */
  private readonly guardOf: Int32Array;
  /**
   * Per vocabulary id: FIRST, LAST and GUARD bits and, above ROLE_BITS, its group of first
   * words: one read for what a kept word needs.
   */
  private readonly roles: Int32Array;
  /** Per guard: 1 + the word index of its latest word, NEVER if none (ALWAYS for NO_GUARD). */
  private readonly lastGuard: Int32Array;
  private readonly urlId: number;
  private readonly emailId: number;
  private readonly colonId: number;
  private readonly identId: number;
  /** 1 for the vocabulary ids of URL schemes (index = id), which are also looked up as words. */
  private readonly schemes: Uint8Array;

  constructor(rules: readonly PhraseRule[]) {
    this.urlId = this.vocab.idOf('<url>');
    this.emailId = this.vocab.idOf('<email>');
    this.colonId = this.vocab.idOf(COLON);
    this.identId = this.vocab.idOf('<ident>');
    const schemeIds = ['http', 'https', 'ftp'].map((w) => this.vocab.idOf(w));
    const byFirst = new Map<number, number[]>();
    const byLast = new Map<number, number[]>();
    const add = (map: Map<number, number[]>, id: number, rule: number): void => {
      const list = map.get(id) ?? [];
      list.push(rule);
      map.set(id, list);
    };
    for (const r of rules) {
      const c = this.compile(r, this.compiled.length);
      this.compiled.push(c);
      for (const id of (c.slots[0] as Slot).ids) add(byFirst, id, c.index);
      for (const id of (c.slots[c.slots.length - 1] as Slot).ids) add(byLast, id, c.index);
    }
    // One guard per rule, the middle slot whose words are in the fewest other middle slots,
    // if they are few: each kept word updates the guards it is in, so a slot of common words
    // (`the|this|a`) would cost every word of prose more than it saves.
    const middle = (c: Compiled): Slot[] => c.slots.filter((slot, k) => k > 0 && k < c.slots.length - 1 && !slot.optional && slot.gap === 0);
    const uses = new Map<number, number>();
    for (const c of this.compiled) for (const slot of middle(c)) for (const id of slot.ids) uses.set(id, (uses.get(id) ?? 0) + 1);
    const byGuard = new Map<number, number[]>();
    const guardOf: number[] = [];
    let guards = NO_GUARD + 1;
    for (const c of this.compiled) {
      let best: Slot | undefined;
      let bestCost = Infinity;
      for (const slot of middle(c)) {
        const cost = Math.max(...[...slot.ids].map((id) => uses.get(id) ?? 0));
        if (cost < bestCost && cost <= MAX_GUARD_USES) [best, bestCost] = [slot, cost];
      }
      if (best === undefined) {
        guardOf.push(NO_GUARD);
        continue;
      }
      for (const id of best.ids) add(byGuard, id, guards);
      guardOf.push(guards++);
    }
    this.vocab.seal(this.identId);
    const size = this.vocab.words.length;
    this.schemes = new Uint8Array(size);
    for (const id of schemeIds) this.schemes[id] = 1;
    this.byLast = ruleIndex(this.vocab.words.map((_, id) => byLast.get(id)));
    const groupKeys = [...new Set([...byFirst.values()].map((rulesOf) => rulesOf.join(' ')))];
    const groupOf = new Map([...byFirst].map(([id, rulesOf]) => [id, groupKeys.indexOf(rulesOf.join(' '))]));
    this.groupsOf = ruleIndex(
      this.compiled.map((c) => [...new Set([...(c.slots[0] as Slot).ids].map((id) => groupOf.get(id) as number))]),
    );
    this.spans = Int32Array.from(this.compiled, (c) => c.span);
    this.lastFirst = new Int32Array(groupKeys.length);
    this.byGuard = ruleIndex(this.vocab.words.map((_, id) => byGuard.get(id)));
    this.guardOf = Int32Array.from(guardOf);
    this.lastGuard = new Int32Array(guards);
    this.roles = Int32Array.from(this.vocab.words, (_, id) => {
      const has = (index: RuleIndex): boolean => (index.at[id] as number) < (index.at[id + 1] as number);
      const group = groupOf.get(id);
      const first = group === undefined ? 0 : FIRST | (group << ROLE_BITS);
      return first | (has(this.byLast) ? LAST : 0) | (has(this.byGuard) ? GUARD : 0);
    });
    this.maxSpan = Math.max(0, ...this.spans);
    this.firstIds = new Uint8Array(size);
    let minFirst = MAX_WORD;
    for (const id of byFirst.keys()) {
      const w = this.vocab.words[id] as string;
      this.firstIds[id] = 1;
      const c = CLASS[w.charCodeAt(0)] as number;
      if (w.length < 32 && c >= WORD_START) this.firstShape[c] = (this.firstShape[c] as number) | (1 << w.length);
      minFirst = Math.min(minFirst, w.length);
    }
    this.minFirst = Math.max(1, minFirst);
    for (const c of this.compiled) {
      for (const slot of c.slots) {
        slot.accepts = new Uint8Array(size);
        for (const id of slot.ids) slot.accepts[id] = 1;
      }
    }
  }

  private compile(rule: PhraseRule, index: number): Compiled {
    const slots: Slot[] = [];
    for (const raw of rule.pattern.trim().split(/\s+/)) {
      if (raw.startsWith('~')) {
        slots.push({ ids: new Set(), accepts: EMPTY, optional: true, gap: Number(raw.slice(1)), minGap: 0 });
        continue;
      }
      if (raw === '*') {
        slots.push({ ids: new Set(), accepts: EMPTY, optional: false, gap: 1, minGap: 1 });
        continue;
      }
      const optional = raw.startsWith('?');
      const body = optional ? raw.slice(1) : raw;
      slots.push({ ids: new Set(body.split('|').map((w) => this.vocab.idOf(w))), accepts: EMPTY, optional, gap: 0, minGap: 0 });
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
    const followedBy = [...(rule.unlessFollowedBy ?? '')].map((c) => c.charCodeAt(0));
    const precededBy = (rule.unlessPrecededBy ?? '')
      .split('|')
      .filter((w) => w !== '')
      .map((w) => [...w.toLowerCase()].map((c) => c.charCodeAt(0)));
    return { rule, slots, index, span, followedBy, precededBy };
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

  /** Up to `max` matches, at most one per rule name (or per `what`, with `by` = 'what'). */
  findAll(text: string, max = 16, by: 'rule' | 'what' = 'rule'): PhraseMatch[] {
    const out: PhraseMatch[] = [];
    const seen = new Set<string>();
    this.scan(text, (m) => {
      const key = by === 'rule' ? m.rule : m.what;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(m);
      }
      return out.length < max;
    });
    return out;
  }

  /**
   * Start of the next run of word characters at or after `from` that reads as a rule's first
   * word, or the text's length. Only every `minFirst`-th character is read until a word
   * character turns up: a first word of `minFirst` or more characters covers one of them.
   * `from` must not be inside a run of word characters.
   */
  private nextFirstWord(units: Uint16Array, from: number, n: number): number {
    const { minFirst, firstShape, firstIds, identId } = this;
    const next = this.vocab.next;
    let i = from;
    while (i + minFirst <= n) {
      const probe = i + minFirst - 1;
      if ((CLASS[units[probe] as number] as number) < APOSTROPHE) {
        i = probe + 1;
        continue;
      }
      let start = probe;
      while (start > i && (CLASS[units[start - 1] as number] as number) >= APOSTROPHE) start--;
      let end = probe + 1;
      while (end < n && (CLASS[units[end] as number] as number) >= APOSTROPHE) end++;
      while (start < end && (CLASS[units[start] as number] as number) === APOSTROPHE) start++;
      if (start === end) {
        i = end + 1;
        continue;
      }
      const len = end - start;
      const d = CLASS[units[start] as number] as number;
      if (len >= minFirst && len < 32 && ((firstShape[d] as number) >>> len) & 1) {
        let row = ROOT;
        for (let k = start; k < end; k++) row = next[row + (CLASS[units[k] as number] as number)] as number;
        const id = next[row] as number;
        if (id >= 0 && id !== identId && firstIds[id] === 1) return start;
      }
      i = end + 1;
    }
    return n;
  }

  /** Streams words through the ring; `onMatch` returns false to stop. */
  private scan(text: string, onMatch: (m: PhraseMatch) => boolean): void {
    const units = codeUnitsOf(text, SENTINEL);
    // Scratch reused across scans (a scan never runs inside another), cleared here: short
    // values, the common case, then allocate nothing.
    const { ids, starts, lastFirst, lastGuard } = this;
    ids.fill(OTHER);
    lastFirst.fill(0);
    lastGuard.fill(NEVER);
    lastGuard[NO_GUARD] = ALWAYS;
    let count = 0;
    const n = text.length;
    // Hot-loop fields as locals: this loop runs once per word of possibly hostile text.
    const { spans, compiled, maxSpan, schemes, colonId, emailId, urlId } = this;
    const next = this.vocab.next;
    const { at: groupAt, rules: groups } = this.groupsOf;
    const { at: lastAt, rules: lastRules } = this.byLast;
    const roles = this.roles;
    const { at: guardAt, rules: guardList } = this.byGuard;
    const guardOf = this.guardOf;
    // Word count at the latest first-slot word of any rule: while it is out of every rule's
    // reach, no word can be part of a match, and text is skimmed for the next first-slot word.
    let anyFirst = -maxSpan - 1;
    // Words are read one by one at least up to here (past the word that ended skimming).
    let until = 0;
    // Words before this offset lie in a run of local-part characters without an `@`.
    let noAt = 0;
    let i = 0;
    for (;;) {
      if (count - anyFirst >= maxSpan && i >= until) {
        const next = this.nextFirstWord(units, i, n);
        if (next >= n) return;
        // Words are read one by one again from the last whitespace before it: every token
        // (word, URL, e-mail address) ends at whitespace, so reading resumes in step with a
        // scan that read everything, and a URL or address around the word is seen as such.
        let from = next;
        while (from > i && (units[from - 1] as number) > 32) from--;
        i = from;
        until = next + 1;
        // Skipped words are out of reach of every word to come.
        count += RING + maxSpan;
      }
      // Separators and apostrophes (a word never starts with one), in a loop of their own.
      let d = CLASS[units[i] as number] as number;
      while (d === SEPARATOR || d === APOSTROPHE || (d === END_CLASS && i < n)) d = CLASS[units[++i] as number] as number;
      if (i >= n) return;
      let id: number;
      let end = i + 1;
      if (d === COLON_CLASS) {
        id = colonId;
      } else {
        // The automaton reads the word and yields its id (see Vocabulary).
        let row = next[ROOT + d] as number;
        for (;;) {
          const e = CLASS[units[end] as number] as number;
          if (e < APOSTROPHE) break;
          row = next[row + e] as number;
          end++;
        }
        id = next[row] as number;
        const after = end + 1 < n ? (units[end] as number) : 0;
        if (after === 64) {
          const email = emailEnd(units, end + 1, n);
          if (email > 0) {
            id = emailId;
            end = email;
          }
        } else if ((after === 46 || after === 45 || after === 43) && end >= noAt) {
          // `mark.black-2134@…`: a local part of several words is one address. The run of
          // local-part characters is read once: where it has no `@`, no word inside it is
          // read again (noAt), so dotted and hyphenated prose stays one pass.
          const at = localPartEnd(units, end, n);
          const email = (units[at] as number) === 64 && at - i <= MAX_LOCAL ? emailEnd(units, at + 1, n) : -1;
          if (email > 0) {
            id = emailId;
            end = email;
          } else {
            noAt = at;
          }
        } else if (after === 58 && id >= 0 && schemes[id] === 1 && end + 2 < n && units[end + 1] === 47 && units[end + 2] === 47) {
          // URL: scheme://… up to whitespace.
          while (end < n && (units[end] as number) > 32) end++;
          id = urlId;
        }
      }
      const slot = count & (RING - 1);
      count++;
      // Words are kept in the ring only within reach of a rule's first word: no match can
      // include a word that has none of them among the maxSpan words up to it.
      if (id === OTHER) {
        if (count - anyFirst < maxSpan) {
          ids[slot] = OTHER;
          starts[slot] = i;
        }
      } else {
        const role = roles[id] as number;
        if ((role & FIRST) !== 0) {
          // After words that were not kept, their slots must not be read as older words.
          if (count - anyFirst > maxSpan) ids.fill(OTHER);
          lastFirst[role >> ROLE_BITS] = count;
          anyFirst = count;
        }
        if (count - anyFirst >= maxSpan) {
          i = end;
          continue;
        }
        ids[slot] = id;
        starts[slot] = i;
        if ((role & GUARD) !== 0) {
          for (let k = guardAt[id] as number, to = guardAt[id + 1] as number; k < to; k++) lastGuard[guardList[k] as number] = count;
        }
        if ((role & LAST) === 0) {
          i = end;
          continue;
        }
        for (let k = lastAt[id] as number, last = lastAt[id + 1] as number; k < last; k++) {
          const r = lastRules[k] as number;
          // No guard word, or no first word, within reach: matchBack cannot succeed.
          const span = spans[r] as number;
          if (count - (lastGuard[guardOf[r] as number] as number) >= span) continue;
          let started = false;
          for (let g = groupAt[r] as number, to = groupAt[r + 1] as number; g < to && !started; g++) {
            const seen = lastFirst[groups[g] as number] as number;
            started = seen !== 0 && count - seen < span;
          }
          if (!started) continue;
          const cand = compiled[r] as Compiled;
          const from = matchBack(cand.slots, cand.slots.length - 1, count - 1, ids, count);
          if (from < 0) continue;
          const start = starts[from & (RING - 1)] as number;
          if (cand.rule.unlessNegated === true && negatedBefore(units, start)) continue;
          if (cand.followedBy.length > 0 && wordAt(units, end, n, cand.followedBy)) continue;
          if (cand.precededBy.length > 0 && precededBy(units, start, cand.precededBy)) continue;
          if (!onMatch({ rule: cand.rule.rule, what: cand.rule.what, start, end })) return;
        }
      }
      i = end;
    }
  }
}

/** Negations that turn an instruction into advice against it. */
const NEGATIONS: readonly (readonly number[])[] = ['not', 'never', "don't", 'dont', 'no', 'nor', 'cannot', "shouldn't", "mustn't", "won't"].map(
  (w) => [...w].map((c) => c.charCodeAt(0)),
);
/** Words that may stand between a negation and the phrase (`not to send`, `never ever send`). */
const BRIDGES: readonly (readonly number[])[] = ['to', 'ever'].map((w) => [...w].map((c) => c.charCodeAt(0)));
/** Separators skipped between two words when looking back (bounded: a phrase's neighbour is close). */
const MAX_GAP = 4;

/** Start of the word that ends before `at` (after at most MAX_GAP separators), or -1. */
function wordBefore(units: Uint16Array, at: number): number {
  let i = at;
  const stop = Math.max(0, at - MAX_GAP);
  while (i > stop && (CLASS[units[i - 1] as number] as number) < APOSTROPHE) i--;
  if (i === 0 || (CLASS[units[i - 1] as number] as number) < APOSTROPHE) return -1;
  const end = i;
  while (i > 0 && end - i <= MAX_WORD && (CLASS[units[i - 1] as number] as number) >= APOSTROPHE) i--;
  return i;
}

/** Whether units[start..end) spell one of `words` (case-folded; ’ reads as '). */
function spells(units: Uint16Array, start: number, end: number, words: readonly (readonly number[])[]): boolean {
  for (const w of words) {
    if (w.length !== end - start) continue;
    let k = 0;
    while (k < w.length && CLASS_CHAR[CLASS[units[start + k] as number] as number] === w[k]) k++;
    if (k === w.length) return true;
  }
  return false;
}

/** End of the word after its last separator before `at`: the word `wordBefore` found ends there. */
function wordEnd(units: Uint16Array, start: number): number {
  let i = start;
  while ((CLASS[units[i] as number] as number) >= APOSTROPHE) i++;
  return i;
}

/** A negation right before `start`, or a negation and a bridge word (`not to`). */
function negatedBefore(units: Uint16Array, start: number): boolean {
  const w1 = wordBefore(units, start);
  if (w1 < 0) return false;
  const e1 = wordEnd(units, w1);
  if (spells(units, w1, e1, NEGATIONS)) return true;
  if (!spells(units, w1, e1, BRIDGES)) return false;
  const w2 = wordBefore(units, w1);
  return w2 >= 0 && spells(units, w2, wordEnd(units, w2), NEGATIONS);
}

/** Whether the word right before `start` (past at most MAX_GAP separators) is one of `words`. */
function precededBy(units: Uint16Array, start: number, words: readonly (readonly number[])[]): boolean {
  const w = wordBefore(units, start);
  return w >= 0 && spells(units, w, wordEnd(units, w), words);
}

/** Whether the next word after `end` (past at most MAX_GAP separators) is `word`. */
function wordAt(units: Uint16Array, end: number, n: number, word: readonly number[]): boolean {
  let i = end;
  const stop = Math.min(n, end + MAX_GAP);
  while (i < stop && (CLASS[units[i] as number] as number) < APOSTROPHE) i++;
  let k = 0;
  while (k < word.length && i + k < n && CLASS_CHAR[CLASS[units[i + k] as number] as number] === word[k]) k++;
  return k === word.length && (i + k >= n || (CLASS[units[i + k] as number] as number) < APOSTROPHE);
}

/** Longest local part of an e-mail address (RFC 5321, section 4.5.3.1.1). */
const MAX_LOCAL = 64;

/** End of the run of word characters, `.`, `-` and `+` from `from` (the `@` of an address, or where the run stops). */
function localPartEnd(units: Uint16Array, from: number, n: number): number {
  let k = from;
  for (;;) {
    if (k >= n) return n;
    const c = units[k] as number;
    if (c !== 46 && c !== 45 && c !== 43 && !isWordCode(c)) return k;
    k++;
  }
}

/** End of `host.tld` after an `@`, or -1 when what follows is not a dotted host. */
function emailEnd(units: Uint16Array, from: number, n: number): number {
  if (!isWordCode(units[from] as number)) return -1;
  let k = from;
  let dot = false;
  while (k < n && k - from < 256) {
    const d = units[k] as number;
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
    for (let skip = slot.minGap; skip <= slot.gap; skip++) {
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
