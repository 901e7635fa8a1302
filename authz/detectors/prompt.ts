/**
 * `text` arguments: markers of prompt injection carried in free text — instruction
 * overrides, fake system / hidden tags, invisible Unicode, and instructions to call other
 * tools, send data elsewhere or hide things from the user. Free text legitimately contains
 * quotes, semicolons and code, so nothing here looks at SQL or shell syntax. The default
 * action for this detector is Audit (ARCHITECTURE.md, `detection.promptInjection`).
 *
 * Three linear passes: invisible characters, tag-like markers (one native pattern from the
 * first `<`, `[` or `#`), and the phrase matcher (phrases.ts).
 */
import type { ArgumentRule } from '../api/types.js';
import type { DetectorFinding } from './types.js';
import { PhraseMatcher, type PhraseRule } from './phrases.js';
import { excerptAround } from './excerpt.js';
import { findInvisible } from './unicode.js';

const OVERRIDE_VERBS = 'ignore|disregard|forget|override|bypass|neglect|abandon|drop|discard';
const EARLIER = 'previous|prior|above|earlier|preceding|initial|original|existing|former|old|all|any|every|your|system|developer|safety';
const SENSITIVE = 'data|conversation|history|chat|chats|credentials|credential|password|passwords|token|tokens|secret|secrets|key|keys|cookies|contents|content|messages|emails|prompt|instructions|env|environment|variables|documents|files|notes|summary|context';
const SEND_VERBS = 'send|forward|post|upload|transmit|leak|email|mail|share|copy|report|submit|deliver';
const SECRETS = 'password|passwords|credentials|credential|token|tokens|secret|secrets|cookies|cookie|id_rsa|apikey|api_key|keys';
/** Who receives what an instruction sends: the speaker, an address, or an outside place. */
const RECIPIENTS = 'me|us|them|<url>|<email>|attacker|external|remote|outside|public|webhook|endpoint|server|gist|pastebin|channel|inbox';
const DIRECTIVES = 'instructions|instruction|prompts|prompt|rules|directions|directives|guidelines|guidance|constraints|commands|orders|policies|programming|training';

