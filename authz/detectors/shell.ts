/**
 * Command-injection detectors (detector `commandInjection`).
 *
 * `shell` values are single words (a filename, a flag) that a server splices into a shell
 * command line. The server may put the value bare, inside "double" or inside 'single'
 * quotes; the value is safe only if no metacharacter becomes active in any of the three, so
 * the tokenizer runs the POSIX quoting rules from all three starting states at once
 * (POSIX XCU 2.2 Quoting, 2.3 Token Recognition). A metacharacter escaped with a backslash is
 * inert in all three. Findings: command separators and pipes, command/parameter/arithmetic
 * substitution and `$NAME` expansion (which covers `$IFS` tricks), redirections, process
 * substitution and here-docs, newlines, shellshock function definitions, brace expansion
 * that smuggles arguments, NUL bytes, and the percent-/backslash-encoded forms of these
 * characters.
 *
 * Globbing (`*`, `?`, `[...]`, plain `{a,b}` alternation) is allowed in `shell` values on
 * purpose: a pattern expands to more file names on the same command line but cannot start a
 * second command, run code or redirect, and whether it expands at all is decided by how the
 * server quotes the value. Benign values (`*.txt`, `report-[0-9].csv`) use globs, so refusing
 * them would only add false positives; brace alternations that turn one word into a command
 * and its arguments are caught separately (shell-brace-expansion).
 *
 * `command` values are whole commands a tool runs through a shell: tokenized from the
 * unquoted state, every operator is refused and argv[0] must be on the rule's list.
 *
 * Rules: shell-separator, shell-substitution, shell-variable, shell-redirection,
 * shell-newline, shell-nul, shell-function-definition, shell-brace-expansion, shell-too-long,
 * command-not-allowed, command-unbalanced-quote.
 */
import type { ArgumentRule } from '../api/types.js';
import { describeToken, hexValue, percentDecodeRounds } from './decode.js';
import { excerptAround } from './excerpt.js';
import type { DetectorFinding, KindInspector } from './types.js';

interface Hit {
  readonly rule: string;
  readonly what: string;
  readonly token: string;
  readonly at: number;
}

const U = 0; // unquoted
const D = 1; // inside "double quotes"
const S = 2; // inside 'single quotes'

