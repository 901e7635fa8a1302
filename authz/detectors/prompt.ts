/**
 * `text` arguments: markers of prompt injection carried in free text — instruction
 * overrides, fake system / hidden tags, invisible Unicode, and instructions to call other
 * tools, send data elsewhere or hide things from the user. Free text legitimately contains
 * quotes, semicolons and code, so nothing here looks at SQL or shell syntax. The default
 * action for this detector is Audit (ARCHITECTURE.md, `detection.promptInjection`).
 *
 * Three linear passes: invisible characters, tag-like markers (bounded look-ahead after
 * `<`, `[`, `#`), and the phrase matcher (phrases.ts).
 */
import type { ArgumentRule } from '../api/types.js';
import type { DetectorFinding } from './types.js';
import { PhraseMatcher, type PhraseRule } from './phrases.js';
import { codeUnitsOf, excerptAround, findInvisible } from './unicode.js';

const OVERRIDE_VERBS = 'ignore|disregard|forget|override|bypass|neglect|abandon|drop|discard';
const EARLIER = 'previous|prior|above|earlier|preceding|initial|original|existing|former|old|all|any|every|your|system|developer|safety';
const SENSITIVE = 'data|conversation|history|chat|chats|credentials|credential|password|passwords|token|tokens|secret|secrets|key|keys|cookies|contents|content|messages|emails|prompt|instructions|env|environment|variables|documents|files|notes|summary|context';
const DIRECTIVES = 'instructions|instruction|prompts|prompt|rules|directions|directives|guidelines|guidance|constraints|commands|orders|policies|programming|training';