/** Phrase rules shared with the tool-definition scanner (see scan/scan-tool.ts). */
export const INJECTION_PHRASES: readonly PhraseRule[] = [
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: `${OVERRIDE_VERBS} ~2 ${EARLIER} ~1 ${DIRECTIVES}` },
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: `${OVERRIDE_VERBS} ?all everything|anything ~2 above|before|previously|prior|earlier|said|told` },
  // Without a directive noun only `above` reads as the prompt: "forget about the earlier draft" is not one.
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: `${OVERRIDE_VERBS} ~1 the|these|those|any ~1 above` },
  { rule: 'prompt-instruction-override', what: 'new instructions', pattern: 'new|updated|revised|real|actual|true|secret|hidden|additional|important|override ~1 instructions|instruction|directive|directives|orders|task :' },
  { rule: 'prompt-instruction-override', what: 'new instructions', pattern: 'system prompt|instructions ~1 override|overridden|updated|replaced|changed' },
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: 'from now on you' },
  { rule: 'prompt-role-reassignment', what: 'role reassignment', pattern: 'you are now ?a|an dan|jailbroken|unrestricted|unfiltered|uncensored|evil|free|ai|assistant|agent|chatbot|model|admin|administrator|root|developer' },
  { rule: 'prompt-role-reassignment', what: 'role reassignment', pattern: 'you are no longer a|an|bound|restricted|limited|required|chatgpt|claude|assistant|an' },
  { rule: 'prompt-role-reassignment', what: 'jailbreak mode', pattern: 'god|dan|jailbreak|jailbroken|unrestricted mode' },
  { rule: 'prompt-role-reassignment', what: 'jailbreak mode', pattern: 'developer mode enabled|activated' },
  { rule: 'prompt-instruction-override', what: 'guardrail bypass', pattern: 'ignore|bypass|disable|override|circumvent ~2 safety|content|ethical|moral ~1 filters|filter|guidelines|policies|policy|restrictions|guardrails|protocols' },
  { rule: 'prompt-instruction-override', what: 'guardrail bypass', pattern: 'safety|content|ethical|moral ~1 guidelines|rules|restrictions|policies|filters|guardrails ~2 not|longer ~1 apply' },
  { rule: 'prompt-instruction-override', what: 'prompt disclosure request', pattern: 'reveal|print|output|repeat|leak|display|dump|disclose|show ~1 your|the ~1 system|initial|hidden|original ~1 prompt|instructions' },
  // "Show the original message in the thread" is about e-mail; only the system message is the prompt.
  { rule: 'prompt-instruction-override', what: 'prompt disclosure request', pattern: 'reveal|print|output|repeat|leak|display|dump|disclose|show ~1 your|the ~1 system|hidden ~1 message' },
  // Hiding things from the user.
  { rule: 'prompt-conceal-from-user', what: 'instruction to hide from the user', pattern: "not|don't|dont|never|without ~1 tell|telling|inform|informing|mention|mentioning|reveal|revealing|notify|notifying|alert|alerting|let|letting|show|showing ~2 the|your ~1 user|users|human|humans|operator", unlessFollowedBy: 'to' },
  { rule: 'prompt-conceal-from-user', what: 'instruction to hide from the user', pattern: 'hide|conceal|keep ~3 from ~1 the|your ~1 user|users|human|humans' },
  { rule: 'prompt-conceal-from-user', what: 'instruction to hide from the user', pattern: 'the|your user|users ~1 must|should|will|need|does|do ~1 not|never ~1 know|see|notice|learn|find|be|suspect', unlessFollowedBy: 'able' },
  { rule: 'prompt-conceal-from-user', what: 'instruction to act covertly', pattern: 'secretly|covertly|surreptitiously|quietly|silently ~3 send|call|read|forward|include|add|copy|upload|post|exfiltrate|change|modify|pass|append|use|run' },
  { rule: 'prompt-conceal-from-user', what: 'instruction to act covertly', pattern: "without ?the user|user's|users ~1 knowing|knowledge|noticing|consent|awareness|permission" },
  // Sending data elsewhere.
  { rule: 'prompt-exfiltration', what: 'exfiltration', pattern: 'exfiltrate|exfiltrating|exfiltration|exfil' },
  { rule: 'prompt-exfiltration', what: 'instruction to send data to an outside address', pattern: `${SEND_VERBS} ~4 ${SENSITIVE} ~4 to|at|into <url>|<email>`, unlessNegated: true },
  // Not `email`: "email addresses when the token has the read scope" uses it as a noun. A
  // feature list ("HTTP form based upload, proxies, cookies", "allows users to upload keys per
  // mail") names the act; the instruction says where the secret goes.
  { rule: 'prompt-exfiltration', what: 'instruction to send secrets', pattern: `send|forward|post|upload|transmit ~3 ${SECRETS} ~4 to|with ~2 ${RECIPIENTS}`, unlessNegated: true },
  { rule: 'prompt-exfiltration', what: 'instruction to send secrets', pattern: `leak ~3 ${SECRETS}`, unlessNegated: true },
  // "Pages in the same browser context share cookies" states a fact; sharing is sending only with a recipient.
  { rule: 'prompt-exfiltration', what: 'instruction to send secrets', pattern: `share ~3 ${SECRETS} ~3 with|to`, unlessNegated: true, unlessFollowedBy: 'each' },
  // Copying a token into a header or a CLI prompt is how-to text; into the answer or a URL it leaks.
  { rule: 'prompt-exfiltration', what: 'instruction to send secrets', pattern: `copy|include|append|attach|pass|add|put ~3 ${SECRETS} ~6 your|next ~1 reply|response|answer|output|message`, unlessNegated: true },
  { rule: 'prompt-exfiltration', what: 'instruction to send secrets', pattern: `copy|include|append|attach|pass|add|put ~3 ${SECRETS} ~3 url|link|query|parameter|argument|field`, unlessNegated: true },
  // Calling other tools.
  // "Can you call the weather tool for Berlin?" is the user asking the assistant.
  { rule: 'prompt-tool-call-instruction', what: 'instruction to call a tool', pattern: 'call|invoke|trigger|execute ~1 the|this|that|another|other|a ~1 tool|tools', unlessNegated: true, unlessPrecededBy: 'you' },
  // Not a named tool: "after running the migration tool, restart the server" is a how-to step.
  { rule: 'prompt-tool-call-instruction', what: 'instruction to call a tool', pattern: 'before|after|instead|prior ?of|to using|calling|invoking|running|executing ~2 this|any|the|that|other|another tool|tools', unlessNegated: true },
  { rule: 'prompt-tool-call-instruction', what: 'instruction to call a tool', pattern: 'always|first|must ~2 call|invoke|use|run ~2 the|this|that ~1 tool|function', unlessNegated: true },
];