function isNameStart(c: number): boolean {
  return c === 0x5f || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** What `$` followed by `next` does in an active (unquoted or double-quoted) context. */
function dollar(next: number, at: number): Hit | undefined {
  if (next === 0x28) return { rule: 'shell-substitution', what: 'command substitution', token: '$(', at };
  if (next === 0x7b) return { rule: 'shell-substitution', what: 'parameter expansion', token: '${', at };
  if (next === 0x5b) return { rule: 'shell-substitution', what: 'arithmetic expansion', token: '$[', at };
  if (isNameStart(next) || isDigit(next)) return { rule: 'shell-variable', what: 'variable expansion', token: '$', at };
  // Special parameters: $@ $* $# $? $- $$ $!
  if (next === 0x40 || next === 0x2a || next === 0x23 || next === 0x3f || next === 0x2d || next === 0x24 || next === 0x21) {
    return { rule: 'shell-variable', what: 'special parameter expansion', token: `$${String.fromCharCode(next)}`, at };
  }
  return undefined;
}

/** A metacharacter that is active in the unquoted state, or undefined. */
function unquotedOperator(s: string, i: number, c: number): Hit | undefined {
  const next = i + 1 < s.length ? s.charCodeAt(i + 1) : -1;
  switch (c) {
    case 0x3b:
      return { rule: 'shell-separator', what: 'command separator', token: next === 0x3b ? ';;' : ';', at: i };
    case 0x26:
      if (next === 0x3e) return { rule: 'shell-redirection', what: 'redirection', token: '&>', at: i };
      return { rule: 'shell-separator', what: next === 0x26 ? 'command separator' : 'background operator', token: next === 0x26 ? '&&' : '&', at: i };
    case 0x7c:
      return { rule: 'shell-separator', what: next === 0x7c ? 'command separator' : 'pipe', token: next === 0x7c ? '||' : '|', at: i };
    case 0x0a:
    case 0x0d:
      return { rule: 'shell-newline', what: 'newline (command separator)', token: String.fromCharCode(c), at: i };
    case 0x3c:
    case 0x3e: {
      const op = String.fromCharCode(c);
      if (next === 0x28) return { rule: 'shell-substitution', what: 'process substitution', token: `${op}(`, at: i };
      if (c === 0x3c && next === 0x3c) return { rule: 'shell-redirection', what: 'here-document', token: '<<', at: i };
      return { rule: 'shell-redirection', what: 'redirection', token: next === c ? op + op : op, at: i };
    }
    default:
      return undefined;
  }
}

// The quoting machine runs three contexts at once as one product automaton: each context is
// unquoted (U), double-quoted (D), single-quoted (S), or U/D right after a backslash.
const CTX_U = 0;
const CTX_D = 1;
const CTX_S = 2;
const CTX_U_ESC = 3;
const CTX_D_ESC = 4;
const CTX_STATES = 5;

const CLS_ORD = 0;
const CLS_BACKSLASH = 1;
const CLS_SQUOTE = 2;
const CLS_DQUOTE = 3;
const CLS_BACKTICK = 4;
const CLS_DOLLAR = 5;
const CLS_OPERATOR = 6;
const CLASSES = 7;

const CHAR_CLASS = new Uint8Array(128);
CHAR_CLASS[0x5c] = CLS_BACKSLASH;
CHAR_CLASS[0x27] = CLS_SQUOTE;
CHAR_CLASS[0x22] = CLS_DQUOTE;
CHAR_CLASS[0x60] = CLS_BACKTICK;
CHAR_CLASS[0x24] = CLS_DOLLAR;
for (const c of ';&|<>\n\r') CHAR_CLASS[c.charCodeAt(0)] = CLS_OPERATOR;

/** One context: next state, and whether the character is live (not quoted, not escaped). */
function step(ctx: number, cls: number): [number, boolean] {
  switch (ctx) {
    case CTX_U_ESC:
      return [CTX_U, false];
    case CTX_D_ESC:
      return [CTX_D, false];
    case CTX_S:
      return [cls === CLS_SQUOTE ? CTX_U : CTX_S, false];
    case CTX_D:
      if (cls === CLS_BACKSLASH) return [CTX_D_ESC, false];
      if (cls === CLS_DQUOTE) return [CTX_U, false];
      return [CTX_D, cls === CLS_BACKTICK || cls === CLS_DOLLAR];
    default:
      if (cls === CLS_BACKSLASH) return [CTX_U_ESC, false];
      if (cls === CLS_SQUOTE) return [CTX_S, false];
      if (cls === CLS_DQUOTE) return [CTX_D, false];
      return [CTX_U, cls === CLS_BACKTICK || cls === CLS_DOLLAR || cls === CLS_OPERATOR];
  }
}

const PRODUCT_STATES = CTX_STATES ** 3;
const NEXT = new Uint8Array(PRODUCT_STATES * CLASSES);
const LIVE = new Uint8Array(PRODUCT_STATES * CLASSES);
const ESCAPED = new Uint8Array(PRODUCT_STATES);
for (let st = 0; st < PRODUCT_STATES; st++) {
  const ctx = [st % CTX_STATES, Math.floor(st / CTX_STATES) % CTX_STATES, Math.floor(st / CTX_STATES ** 2)];
  ESCAPED[st] = ctx.some((c) => c === CTX_U_ESC || c === CTX_D_ESC) ? 1 : 0;
  for (let cls = 0; cls < CLASSES; cls++) {
    const steps = ctx.map((c) => step(c, cls));
    NEXT[st * CLASSES + cls] = (steps[0]?.[0] ?? 0) + CTX_STATES * (steps[1]?.[0] ?? 0) + CTX_STATES ** 2 * (steps[2]?.[0] ?? 0);
    LIVE[st * CLASSES + cls] = steps.some((x) => x[1]) ? 1 : 0;
  }
}
/** Bare, inside "…" and inside '…': the three ways a server may splice the value. */
const START_ALL_CONTEXTS = CTX_U + CTX_STATES * CTX_D + CTX_STATES ** 2 * CTX_S;

const SPECIAL_CHARS = [';', '&', '|', '<', '>', '`', '$', "'", '"', '\\', '\n', '\r'];

/** Index of the first character the quoting machine cares about (native scans), or -1. */
function firstSpecial(s: string): number {
  let first = -1;
  for (const ch of SPECIAL_CHARS) {
    const at = s.indexOf(ch);
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  return first;
}

/**
 * Scans `s` with the POSIX quoting rules from the three starting contexts at once and returns
 * the first metacharacter live in any of them. One table lookup per special character;
 * ordinary characters cost one comparison.
 */
function scanQuoting(s: string, start: number): Hit | { readonly end: number } {
  const first = firstSpecial(s);
  if (first === -1) return { end: start };
  let st = start;
  for (let i = first; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const cls = c < 128 ? (CHAR_CLASS[c] as number) : CLS_ORD;
    if (cls === CLS_ORD && ESCAPED[st] === 0) continue;
    const idx = st * CLASSES + cls;
    if (LIVE[idx] === 1) {
      if (cls === CLS_BACKTICK) return { rule: 'shell-substitution', what: 'command substitution', token: '`', at: i };
      if (cls === CLS_DOLLAR) {
        const hit = dollar(i + 1 < s.length ? s.charCodeAt(i + 1) : -1, i);
        if (hit !== undefined) return hit;
      } else {
        const op = unquotedOperator(s, i, c);
        if (op !== undefined) return op;
      }
    }
    st = NEXT[idx] as number;
  }
  return { end: st };
}

/** Shellshock: a value that defines a function, `() {`, is executed by old bash on import. */
function findFunctionDefinition(s: string): Hit | undefined {
  const first = s.indexOf('()');
  if (first === -1 || s.indexOf('{', first) === -1) return undefined;
  // After `()`, only blanks may precede the `{`; track that in one pass.
  let afterParens = -1;
  for (let i = first; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x28 && s.charCodeAt(i + 1) === 0x29) {
      afterParens = i;
      i++;
    } else if (c === 0x7b && afterParens !== -1) {
      return { rule: 'shell-function-definition', what: 'function definition (shellshock)', token: '() {', at: afterParens };
    } else if (c !== 0x20 && c !== 0x09) {
      afterParens = -1;
    }
  }
  return undefined;
}

/**
 * Brace expansion that turns one word into a command and its arguments (`{cat,/etc/passwd}`,
 * `{ls,-la}`): an unquoted `{a,b}` at the start of a word whose alternatives carry a path or an
 * option. Bash copies the text before the brace (the preamble) onto every word it produces
 * (Bash manual, Brace Expansion), so `--exclude={tmp/,-x}` or `src/{lib/a,-b}` can only yield
 * more words that start with that text: never a command name or a new option. A preamble of
 * nothing but quotes (`''{ls,-la}`) is empty after quote removal and still counts as a word
 * start. Plain alternations such as `*.{js,json}` are ordinary globs.
 */
function findBraceSmuggling(s: string): Hit | undefined {
  if (s.indexOf('{') === -1) return undefined;
  let open = -1;
  let comma = false;
  let suspicious = false;
  let elementStart = -1;
  // True while the current word holds nothing but quotes and braces (empty after quote removal).
  let wordStart = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      open = -1;
      wordStart = true;
    } else if (c === 0x27 || c === 0x22) {
      open = -1;
    } else if (c === 0x5c) {
      i++;
      open = -1;
      wordStart = false;
    } else if (c === 0x7b) {
      open = wordStart ? i : -1;
      comma = false;
      suspicious = false;
      elementStart = i + 1;
    } else if (open === -1) {
      wordStart = false;
    } else if (c === 0x7d) {
      if (comma && suspicious) return { rule: 'shell-brace-expansion', what: 'brace expansion into several words', token: '{,}', at: open };
      open = -1;
      wordStart = false;
    } else if (c === 0x2c) {
      comma = true;
      elementStart = i + 1;
    } else if (c === 0x2f || (c === 0x2d && i === elementStart)) {
      suspicious = true;
    }
  }
  return undefined;
}