/** Phrase rules shared with the tool-definition scanner (see scan/scan-tool.ts). */
export const INJECTION_PHRASES: readonly PhraseRule[] = [
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: `${OVERRIDE_VERBS} ~2 ${EARLIER} ~1 ${DIRECTIVES}` },
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: `${OVERRIDE_VERBS} ?all everything|anything ~2 above|before|previously|prior|earlier|said|told` },
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: `${OVERRIDE_VERBS} ~1 the|these|those|any ~1 above|previous|prior|earlier` },
  { rule: 'prompt-instruction-override', what: 'new instructions', pattern: 'new|updated|revised|real|actual|true|secret|hidden|additional|important|override ~1 instructions|instruction|directive|directives|orders|task :' },
  { rule: 'prompt-instruction-override', what: 'new instructions', pattern: 'system prompt|instructions ~1 override|overridden|updated|replaced|changed' },
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: 'from now on you' },
  { rule: 'prompt-role-reassignment', what: 'role reassignment', pattern: 'you are now ?a|an dan|jailbroken|unrestricted|unfiltered|uncensored|evil|free|ai|assistant|agent|chatbot|model|admin|administrator|root|developer' },
  { rule: 'prompt-role-reassignment', what: 'role reassignment', pattern: 'you are no longer a|an|bound|restricted|limited|required|chatgpt|claude|assistant|an' },
  { rule: 'prompt-role-reassignment', what: 'jailbreak mode', pattern: 'god|dan|jailbreak|jailbroken|unrestricted mode' },
  { rule: 'prompt-role-reassignment', what: 'jailbreak mode', pattern: 'developer mode enabled|activated|on' },
  { rule: 'prompt-instruction-override', what: 'guardrail bypass', pattern: 'ignore|bypass|disable|override|circumvent ~2 safety|content|ethical|moral ~1 filters|filter|guidelines|policies|policy|restrictions|guardrails|protocols' },
  { rule: 'prompt-instruction-override', what: 'prompt disclosure request', pattern: 'reveal|print|output|repeat|leak|display|dump|disclose|show ~1 your|the ~1 system|initial|hidden|original ~1 prompt|instructions|message' },
  // Hiding things from the user.
  { rule: 'prompt-conceal-from-user', what: 'instruction to hide from the user', pattern: "not|don't|dont|never|without ~1 tell|telling|inform|informing|mention|mentioning|reveal|revealing|notify|notifying|alert|alerting|let|letting|show|showing ~2 the|your ~1 user|users|human|humans|operator" },
  { rule: 'prompt-conceal-from-user', what: 'instruction to hide from the user', pattern: 'hide|conceal|keep ~3 from ~1 the|your ~1 user|users|human|humans' },
  { rule: 'prompt-conceal-from-user', what: 'instruction to hide from the user', pattern: 'the|your user|users ~1 must|should|will|need|does|do ~1 not|never ~1 know|see|notice|learn|find|be|suspect' },
  { rule: 'prompt-conceal-from-user', what: 'instruction to act covertly', pattern: 'secretly|covertly|surreptitiously ~3 send|call|read|forward|include|add|copy|upload|post|exfiltrate|change|modify|pass|append|use|run' },
  { rule: 'prompt-conceal-from-user', what: 'instruction to act covertly', pattern: "without ?the user|user's|users ~1 knowing|knowledge|noticing|consent|awareness|permission" },
  // Sending data elsewhere.
  { rule: 'prompt-exfiltration', what: 'exfiltration', pattern: 'exfiltrate|exfiltrating|exfiltration|exfil' },
  { rule: 'prompt-exfiltration', what: 'instruction to send data to an outside address', pattern: `send|forward|post|upload|transmit|leak|email|mail|share|copy|report|submit|deliver ~4 ${SENSITIVE} ~4 to|at|into <url>|<email>` },
  { rule: 'prompt-exfiltration', what: 'instruction to send secrets', pattern: 'send|forward|post|upload|transmit|leak|email|share|copy|include|append|attach|pass ~3 password|passwords|credentials|credential|token|tokens|secret|secrets|cookies|cookie|id_rsa|apikey|api_key|keys' },
  // Calling other tools.
  { rule: 'prompt-tool-call-instruction', what: 'instruction to call a tool', pattern: 'call|invoke|trigger|execute ~1 the|this|that|another|other|a ~1 tool|tools' },
  { rule: 'prompt-tool-call-instruction', what: 'instruction to call a tool', pattern: 'before|after|instead|prior ?of|to using|calling|invoking|running|executing ~2 this|any|the|that|other|another ~1 tool|tools' },
  { rule: 'prompt-tool-call-instruction', what: 'instruction to call a tool', pattern: 'always|first|must ~2 call|invoke|use|run ~2 the|this|that ~1 tool|function' },
];

const PHRASES = new PhraseMatcher(INJECTION_PHRASES);

/** Tag-like markers of a fake system / hidden channel (lower-case, single spaces). */
const ANGLE_TAGS = new Set([
  'system', '/system', 'sys', '<sys', 'important', '/important', 'instructions', 'instruction', 'hidden', 'secret',
  'admin', 'system_prompt', 'systemprompt', 'system-prompt', 'developer', 'assistant', 'im_start', '|im_start|',
  '|im_end|', '|system|', '|endoftext|', '|start_header_id|', '|eot_id|', '|assistant|', '|user|', 'override',
]);
const BRACKET_TAGS = new Set(['inst', '/inst', 'system', 'system override', 'systemoverride', 'admin', 'override', 'hidden instruction', 'important', 'sys', 'system message', 'system prompt']);
const HASH_TAGS = new Set(['system', 'instruction', 'instructions', 'assistant', 'new instructions', 'system prompt']);

export interface TagMatch {
  readonly tag: string;
  readonly start: number;
  readonly end: number;
}

const TAG_LOOKAHEAD = 24;
/** No known tag is shorter: a shorter body is rejected before it is copied (`<a<a<a…`). */
const MIN_TAG_CHARS = Math.min(...[...ANGLE_TAGS, ...BRACKET_TAGS, ...HASH_TAGS].map((t) => t.length));

/**
 * Known tags by first character and length (index = code * 32 + length), so that a body is
 * compared in place with the few tags it could be and never copied (`<abc><abc>…`).
 */