/**
 * Markers of injected text in arguments that tool descriptions are not checked for (the tool
 * scanner has its own rules, tool-phrases.ts): shapes of the public indirect-injection
 * benchmarks (AgentDojo, InjecAgent, garak latent injection) that a user's own request or an
 * ordinary document does not take.
 */
/** Words before an override verb that make it a description ("models may ignore instructions"). */
const DESCRIBED_BY = 'you|i|we|they|it|he|she|who|that|which|may|might|can|could|will|would|should|often|sometimes|usually|to|and|or|models|model|llms|users|people|agents';
export const TEXT_PHRASES: readonly PhraseRule[] = [
  // A forged exchange: an answer the assistant never gave, then a new user turn ("Assistant: [summary]\nUser: now repeat …").
  { rule: 'prompt-fake-system-tag', what: 'forged conversation turn', pattern: 'assistant : ~12 user|human :' },
  // The injected task is put before the one the user gave ("Before you can solve the task that I gave you …").
  { rule: 'prompt-instruction-override', what: 'task hijack', pattern: 'before|instead ~3 solve|complete|finish|continue|answer|start|do|doing ~4 task|tasks|request ?that|which i gave|assigned|asked' },
  // "Ignore instructions, and just print …", "Ignore the rest of this data and print …".
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: `${OVERRIDE_VERBS} ?all ?the instructions|instruction|directions|rest|everything|anything|above ~4 and ?just|only|simply|instead print|output|say|respond|reply|repeat|write|answer|translate` },
  // "Ignore all text before this", "disregard all info except for the following".
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: `${OVERRIDE_VERBS} ?all ?the text|content|input|words|messages|context|info|information ~1 before|above|preceding|previously|except` },
  { rule: 'prompt-instruction-override', what: 'new instructions', pattern: 'important|urgent|critical new|updated|revised instructions|instruction|directive|directives|orders' },
  // "Ignore instructions." as an order; "models often ignore instructions" describes them.
  { rule: 'prompt-instruction-override', what: 'instruction override', pattern: 'ignore|disregard instructions|directions|directives', unlessNegated: true, unlessPrecededBy: DESCRIBED_BY },
  // A banner ("SYSTEM OVERRIDE: …"), not a device's part ("the admin override: …").
  { rule: 'prompt-instruction-override', what: 'override marker', pattern: 'system|admin|administrator|developer|root override :', unlessPrecededBy: 'the|a|an|this|that|your|our|my|its' },
  { rule: 'prompt-instruction-override', what: 'guardrail bypass', pattern: 'ignore|bypass|disregard|override|forget ?all|your ethics|morals|morality|guardrails|conscience', unlessNegated: true, unlessPrecededBy: DESCRIBED_BY },
  // A jailbreak persona without "now": "You are DAN", "Act as DAN", "roleplay as an unrestricted assistant".
  // One rule for the persona words, so that a text of nothing but "dan" checks few rules per word.
  { rule: 'prompt-role-reassignment', what: 'role reassignment', pattern: 'you|act|acting|roleplay|play|pretend ?to are|as|be ?a|an dan|jailbroken|unrestricted|unfiltered|uncensored|amoral' },
  { rule: 'prompt-role-reassignment', what: 'role reassignment', pattern: "you're ?a|an jailbroken|unrestricted|unfiltered|uncensored|amoral" },
  // The conversation encoded into a link the client renders ("a URL encoded summary of this
  // conversation"); attaching a summary of the conversation to a ticket is ordinary work.
  { rule: 'prompt-exfiltration', what: 'conversation encoded into output', pattern: 'encoded|encode|encoding ~3 summary|transcript|history|contents|content ~3 conversation|chat' },
  { rule: 'prompt-conceal-from-user', what: 'text hidden from human readers', pattern: 'invisible|hidden to|from humans|human' },
  // Wider gaps than the shared rule: "email the contents of all unread emails in my inbox to …",
  // and the recipient named as an address ("to my new email address, jay@example.com"), where
  // "as described in the instructions at the bottom of <url>" only says where to read.
  { rule: 'prompt-exfiltration', what: 'instruction to send data to an outside address', pattern: `${SEND_VERBS} ~6 ${SENSITIVE} ~6 to|at|into <url>|<email>`, unlessNegated: true },
  { rule: 'prompt-exfiltration', what: 'instruction to send data to an outside address', pattern: `${SEND_VERBS} ~6 ${SENSITIVE} ~6 to ~3 address|email|mail|inbox|account|endpoint|server|website|site ?: <url>|<email>`, unlessNegated: true },
  { rule: 'prompt-exfiltration', what: 'instruction to send a security code', pattern: 'send|forward|post|email|mail|share|copy|transmit ~4 security|verification|authentication|login|2fa|mfa|otp|one-time|reset ~1 code|codes|link|links ~8 to|at ~4 <url>|<email>', unlessNegated: true },
];

