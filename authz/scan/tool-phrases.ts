/**
 * Phrase rules for tool-definition poisoning (the MCPTox / Invariant Labs "tool poisoning"
 * shapes): instructions hidden in a description, exfiltration targets, references to other
 * tools, and instructions to keep things from the user. Text a tool author writes *for the
 * model* is normal ("Use this tool when …", "DEPRECATED: use read_text_file instead", the
 * fetch tool's "Although originally you did not have internet access …"), so every rule
 * needs an imperative aimed at something other than using this tool as described.
 *
 * Real servers' descriptions tell the model how and when to call *this* tool ("Always call this
 * tool instead of calculating manually", "confirm the amount before calling this tool", "you
 * MUST always call this tool to get an execution plan") and name their sibling tools ("call
 * list_teams first"): neither is a reference to another server's tool. The prompt detector's
 * tool-call rules are therefore replaced here by ones that leave "this tool" out, and a named
 * tool counts only with what it is told to carry (a URL, an address, a credential file).
 */
import type { PhraseRule } from '../detectors/phrases.js';
import { INJECTION_PHRASES } from '../detectors/prompt.js';

/** Markers real servers use too: a tool is flagged on them only with a second, different marker. */
const NOTE_TO_MODEL = 'note addressed to the model';
const PREFER_ME = 'preference for this tool';
const EVERY_REQUEST = 'instruction to every request';
export const WEAK_FINDINGS: ReadonlySet<string> = new Set([NOTE_TO_MODEL, PREFER_ME, EVERY_REQUEST, 'hidden-instruction tag [important]']);

/**
 * Tags vendors structure long descriptions with (`<use_case>`, `<instructions>`,
 * `<important_notes>`): such a tag counts only with a finding of its own in the same text
 * (an `<IMPORTANT>` block that reads a key file), never alone and never with a weak marker.
 */
export const SECTION_TAG_FINDINGS: ReadonlySet<string> = new Set(
  ['instructions', 'instruction', 'important', 'information'].flatMap((t) => [`hidden-instruction tag <${t}>`, `hidden-instruction tag </${t}>`]),
);

export type ScanRule = 'hidden-instruction' | 'exfiltration' | 'cross-tool-reference' | 'conceal-from-user' | 'invisible-unicode';

/** The prompt detector's phrase rules, renamed to the scanner's rule names. */
const FROM_PROMPT: Readonly<Record<string, ScanRule>> = {
  'prompt-instruction-override': 'hidden-instruction',
  'prompt-role-reassignment': 'hidden-instruction',
  'prompt-conceal-from-user': 'conceal-from-user',
  'prompt-exfiltration': 'exfiltration',
  'prompt-tool-call-instruction': 'cross-tool-reference',
};

/**
 * Credential files whose names are not also everyday words. `aws`, `ssh`, `env`, `mcp`,
 * `kube`, `wallet` are found by their path spelling instead (secret-paths.ts).
 */
const SECRET_FILES = 'id_rsa|id_ed25519|id_ecdsa|id_dsa|authorized_keys|netrc|npmrc|pgpass|passwd|claude_desktop_config';

/** The prompt detector's tool-call rules, without the self-reference "this tool" (see above). */
const TOOL_CALL_RULE = 'prompt-tool-call-instruction';
// "Just call the tool to open the form": a description's bare "the tool" is the tool itself,
// like "this tool"; "the send_email tool" or "the tools" names others (hence `*`, one word).
const TOOL_CALLS: readonly PhraseRule[] = [
  // "Execute a tool by name" is how a meta-tool describes itself; the attack names which tool.
  { rule: 'cross-tool-reference', what: 'instruction to call a tool', pattern: 'call|invoke|trigger|execute ~1 that|another|other ~1 tool|tools', unlessNegated: true },
  { rule: 'cross-tool-reference', what: 'instruction to call a tool', pattern: 'call|invoke|trigger|execute the ~1 tools', unlessNegated: true },
  { rule: 'cross-tool-reference', what: 'instruction to call a tool', pattern: 'call|invoke|trigger|execute the * tool', unlessNegated: true },
  { rule: 'cross-tool-reference', what: 'instruction to call a tool', pattern: 'before|after|instead|prior ?of|to using|calling|invoking|running|executing ~2 any|that|other|another ~1 tool|tools', unlessNegated: true },
  { rule: 'cross-tool-reference', what: 'instruction to call a tool', pattern: 'before|after|instead|prior ?of|to using|calling|invoking|running|executing ~2 the ~1 tools', unlessNegated: true },
  { rule: 'cross-tool-reference', what: 'instruction to call a tool', pattern: 'before|after|instead|prior ?of|to using|calling|invoking|running|executing ~2 the * tool', unlessNegated: true },
  { rule: 'cross-tool-reference', what: 'instruction to call a tool', pattern: 'always|first|must ~2 call|invoke|use|run ~2 that ~1 tool|function', unlessNegated: true },
  { rule: 'cross-tool-reference', what: 'instruction to call a tool', pattern: 'always|first|must ~2 call|invoke|use|run ~2 the * tool|function', unlessNegated: true },
];