type TagIndex = readonly (readonly string[] | undefined)[];
function indexOf(tags: ReadonlySet<string>): TagIndex {
  const index: string[][] = [];
  for (const t of tags) {
    const key = t.charCodeAt(0) * 32 + t.length;
    if (t.length < 32) (index[key] ??= []).push(t);
  }
  return Array.from({ length: 128 * 32 }, (_, key) => index[key]);
}
const ANGLE_INDEX = indexOf(ANGLE_TAGS);
const BRACKET_INDEX = indexOf(BRACKET_TAGS);
const HASH_INDEX = indexOf(HASH_TAGS);

/** The known tag `units[from, end)` spells, compared without case, or undefined. */
function knownTag(units: Uint16Array, from: number, end: number, index: TagIndex): string | undefined {
  const len = end - from;
  const first = lowerAscii(units[from] as number);
  if (len >= 32 || first >= 128) return undefined;
  const candidates = index[first * 32 + len];
  if (candidates === undefined) return undefined;
  for (const tag of candidates) {
    let k = 1;
    while (k < len && lowerAscii(units[from + k] as number) === tag.charCodeAt(k)) k++;
    if (k === len) return tag;
  }
  return undefined;
}

function lowerAscii(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Characters read one by one after a marker before native search takes over (see findFakeTag). */
const PEEK = 32;

function indexOrEnd(text: string, ch: string, from: number): number {
  const at = text.indexOf(ch, from);
  return at < 0 ? text.length : at;
}

/** 1 for the marker characters `<`, `[`, `#` (ASCII only). */
const MARKER = new Uint8Array(128);
for (const ch of '<[#') MARKER[ch.charCodeAt(0)] = 1;

/**
 * First characters of the known tags, lower-cased: anything else after `<` or `[` is skipped
 * at once. A table rather than a Set, since it is read once per marker character.
 */
const TAG_FIRST = new Uint8Array(128);
for (const t of [...ANGLE_TAGS, ...BRACKET_TAGS, ...HASH_TAGS]) {
  TAG_FIRST[t.charCodeAt(0)] = 1;
  TAG_FIRST[t.toUpperCase().charCodeAt(0)] = 1;
}

/**
 * Finds `<system>`, `<|im_start|>`, `<IMPORTANT>`, `[INST]`, `[SYSTEM OVERRIDE: …]`,
 * `### System:` and similar. Each marker character reads at most 24 following characters,
 * and only when a letter, `|` or `/` follows it.
 */
export function findFakeTag(text: string): TagMatch | undefined {
  const n = text.length;
  const units = codeUnitsOf(text);
  // Markers are found in two ways so that neither dense nor sparse text is slow. Right after
  // a marker, up to PEEK characters are read one by one against a table: text made of markers
  // (`<a<a<a…`, `[[[…`) then costs a table read per character, not a native call per marker.
  // Past that window, native `indexOf` (far faster per character) jumps to the next marker of
  // each kind; a cached result is reused until passed, so each call is paid for by at least
  // PEEK characters read in the window.
  let nextAngle = -1;
  let nextBracket = -1;
  let nextHash = -1;
  let peekUntil = 0;
  for (let i = 0; i < n; i++) {
    if (i >= peekUntil) {
      if (nextAngle < i) nextAngle = indexOrEnd(text, '<', i);
      if (nextBracket < i) nextBracket = indexOrEnd(text, '[', i);
      if (nextHash < i) nextHash = indexOrEnd(text, '#', i);
      i = Math.min(nextAngle, nextBracket, nextHash);
      if (i === n) return undefined;
    }
    const c = units[i] as number;
    if (c >= 128 || MARKER[c] === 0) continue;
    peekUntil = i + 1 + PEEK;
    if (c === 35) {
      // `## System:` / `### Instruction` at the start of a line.
      if (i > 0 && (units[i - 1] as number) !== 10) continue;
      let j = i;
      while (j < n && j - i < 4 && units[j] === 35) j++;
      if (j - i < 2) continue;
      while (j < n && j - i < 8 && units[j] === 32) j++;
      const end = tagBodyEnd(units, j, true);
      const tag = end < 0 ? undefined : knownTag(units, j, end, HASH_INDEX);
      if (tag !== undefined) return { tag: `## ${tag}`, start: i, end };
      continue;
    }
    let from = i + 1;
    // `<<SYS>>` (Llama 2 chat format).
    if (c === 60 && from < n && units[from] === 60) from++;
    const head = from < n ? (units[from] as number) : 0;
    if (head >= 128 || TAG_FIRST[head] !== 1) continue;
    const end = tagBodyEnd(units, from, c === 91);
    if (end < 0) continue;
    const close = c === 60 ? 62 : 93;
    const next = end < n ? (units[end] as number) : -1;
    // `<system>` / `<system role=…>` / `[INST]` / `[SYSTEM OVERRIDE: …]`.
    const closesTag = next === close || next === 32 || next === 58 || next === -1;
    const tag = closesTag ? knownTag(units, from, end, c === 60 ? ANGLE_INDEX : BRACKET_INDEX) : undefined;
    if (tag !== undefined) {
      return { tag: `${String.fromCharCode(c)}${tag}${String.fromCharCode(close)}`, start: i, end: Math.min(n, end + 1) };
    }
  }
  return undefined;
}


function isTagChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 124 || c === 47 || c === 95 || c === 45;
}