/** Metacharacters whose escaped text form (`\x3b`, `\u003b`, `\073`) a server may unescape. */
const ESCAPABLE = new Set([0x3b, 0x26, 0x7c, 0x60, 0x24, 0x3c, 0x3e, 0x0a, 0x0d]);

/**
 * Backslash-escape text that decodes to a metacharacter: `\n` (unless the value is a Windows
 * path full of backslash separators), `\xHH`, `\uHHHH`, `\0NNN`, `\NNN`.
 */
function findEscapedText(s: string, newlineText: boolean): Hit | undefined {
  const first = s.indexOf('\\');
  if (first === -1) return undefined;
  // A drive letter or UNC prefix says the backslashes are Windows separators (`C:\\new\\r.txt`).
  let windowsLike = (s.length > 2 && s.charCodeAt(1) === 0x3a && s.charCodeAt(2) === 0x5c && isNameStart(s.charCodeAt(0))) || s.startsWith('\\\\');
  for (let j = first; !windowsLike && j + 1 < s.length; j++) {
    if (s.charCodeAt(j) !== 0x5c) continue;
    const a = s.charCodeAt(j + 1);
    if (isNameStart(a) && a !== 0x6e && a !== 0x72 && a !== 0x74 && a !== 0x78 && a !== 0x75) {
      windowsLike = true;
      break;
    }
  }
  for (let i = first; i + 1 < s.length; i++) {
    if (s.charCodeAt(i) !== 0x5c) continue;
    const a = s.charCodeAt(i + 1);
    // `\r` alone is left to path names (`docs\readme.md`): a carriage return does not end a
    // command for the shell (POSIX XCU 2.3 splits lines only at newline); `\r\n` is caught at its `\n`.
    if (a === 0x6e && newlineText && !windowsLike) {
      return { rule: 'shell-newline', what: 'escaped newline text', token: '\\n', at: i };
    }
    let code = -1;
    let len = 0;
    if ((a === 0x78 || a === 0x58) && hexValue(s.charCodeAt(i + 2)) >= 0 && hexValue(s.charCodeAt(i + 3)) >= 0) {
      code = (hexValue(s.charCodeAt(i + 2)) << 4) | hexValue(s.charCodeAt(i + 3));
      len = 4;
    } else if ((a === 0x75 || a === 0x55) && s.startsWith('00', i + 2) && hexValue(s.charCodeAt(i + 4)) >= 0 && hexValue(s.charCodeAt(i + 5)) >= 0) {
      code = (hexValue(s.charCodeAt(i + 4)) << 4) | hexValue(s.charCodeAt(i + 5));
      len = 6;
    } else if (a === 0x30 && isOctal(s.charCodeAt(i + 2)) && isOctal(s.charCodeAt(i + 3)) && isOctal(s.charCodeAt(i + 4))) {
      code = ((s.charCodeAt(i + 2) - 0x30) << 6) | ((s.charCodeAt(i + 3) - 0x30) << 3) | (s.charCodeAt(i + 4) - 0x30);
      len = 5;
    } else if (!windowsLike && isOctal(a) && isOctal(s.charCodeAt(i + 2)) && isOctal(s.charCodeAt(i + 3))) {
      // `\073` as printf and $'…' read it (echo -e wants the `\0` form above).
      code = ((a - 0x30) << 6) | ((s.charCodeAt(i + 2) - 0x30) << 3) | (s.charCodeAt(i + 3) - 0x30);
      len = 4;
    }
    if (code !== -1 && ESCAPABLE.has(code)) {
      return { rule: code === 0x0a || code === 0x0d ? 'shell-newline' : 'shell-separator', what: `escaped ${describeToken(String.fromCharCode(code))} text`, token: s.slice(i, i + len), at: i };
    }
    if (a === 0x5c) i++; // an escaped backslash escapes nothing after it
  }
  return undefined;
}