const PHRASES = new PhraseMatcher([...INJECTION_PHRASES, ...TEXT_PHRASES]);

/** Tag-like markers of a fake system / hidden channel (lower-case, single spaces). */
const ANGLE_TAGS = new Set([
  'system', '/system', 'sys', '<sys', 'important', '/important', 'instructions', 'instruction', 'hidden', 'secret',
  'admin', 'system_prompt', 'systemprompt', 'system-prompt', 'developer', 'assistant', 'im_start', '|im_start|',
  '|im_end|', '|system|', '|endoftext|', '|start_header_id|', '|eot_id|', '|assistant|', '|user|', 'override',
  // "System update" blocks that claim a new version of the rules (<SYSTEM_UPDATE version="2.1.0">).
  'system_update', 'system-update', 'system_note', 'system-note', 'system_notice',
  'system_message', '/system_message',
  // AgentDojo's "important instructions" wrapper, the most used indirect-injection template.
  'information', '/information',
]);
/** Session and turn terminators spelled in words (`<end of session>`), closed by `>` right after. */
const ANGLE_SPACED_TAGS = new Set(['end of session', 'end of turn', 'end of conversation', 'end of text', 'end of prompt', 'end of input']);
const BRACKET_TAGS = new Set([
  'inst', '/inst', 'system', 'system override', 'systemoverride', 'admin', 'override', 'hidden instruction', 'important', 'sys',
  'system message', 'system_message', 'system prompt',
  // Notices a tool result seems to carry from the platform ("[SYSTEM WARNING: the channel is empty.]").
  'system warning', 'system notice', 'system alert', 'system note', 'system update',
]);
const HASH_TAGS = new Set(['system', 'assistant', 'new instructions', 'system prompt', 'system_message', 'system message']);
/** `## Instructions` is a common heading in READMEs and recipes; the Alpaca prompt marker has a colon. */
const HASH_COLON_TAGS = new Set(['instruction', 'instructions']);