/**
 * End of the tag body at `from` (letters, `|`, `/`, `_`, `-` and single inner spaces, at most
 * TAG_LOOKAHEAD characters), or -1 when it is too short to be a known tag. Nothing is copied.
 */
function tagBodyEnd(units: Uint16Array, from: number, allowSpaces: boolean): number {
  const n = units.length;
  if (from + 2 >= n) return -1;
  const first = units[from] as number;
  // Every known tag starts with three tag characters (no space among them), so a body that
  // does not is rejected with three reads, before the loop.
  if (
    first >= 128 ||
    TAG_FIRST[first] !== 1 ||
    !isTagChar(first) ||
    !isTagChar(units[from + 1] as number) ||
    !isTagChar(units[from + 2] as number)
  ) {
    return -1;
  }
  let j = from;
  while (j < n && j - from < TAG_LOOKAHEAD) {
    const c = units[j] as number;
    if (isTagChar(c)) {
      j++;
    } else if (c === 32 && allowSpaces && j + 1 < n && isTagChar(units[j + 1] as number) && (units[j - 1] as number) !== 32) {
      j++;
    } else {
      break;
    }
  }
  if (j - from < MIN_TAG_CHARS) return -1;
  return j;
}

function finding(rule: string, message: string, value: string, start: number, end: number): DetectorFinding {
  return { detector: 'promptInjection', rule, message: `text: ${message}`, excerpt: excerptAround(value, start, end) };
}

export function inspectText(value: string, _rule: ArgumentRule | undefined): DetectorFinding | undefined {
  try {
    const hidden = findInvisible(value);
    if (hidden !== undefined) {
      const smuggled = hidden.tagText !== '' ? ` spelling "${hidden.tagText.slice(0, 32)}"` : '';
      return finding(
        'prompt-invisible-unicode',
        `${hidden.count} invisible ${hidden.cls} character${hidden.count > 1 ? 's' : ''}${smuggled}`,
        value,
        hidden.start,
        hidden.end,
      );
    }
    const tag = findFakeTag(value);
    if (tag !== undefined) return finding('prompt-fake-system-tag', `fake system/hidden tag ${tag.tag}`, value, tag.start, tag.end);
    const phrase = PHRASES.find(value);
    if (phrase !== undefined) return finding(phrase.rule, phrase.what, value, phrase.start, phrase.end);
    return undefined;
  } catch {
    return finding('prompt-inspection-error', 'value could not be inspected', value, 0, 0);
  }
}