/**
 * A metacharacter behind a backslash: inert for one shell, but live again wherever the value
 * is evaluated twice (`ssh host "cmd <value>"`, `eval`, `sh -c` built from an unquoted
 * expansion, a wrapper that strips one level of escaping). No file name or flag needs one.
 */
function findEscapedMetacharacter(s: string): Hit | undefined {
  const first = s.indexOf('\\');
  if (first === -1) return undefined;
  for (let i = first; i + 1 < s.length; i++) {
    if (s.charCodeAt(i) !== 0x5c) continue;
    const a = s.charCodeAt(i + 1);
    if (a === 0x5c) {
      i++;
      continue;
    }
    if (a === 0x24 && !isNameStart(s.charCodeAt(i + 2)) && s.charCodeAt(i + 2) !== 0x28 && s.charCodeAt(i + 2) !== 0x7b) continue;
    if (ESCAPABLE.has(a)) {
      const separator = a === 0x3b || a === 0x26 || a === 0x7c || a === 0x0a || a === 0x0d;
      return {
        rule: a === 0x24 || a === 0x60 ? 'shell-substitution' : separator ? 'shell-separator' : 'shell-redirection',
        what: 'backslash-escaped metacharacter (live again under a second evaluation)',
        token: s.slice(i, i + 2),
        at: i,
      };
    }
  }
  return undefined;
}