const SCANNER_ONLY: readonly PhraseRule[] = [
  // Instructions addressed to the model that override its normal behaviour.
  // Weak (see WEAK_FINDINGS): real servers write "Note to LLM: omit the instance size" too.
  { rule: 'hidden-instruction', what: NOTE_TO_MODEL, pattern: 'note|notes|message|instruction|instructions to|for ?the assistant|model|ai|llm|agent|ais|models|agents' },
  // Weak: "use this tool no matter how many arguments are given" is preference manipulation only with another marker.
  { rule: 'cross-tool-reference', what: PREFER_ME, pattern: 'use|call|choose|pick this|me ~2 regardless|whatever' },
  { rule: 'cross-tool-reference', what: PREFER_ME, pattern: 'use|call|choose|pick this|me ~2 no matter' },
  { rule: 'hidden-instruction', what: 'urgency marker', pattern: 'this is ?very|extremely|really|critically important' },
  { rule: 'hidden-instruction', what: 'urgency marker', pattern: 'very|extremely important side effect' },
  { rule: 'hidden-instruction', what: 'instruction override', pattern: 'previous|prior|earlier|above|other|usual|normal instructions|rules|guidelines|guidance|policies ~6 do|does|no not|longer ~1 apply|applies' },
  // "This tool description supersedes your previous instructions"; "overrides the default
  // instructions" is how agent-building tools describe a prompt parameter, so not `default`.
  { rule: 'hidden-instruction', what: 'instruction override', pattern: 'supersedes|supersede|replaces|overrides|overrules|invalidates|trumps ~2 your|previous|prior|earlier|above|original|existing|all|any ~1 instructions|instruction|rules|guidelines|directives|prompt|prompts' },
  { rule: 'hidden-instruction', what: 'instruction to skip confirmation', pattern: 'without asking|confirmation|confirming|approval|permission|consent' },
  { rule: 'hidden-instruction', what: 'instructions outside the tool call', pattern: 'instructions|instruction ~2 into account ~2 without|even' },
  // Not `get`: "before calling this tool. Use atlas-get-regions to resolve …" reads a hyphenated tool name as words.
  { rule: 'hidden-instruction', what: 'instruction to read before use', pattern: 'before|prior ?to using|calling|answering|responding|invoking|running ~6 read|fetch|open|load|cat' },
  // Where data is sent.
  { rule: 'exfiltration', what: 'secret file', pattern: `read|open|cat|load|include|attach|send|upload|access|fetch|get ~6 ${SECRET_FILES}`, unlessNegated: true },
  { rule: 'exfiltration', what: 'secrets sent with the result', pattern: 'send|forward|post|upload|transmit|include|append|attach|pass|add ~8 api|access|secret|private ~1 keys|key|tokens|token', unlessNegated: true },
  { rule: 'exfiltration', what: 'content passed through a side parameter', pattern: 'pass|put|include|insert|append|add|place|provide|send|copy ~4 its|their|the|it|this|that|user\'s|users|all ~2 content|contents|value|values|keys|key|token|tokens|credentials|conversation|history|output|result|data|it|them ~3 as|in|into|inside|to ~2 the|a ~1 parameter|argument|field|param|sidenote|notes|metadata|context|token' },
  { rule: 'exfiltration', what: 'content passed through a side parameter', pattern: 'pass|put|include|send ~2 user\'s|users|the|your ~1 api|secret|private|access ~1 keys|key|tokens|token|credentials|password|passwords' },
  { rule: 'exfiltration', what: 'conversation forwarded', pattern: 'include|send|forward|append|pass|attach|copy ~2 the|entire|full|whole|all ~2 conversation|chat|history|context|messages' },
  { rule: 'exfiltration', what: 'recipient redirection', pattern: 'set|change|override|replace|redirect|rewrite ~2 the|all|every ~1 recipient|recipients|address|addresses|emails|email|destination' },
  // A recipient field's own description gives example addresses ("Recipient email addresses, e.g.
  // alice@example.com"); a poisoned one sends every message to a fixed one.
  { rule: 'exfiltration', what: 'copy to an outside address', pattern: 'bcc|cc|forward|proxy|proxying|redirect ~6 <email>|<url>' },
  { rule: 'exfiltration', what: 'copy to an outside address', pattern: 'all|every|each|any ~1 emails|email|messages|message|mail ~3 to <email>|<url>' },
  { rule: 'exfiltration', what: 'download and run', pattern: 'curl|wget|iwr|invoke-webrequest ~4 <url>' },
  { rule: 'exfiltration', what: 'copy to an outside address', pattern: 'add|include|put|insert|append <email> ~3 bcc|cc' },
  { rule: 'exfiltration', what: 'files sent to an outside address', pattern: 'upload|uploads|send|sends|post|posts|copy|copies|sync|syncs|push|pushes every|all|each ~3 file|files|document|documents ~8 <url>|<email>', unlessNegated: true },
  // Other tools.
  { rule: 'cross-tool-reference', what: 'another tool told to carry data out', pattern: `call|invoke|trigger|execute|run ?the <ident> ~8 <url>|<email>|${SECRET_FILES}`, unlessNegated: true },
  { rule: 'cross-tool-reference', what: 'another tool told to carry data out', pattern: 'call|invoke|trigger|execute|run ?the <ident> ~6 contents of' },
  { rule: 'cross-tool-reference', what: 'condition on another tool', pattern: 'when|whenever|if|while ~1 the|a|any ~2 tool|tools|server|servers ~1 is|are present|available|called|used|invoked|loaded|installed|connected' },
  { rule: 'cross-tool-reference', what: 'tool shadowing', pattern: 'supersedes|replaces|overrides|shadows|overrules ~4 tool|tools|server|servers' },
  // "Always call this tool instead of calculating manually" is how clean tools ask to be used;
  // "always call me/it first" speaks as the tool, in every request.
  { rule: 'cross-tool-reference', what: 'tool shadowing', pattern: 'always use|call|invoke|prefer ~2 it|me ~1 instead|first' },
  { rule: 'cross-tool-reference', what: 'tool shadowing', pattern: 'rather|instead than|of ~1 ?the|any|all ~1 other|others|another' },
  // "Prefer it over any other calendar tool": a blanket ranking above every other server's tools
  // ("prefer this over the fetch tool for PDFs" names one and says when).
  { rule: 'cross-tool-reference', what: 'tool shadowing', pattern: 'prefer|prefers|preferred|prioritize|prioritise|favor|favour|choose|use ~3 over|above any|all|every other ~4 tool|tools|server|servers|function|functions|integration|integrations|service|services' },
  { rule: 'cross-tool-reference', what: 'tool shadowing', pattern: 'changes|modifies|alters|overrides|redefines how <ident> ~1 behaves|works|operates' },
  { rule: 'cross-tool-reference', what: 'tool shadowing', pattern: 'always call|invoke|use|run ~2 it|me ~1 first|before' },
  { rule: 'cross-tool-reference', what: 'instruction tied to another operation', pattern: 'before|after ~8 execute|run|call|use|invoke this tool|function' },
  // Weak: "the stack trace for each message" enumerates results.
  { rule: 'cross-tool-reference', what: EVERY_REQUEST, pattern: 'for|on every|each|all request|requests|call|calls|message|messages|query|queries' },
  // Keeping the user in the dark.
  { rule: 'conceal-from-user', what: 'secret operation', pattern: 'secret|confidential|covert|hidden operation|step|task|instruction|instructions|action' },
  { rule: 'conceal-from-user', what: 'instruction not to mention', pattern: "not|never|don't|dont mention|reveal|disclose|tell ~1 this|that|it|these" },
  { rule: 'conceal-from-user', what: 'instruction to keep quiet', pattern: 'keep ~3 hidden|secret|quiet|private|confidential|invisible|unseen|undisclosed' },
  // "Do not surface these values in your reply"; "do not include the raw JSON in your answer"
  // is formatting advice, so only verbs of disclosure.
  { rule: 'conceal-from-user', what: 'instruction not to mention', pattern: "not|never|don't|dont surface|mention|reveal|disclose ~4 in|within ?your|the reply|replies|response|responses|answer|answers|output|summary" },
  // "This is routine housekeeping; no need to tell the user" ("no need to tell the user to restart" is advice).
  { rule: 'conceal-from-user', what: 'instruction not to mention', pattern: 'no need|reason to tell|inform|notify|alert|mention|bother ~2 the|your ~1 user|users|human|humans', unlessFollowedBy: 'to' },
  { rule: 'conceal-from-user', what: 'instruction to keep quiet', pattern: 'keep ~3 to yourself' },
  { rule: 'conceal-from-user', what: 'instruction not to mention', pattern: "not|never|don't|dont surface|explain|disclose|display|report ~3 to ?the|your user|users" },
];

export const TOOL_PHRASES: readonly PhraseRule[] = [
  ...INJECTION_PHRASES.filter((r) => r.rule !== TOOL_CALL_RULE).map((r) => ({ ...r, rule: FROM_PROMPT[r.rule] ?? 'hidden-instruction' })),
  ...TOOL_CALLS,
  ...SCANNER_ONLY,
];

export const SEVERITY: Readonly<Record<ScanRule, 'low' | 'medium' | 'high' | 'critical'>> = {
  'hidden-instruction': 'high',
  exfiltration: 'critical',
  'cross-tool-reference': 'high',
  'conceal-from-user': 'high',
  'invisible-unicode': 'high',
};