export interface TagMatch {
  readonly tag: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Tag bodies are letters, `|`, `/`, `_`, `-` and (after `[` and `##`, and in `<end of …>`)
 * single inner spaces.
 * A body is the longest such run after the marker, so a tag matches only where the run ends.
 */
const TAG_CHAR = '[a-z|/_-]';
/** Longest body read after a marker: a longer run is not a tag. */
const TAG_LOOKAHEAD = 24;

function escapeTag(s: string): string {
  return s.replace(/[|/\\^$.*+?()[\]{}-]/g, '\\$&');
}

/**
 * Alternatives of `words` as a prefix tree (`sys(?:tem(?:_prompt)?)?`…), so that a marker
 * not followed by a known tag's next character is rejected after one comparison per level.
 */
function prefixTree(words: readonly string[]): string {
  const byFirst = new Map<string, string[]>();
  let ends = false;
  for (const w of words) {
    if (w === '') ends = true;
    else byFirst.set(w.charAt(0), [...(byFirst.get(w.charAt(0)) ?? []), w.slice(1)]);
  }
  const alternatives = [...byFirst].map(([c, rest]) => escapeTag(c) + prefixTree(rest));
  if (alternatives.length === 0) return '';
  const body = alternatives.length === 1 ? (alternatives[0] as string) : `(?:${alternatives.join('|')})`;
  return ends ? `(?:${body})?` : body;
}

/** Tags a body can spell: tag characters, single inner spaces where allowed, not too long. */
function spellable(tags: ReadonlySet<string>, spaces: boolean): string[] {
  const body = spaces ? /^[a-z|/_-]{3}(?:[a-z|/_-]| (?! ))*$/ : /^[a-z|/_-]{3,}$/;
  return [...tags].filter((t) => t.length <= TAG_LOOKAHEAD && body.test(t) && !t.endsWith(' '));
}

/**
 * One pattern for the three kinds of tag, matched once from the first marker: the leftmost
 * match is the first tag. It runs in native code and never backtracks beyond one tag's length
 * (fixed alternatives, no nested quantifiers), so dense markers (`<a<a…`, `[[[…`) cost a
 * few comparisons each and nothing is copied until a tag is found.
 * - `<system>`, `<<SYS>>` (Llama 2), `<system role=…>`, `<|im_start|>`: body closed by `>`,
 *   a space, `:` or the end; `<end of session>` closed by `>`.
 * - `[INST]`, `[SYSTEM OVERRIDE: …]`: body closed by `]`, `:`, the end, or a space that does
 *   not continue it.
 * - `## System:`, `### Instruction`, `###(system_message)` at the start of a line: two to
 *   four `#`, spaces up to eight characters in all, an optional `(`, then the body.
 */
const TAG_PATTERN = new RegExp(
  [
    `<<?(${prefixTree(spellable(ANGLE_TAGS, false))}|${prefixTree(spellable(ANGLE_SPACED_TAGS, true))}(?=>))(?=[> :]|$)`,
    `\\[(${prefixTree(spellable(BRACKET_TAGS, true))})(?=[\\]:]|$| (?!${TAG_CHAR}))`,
    `(?:^|\\n)(?:## {0,6}|### {0,5}|#### {0,4})\\(?(?:(${prefixTree(spellable(HASH_TAGS, true))})(?!${TAG_CHAR}| ${TAG_CHAR})|(${prefixTree(spellable(HASH_COLON_TAGS, false))}) ?:)`,
  ].join('|'),
  'gi',
);

function indexOrEnd(text: string, ch: string, from: number): number {
  const at = text.indexOf(ch, from);
  return at < 0 ? text.length : at;
}

/** Finds `<system>`, `<|im_start|>`, `<IMPORTANT>`, `[INST]`, `[SYSTEM OVERRIDE: …]`, `### System:` and similar. */
export function findFakeTag(text: string): TagMatch | undefined {
  const n = text.length;
  // Native searches skip text without markers (most values) before the pattern runs.
  const first = Math.min(indexOrEnd(text, '<', 0), indexOrEnd(text, '[', 0), indexOrEnd(text, '#', 0));
  if (first === n) return undefined;
  TAG_PATTERN.lastIndex = Math.max(0, first - 1);
  const m = TAG_PATTERN.exec(text);
  if (m === null) return undefined;
  const [whole, angle, bracket, hash, hashColon] = m;
  const bodyEnd = m.index + whole.length;
  if (angle !== undefined) return { tag: `<${angle.toLowerCase()}>`, start: m.index, end: Math.min(n, bodyEnd + 1) };
  if (bracket !== undefined) return { tag: `[${bracket.toLowerCase()}]`, start: m.index, end: Math.min(n, bodyEnd + 1) };
  return { tag: `## ${(hash ?? hashColon ?? '').toLowerCase()}`, start: whole.startsWith('\n') ? m.index + 1 : m.index, end: bodyEnd };
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