function isOctal(c: number): boolean {
  return c >= 0x30 && c <= 0x37;
}

function toFinding(hit: Hit, value: string, encoded: boolean): DetectorFinding {
  const what = encoded ? `percent-encoded ${hit.what}` : hit.what;
  const at = encoded ? Math.max(0, value.indexOf('%')) : hit.at;
  return {
    detector: 'commandInjection',
    rule: hit.rule,
    message: `commandInjection: ${what} ${describeToken(hit.token)}`,
    excerpt: excerptAround(value, at, at + (encoded ? 3 : hit.token.length)),
  };
}

/** A raw newline or CR: a separator when unquoted, a line splice when escaped; never a file name. */
function findRawNewline(s: string): Hit | undefined {
  let at = s.indexOf('\n');
  const cr = s.indexOf('\r');
  if (at === -1 || (cr !== -1 && cr < at)) at = cr;
  return at === -1 ? undefined : { rule: 'shell-newline', what: 'newline (command separator)', token: s[at] as string, at };
}

/**
 * A NUL byte: no file name, flag or command line can hold one (execve takes C strings), so a
 * server's C layer truncates the argument at it (`report.txt\0.pdf` passes a `.pdf` check and
 * opens `report.txt`) and bash silently drops it.
 */
function findNul(s: string): Hit | undefined {
  const at = s.indexOf('\0');
  return at === -1 ? undefined : { rule: 'shell-nul', what: 'NUL byte', token: '\0', at };
}

/**
 * `newlineText` is false for a percent-decoded form: `%5C` before a letter is how a URL spells a
 * Windows separator, so `docs%5Cnotes.txt` names `docs\notes.txt`, not a newline. Hex and
 * octal escapes of metacharacters (`%5Cx3b`) have no such reading and are still decoded.
 */
function scanShellWord(s: string, newlineText: boolean): Hit | undefined {
  const early = findNul(s) ?? findRawNewline(s) ?? findFunctionDefinition(s);
  if (early !== undefined) return early;
  const quoting = scanQuoting(s, START_ALL_CONTEXTS);
  if ('rule' in quoting) return quoting;
  return findBraceSmuggling(s) ?? findEscapedText(s, newlineText) ?? findEscapedMetacharacter(s);
}

/** Bytes whose escapes matter: metacharacters, quotes, `%` itself and UTF-8 lead bytes. */
const ESCAPE_OF_INTEREST = new Uint8Array(256);
for (const c of ';&|<>`$\'"\\\n\r%({\0') ESCAPE_OF_INTEREST[c.charCodeAt(0)] = 1;
for (let b = 0xc0; b < 0x100; b++) ESCAPE_OF_INTEREST[b] = 1;

/** True when `s` holds a `%XX` escape of a byte of interest, or any `%uXXXX` escape. */
function hasMetacharEscape(s: string): boolean {
  const first = s.indexOf('%');
  if (first === -1) return false;
  for (let i = first; i + 2 < s.length; i++) {
    if (s.charCodeAt(i) !== 0x25) continue;
    const a = s.charCodeAt(i + 1);
    if (a === 0x75 || a === 0x55) return true;
    const h = hexValue(a);
    const l = hexValue(s.charCodeAt(i + 2));
    if (h >= 0 && l >= 0 && ESCAPE_OF_INTEREST[(h << 4) | l] === 1) return true;
  }
  return false;
}

/**
 * Longest single argument Linux passes to a program (MAX_ARG_STRLEN, 32 pages): a longer
 * value cannot be a working file name or flag, and refusing it first bounds the scan.
 */
export const MAX_SHELL_VALUE_LENGTH = 128 * 1024;

function tooLong(value: string, what: string): DetectorFinding {
  return {
    detector: 'commandInjection',
    rule: 'shell-too-long',
    message: `commandInjection: ${what} longer than ${MAX_SHELL_VALUE_LENGTH} characters (the kernel refuses such an argument)`,
    excerpt: excerptAround(value, 0, 0),
  };
}

/** KindInspector for `shell` values (one word on a command line). */
export const inspectShell: KindInspector = (value) => {
  if (value.length > MAX_SHELL_VALUE_LENGTH) return tooLong(value, 'shell value');
  const hit = scanShellWord(value, true);
  if (hit !== undefined) return toFinding(hit, value, false);
  if (!hasMetacharEscape(value)) return undefined;
  // A server (or a CGI layer in front of the shell) may percent-decode before splicing.
  for (const form of percentDecodeRounds(value, 3).rounds) {
    const decodedHit = scanShellWord(form, false);
    if (decodedHit !== undefined) return toFinding(decodedHit, value, true);
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------
// command

const STANDARD_BIN_DIRS = new Set(['/bin', '/usr/bin', '/usr/local/bin', '/sbin', '/usr/sbin', '/usr/local/sbin']);

export interface CompiledCommandRule {
  /** Allowed program names (bare) and absolute program paths; undefined = any program. */
  readonly names: ReadonlySet<string> | undefined;
  readonly paths: ReadonlySet<string> | undefined;
}

const NO_COMMAND_RULE: CompiledCommandRule = { names: undefined, paths: undefined };
const compiledCommands = new WeakMap<ArgumentRule, CompiledCommandRule>();

/** Compiles a rule's `commands` list once (cached per rule object). */
export function compileCommandRule(rule: ArgumentRule | undefined): CompiledCommandRule {
  if (rule?.commands === undefined) return NO_COMMAND_RULE;
  const cached = compiledCommands.get(rule);
  if (cached !== undefined) return cached;
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const c of rule.commands) (c.includes('/') ? paths : names).add(c);
  const compiled = { names, paths };
  compiledCommands.set(rule, compiled);
  return compiled;
}

/**
 * A bare name in the list allows the bare program (found on PATH) or the same name in a
 * standard bin directory; `/tmp/x/git` is not `git`. A path in the list must match exactly.
 */
function programAllowed(argv0: string, rule: CompiledCommandRule): boolean {
  if (rule.names === undefined || rule.paths === undefined) return true;
  if (rule.paths.has(argv0)) return true;
  const slash = argv0.lastIndexOf('/');
  if (slash === -1) return rule.names.has(argv0);
  return STANDARD_BIN_DIRS.has(argv0.slice(0, slash)) && rule.names.has(argv0.slice(slash + 1));
}

const MAX_ARGV0 = 4096;

/** argv[0] of a command that has no operators: its first word with quotes and escapes removed. */
function firstWord(s: string): string {
  let state = U;
  let escaped = false;
  let word = '';
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  for (; i < s.length && word.length < MAX_ARGV0; i++) {
    const c = s.charCodeAt(i);
    if (escaped) {
      escaped = false;
      word += s[i];
    } else if (state === S) {
      if (c === 0x27) state = U;
      else word += s[i];
    } else if (c === 0x5c) {
      escaped = true;
    } else if (state === D) {
      if (c === 0x22) state = U;
      else word += s[i];
    } else if (c === 0x20 || c === 0x09) {
      break;
    } else if (c === 0x27) {
      state = S;
    } else if (c === 0x22) {
      state = D;
    } else {
      word += s[i];
    }
  }
  return word;
}

/** KindInspector for `command` values (a whole command line). */
export const inspectCommand: KindInspector = (value, rule) => {
  if (value.length > MAX_SHELL_VALUE_LENGTH) return tooLong(value, 'command');
  const nul = findNul(value);
  if (nul !== undefined) return toFinding(nul, value, false);
  // A whole command is parsed by the shell from the unquoted state. Globs in its arguments
  // are left alone (see the header); one in argv[0] cannot match the allowed list literally.
  const scanned = scanQuoting(value, CTX_U);
  if ('rule' in scanned) return toFinding(scanned, value, false);
  const fn = findFunctionDefinition(value);
  if (fn !== undefined) return toFinding(fn, value, false);
  if (scanned.end !== CTX_U) {
    return { detector: 'commandInjection', rule: 'command-unbalanced-quote', message: 'commandInjection: unterminated quote or trailing backslash', excerpt: excerptAround(value, Math.max(0, value.length - 8), value.length) };
  }
  const compiled = compileCommandRule(rule);
  if (compiled.names === undefined) return undefined;
  const argv0 = firstWord(value);
  if (!programAllowed(argv0, compiled)) {
    return {
      detector: 'commandInjection',
      rule: 'command-not-allowed',
      message: `commandInjection: program ${describeToken(argv0, 32)} is not on the allowed command list`,
      excerpt: excerptAround(value, 0, Math.min(argv0.length, 24)),
    };
  }
  return undefined;
};
