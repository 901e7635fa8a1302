/**
 * Path detector (kind `path`): traversal and escapes from allowed roots, in every spelling a
 * lax file server may decode — bounded repeated percent-decoding, overlong UTF-8, `%uXXXX`,
 * Unicode look-alikes of `.` `/` `\`, `0x2e`-style hex text, backslash separators, path
 * parameters (`..;/`), HTML character references and Windows' trailing-space trimming — plus NUL
 * and other control bytes, stream
 * wrappers and absolute paths into sensitive system locations. The rule's `allow`/`deny`
 * globs (compiled once per rule) are checked on the normalised path; an allowlist is the
 * primary control and replaces the built-in sensitive-location list.
 *
 * Rules: path-nul-byte, path-control-character, path-traversal, path-obfuscation, path-overlong-utf8, path-invalid-encoding,
 * path-nonstandard-encoding, path-excessive-encoding, path-too-long, path-wrapper,
 * path-sensitive-root, path-absolute, path-outside-allowlist, path-denied.
 */
import picomatch from 'picomatch';
import type { ArgumentRule } from '../api/types.js';
import { decodeCharacterReferences, foldLookalikes, hexValue, percentDecodeRounds } from './decode.js';
import { excerptAround } from './excerpt.js';
import type { DetectorFinding, KindInspector } from './types.js';

/** Longest path any mainstream OS accepts (Linux PATH_MAX); longer values are refused. */
export const MAX_PATH_LENGTH = 4096;
const MAX_DECODE_ROUNDS = 3;

export interface CompiledPathRule {
  readonly allow: ((path: string) => boolean) | undefined;
  readonly deny: ((path: string) => boolean) | undefined;
  /** Every allow glob is relative, so absolute paths are refused outright. */
  readonly allowIsRelativeOnly: boolean;
}

const NO_RULE: CompiledPathRule = { allow: undefined, deny: undefined, allowIsRelativeOnly: false };
const compiledRules = new WeakMap<ArgumentRule, CompiledPathRule>();

function isAbsolute(p: string): boolean {
  const c0 = p.charCodeAt(0);
  if (c0 === 0x2f || c0 === 0x5c || c0 === 0x7e) return true; // / \ ~
  return p.length >= 2 && p.charCodeAt(1) === 0x3a && isAsciiLetter(c0); // C:
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function compileGlobs(field: string, globs: readonly string[] | undefined): ((path: string) => boolean) | undefined {
  if (globs === undefined || globs.length === 0) return undefined;
  try {
    return picomatch(globs.map(normaliseForGlob), { dot: true });
  } catch (err) {
    throw new Error(`path rule ${field}: invalid glob (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/** Compiles a path rule's globs once; the result is cached per rule object. */
export function compilePathRule(rule: ArgumentRule | undefined): CompiledPathRule {
  if (rule === undefined || (rule.allow === undefined && rule.deny === undefined)) return NO_RULE;
  const cached = compiledRules.get(rule);
  if (cached !== undefined) return cached;
  const compiled: CompiledPathRule = {
    allow: compileGlobs('allow', rule.allow),
    deny: compileGlobs('deny', rule.deny),
    allowIsRelativeOnly: rule.allow !== undefined && rule.allow.length > 0 && rule.allow.every((g) => !isAbsolute(g)),
  };
  compiledRules.set(rule, compiled);
  return compiled;
}

function finding(rule: string, message: string, value: string, at: number, length: number): DetectorFinding {
  return { detector: 'pathTraversal', rule, message: `pathTraversal: ${message}`, excerpt: excerptAround(value, at, at + length) };
}

function isFoldedHex(v: number): boolean {
  return v === 0x2e || v === 0x2f || v === 0x5c;
}

/**
 * `0x2e` / `0x2f` / `0x5c` written as text (dotdotpwn's "hex" encoding), and the C / JSON
 * escapes `\\x2e` `\\u002e` a layer that unescapes strings turns into them → the character.
 */
function foldHexText(s: string): string {
  let first = s.indexOf('0x');
  const upper = s.indexOf('0X');
  if (first === -1 || (upper !== -1 && upper < first)) first = upper;
  const slash = backslashSeparates(s) ? -1 : s.indexOf('\\');
  if (first === -1 || (slash !== -1 && slash < first)) first = slash;
  if (first === -1) return s;
  const out = new Uint16Array(s.length);
  let o = 0;
  for (let k = 0; k < first; k++) out[o++] = s.charCodeAt(k);
  let changed = false;
  for (let i = first; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c && slash !== -1) {
      const kind = s.charCodeAt(i + 1) | 0x20;
      const digits = kind === 0x78 ? 2 : kind === 0x75 ? 4 : 0;
      let v = digits > 0 ? 0 : -1;
      for (let k = 0; k < digits && v >= 0; k++) {
        const d = hexValue(s.charCodeAt(i + 2 + k));
        v = d < 0 ? -1 : (v << 4) | d;
      }
      if (v >= 0 && isFoldedHex(v)) {
        out[o++] = v;
        i += 1 + digits;
        changed = true;
        continue;
      }
    }
    if (c === 0x30 && (s.charCodeAt(i + 1) | 0x20) === 0x78) {
      const h = hexValue(s.charCodeAt(i + 2));
      const l = hexValue(s.charCodeAt(i + 3));
      const v = (h << 4) | l;
      if (h >= 0 && l >= 0 && isFoldedHex(v)) {
        out[o++] = v;
        i += 3;
        changed = true;
        continue;
      }
    }
    out[o++] = c;
  }
  return changed ? Buffer.from(out.buffer, 0, o * 2).toString('utf16le') : s;
}

const PATH_REFERENCES: ReadonlyMap<string, string> = new Map([
  ['period', '.'],
  ['sol', '/'],
  ['bsol', '\\'],
]);

/**
 * HTML character references of `.` `/` `\\` (`&#46;`, `&#x2f;`, `&period;`) → the character:
 * a path that went through an HTML form or template is decoded once more by the server.
 */
function foldEntities(s: string): string {
  return decodeCharacterReferences(s, PATH_REFERENCES, (c) => c === 0x2e || c === 0x2f || c === 0x5c);
}

/** A C0 control character (or DEL) in a path: no real file name holds one; CR/LF split headers and logs. */
function findControl(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return i;
  }
  return -1;
}

/** After a leading `..`, characters that some decoder or file API drops or treats as a separator. */
function isSuspiciousAfterDots(c: number): boolean {
  return (
    c === 0x25 || c === 0x3b || c === 0x3f || c === 0x2a || c === 0x3c || c === 0x3e || c === 0x22 || c === 0x7c || c === 0x3a ||
    c < 0x20 || c === 0x7f || c === 0xfffd || (c >= 0xe000 && c <= 0xf8ff)
  );
}

/** NT wildcard characters that can match a dot (`?`, and DOS_QM/DOS_DOT/DOS_STAR `> " <`). */
function isDotWildcard(c: number): boolean {
  return c === 0x3f || c === 0x3e || c === 0x22 || c === 0x3c;
}

/**
 * Whether the segment `[start, end)` can name the parent directory: two or more dots once
 * `;parameters`, trailing blanks and control characters are dropped (`..`, `....` left by a
 * naive `../` strip, `...` on old Windows, `..;` on Tomcat, `.. ` on Windows); leading dots
 * followed by a character some decoder drops (`..%`, `..\x01`, `..?`); or a wildcard that
 * matches `..` (`.?`, `??`). Only called for segments that start with a dot or a wildcard.
 */
function isDotDotSegment(s: string, start: number, end: number): boolean {
  let dots = 0;
  let wildcards = 0;
  let other = false;
  let leading = true;
  let inParams = false;
  let trailingBlank = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (leading && c !== 0x2e && !isDotWildcard(c)) {
      leading = false;
      if (dots > 0 && dots + wildcards >= 2 && isSuspiciousAfterDots(c)) return true;
    }
    if (inParams) continue;
    if (c === 0x3b) {
      inParams = true;
    } else if (c === 0x2e && !trailingBlank) {
      dots++;
    } else if (c === 0x20 || c === 0x09 || c < 0x20) {
      trailingBlank = true;
    } else if (isDotWildcard(c) && !trailingBlank) {
      wildcards++;
    } else {
      other = true;
      if (!leading) return false;
    }
  }
  if (other) return false;
  return wildcards === 0 ? dots >= 2 : dots + wildcards >= 2;
}

/** Longest file name mainstream file systems accept (NAME_MAX); longer ones get truncated. */
export const MAX_NAME_LENGTH = 255;

interface SegmentScan {
  /** First dot-dot segment, or -1. */
  readonly dotDot: number;
  /** First `.` segment after the first segment, or `/` next to `\`, or -1. */
  readonly redundant: number;
  /** First segment longer than NAME_MAX, or -1. */
  readonly long: number;
}

/** One pass over the segments of `s`; only segments that start with a dot or wildcard are re-read. */
function scanSegments(s: string): SegmentScan {
  const n = s.length;
  let redundant = -1;
  let long = -1;
  let start = 0;
  let index = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 0x2f;
    if (c !== 0x2f && c !== 0x5c) continue;
    if (long === -1 && i - start > MAX_NAME_LENGTH) long = start;
    if (i > start) {
      const c0 = s.charCodeAt(start);
      if (c0 === 0x2e || isDotWildcard(c0)) {
        if (isDotDotSegment(s, start, i)) return { dotDot: start, redundant, long };
        if (redundant === -1 && index > 0 && i - start === 1 && c0 === 0x2e) redundant = start;
      }
    } else if (redundant === -1 && start > 0 && i < n && s.charCodeAt(start - 1) !== c) {
      redundant = start - 1; // `/\` or `\/`
    }
    start = i + 1;
    index++;
  }
  return { dotDot: -1, redundant, long };
}

/**
 * ASCII `..` glued to the end of a name right before a separator (`cache../etc`,
 * `uploads..\\x`): a server that joins a base and the value without a separator climbs from
 * there; and `X:..` is the parent of the current directory on drive X. Read on the value and
 * its percent-decodings only: an ellipsis (`2024…/`) that look-alike folding widens to dots
 * ends many a real folder name. Returns the index of the dots, or -1.
 */
function findGluedDotDot(s: string): number {
  for (let i = s.indexOf('..'); i !== -1; i = s.indexOf('..', i + 1)) {
    let end = i + 2;
    while (s.charCodeAt(end) === 0x2e) end++;
    const before = i > 0 ? s.charCodeAt(i - 1) : 0x2f;
    if (before !== 0x2f && before !== 0x5c) {
      const after = s.charCodeAt(end);
      if (after === 0x2f || after === 0x5c) return i;
      if (end === s.length && i === 2 && s.charCodeAt(1) === 0x3a && isAsciiLetter(s.charCodeAt(0))) return i;
    }
    i = end - 1;
  }
  return -1;
}

/** Percent-encoded letters, digits or `-._~` (RFC 3986 unreserved): no client encodes those. */
function findEncodedUnreserved(s: string): number {
  const first = s.indexOf('%');
  if (first === -1) return -1;
  for (let i = first; i + 2 < s.length; i++) {
    if (s.charCodeAt(i) !== 0x25) continue;
    const h = hexValue(s.charCodeAt(i + 1));
    const l = hexValue(s.charCodeAt(i + 2));
    if (h < 0 || l < 0) continue;
    const c = (h << 4) | l;
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e) return i;
  }
  return -1;
}

/**
 * Whether `s` uses the backslash as its separator: a drive (`C:\\`), a UNC prefix, or a
 * backslash that starts none of the escapes read as text (`\\0`, `\\xHH`, `\\uHHHH`). Then
 * `\\0.9.2`, `\\x00-report` are names: a layer that unescaped C strings would have mangled such
 * a path (`\\Users`, `\\data`) long before.
 */
function backslashSeparates(s: string): boolean {
  if (isAsciiLetter(s.charCodeAt(0)) && s.charCodeAt(1) === 0x3a && s.charCodeAt(2) === 0x5c) return true;
  for (let i = s.indexOf('\\'); i !== -1; i = s.indexOf('\\', i + 1)) {
    const c = s.charCodeAt(i + 1) | 0x20;
    if (c !== 0x30 && c !== 0x78 && c !== 0x75) return true; // also `\\\\` and a trailing `\\`
  }
  return false;
}

/** NUL in any spelling: raw, decoded, or written as `\x00`, `\u0000`, `\0` text. */
function findNul(s: string): { at: number; length: number } | undefined {
  const raw = s.indexOf('\u0000');
  if (raw !== -1) return { at: raw, length: 1 };
  const first = s.indexOf('\\');
  if (first === -1 || backslashSeparates(s)) return undefined;
  for (let i = first; i + 1 < s.length; i++) {
    if (s.charCodeAt(i) !== 0x5c) continue;
    const a = s.charCodeAt(i + 1);
    if ((a === 0x78 || a === 0x58) && s.startsWith('00', i + 2)) return { at: i, length: 4 };
    if ((a === 0x75 || a === 0x55) && s.startsWith('0000', i + 2)) return { at: i, length: 6 };
    if (a === 0x30) {
      // `\0`, `\00`, `\000` alone or before punctuation; `\0day\`, `\00README` in a Windows
      // path are names, not NUL.
      let j = i + 2;
      while (j < i + 4 && s.charCodeAt(j) === 0x30) j++;
      const b = j < s.length ? s.charCodeAt(j) : -1;
      if (b === -1 || !(isAsciiLetter(b) || (b >= 0x30 && b <= 0x39))) return { at: i, length: j - i };
    }
  }
  return undefined;
}

/** Schemes of PHP/Java stream wrappers and fetchers that turn a "path" into something else. */
const WRAPPERS = new Set([
  'file', 'php', 'expect', 'data', 'zip', 'phar', 'glob', 'compress.zlib', 'compress.bzip2', 'zlib', 'bzip2',
  'ogg', 'rar', 'ssh2', 'ssh2.exec', 'ssh2.shell', 'ssh2.sftp', 'input', 'jar', 'netdoc', 'gopher', 'dict',
  'http', 'https', 'ftp', 'ftps', 'smb', 'ldap', 'tftp', 'sftp',
]);

function findWrapper(s: string): string | undefined {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
  const start = i;
  if (!isAsciiLetter(s.charCodeAt(i))) return undefined;
  for (; i < s.length && i - start <= 32; i++) {
    const c = s.charCodeAt(i);
    if (isAsciiLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2e || c === 0x2d) continue;
    break;
  }
  if (s.charCodeAt(i) !== 0x3a || i - start < 2) return undefined; // `C:` is a drive letter
  const scheme = s.slice(start, i).toLowerCase();
  const slashes = s.startsWith('//', i + 1) || s.startsWith('\\\\', i + 1);
  return WRAPPERS.has(scheme) || slashes ? scheme : undefined;
}

/** Lower-case, `/`-separated, without empty and `.` segments. Keeps a leading `/`. */
function normaliseForGlob(p: string): string {
  const folded = foldLookalikes(p).replaceAll('\\', '/');
  const parts = folded.split('/');
  const kept: string[] = [];
  for (const part of parts) if (part !== '' && part !== '.') kept.push(part);
  const lead = folded.startsWith('/') ? '/' : '';
  const tail = folded.endsWith('/') && kept.length > 0 ? '/' : '';
  return lead + kept.join('/') + tail;
}

// ---------------------------------------------------------------------------------------
// Sensitive locations (used when the rule has no allowlist)

const UNIX_ROOTS = new Set(['etc', 'proc', 'sys', 'dev', 'root', 'boot', 'run', 'library', 'system', 'windows', 'winnt']);
/** Components that, anywhere in an absolute path, mean configuration, logs or secrets. */
const SENSITIVE_DIRS = new Set(['etc', 'log', 'logs', 'secrets', 'serviceaccount']);
/**
 * `/var` folders that hold logs, services' data and mail (`/var/log`, `/var/lib/mysql`,
 * `/var/www`, `/var/spool/cron`); the rest of `/var` (tmp, cache, macOS `folders`, a site's own
 * `/var/vms`) is ordinary space.
 */
const SENSITIVE_VAR = new Set([
  'log', 'logs', 'lib', 'www', 'run', 'spool', 'mail', 'local', 'adm', 'backups', 'db', 'cpanel', 'lock', 'opt', 'yp', 'nis',
  'named', 'audit', 'account', 'crash', 'qmail', 'vmail', 'apache', 'apache2', 'nginx', 'mysql', 'lighttpd', 'ossec', 'webmin',
]);
/** Deepest component (below the top) at which `etc`, `log`, `logs` or `secrets` means system state. */
const MAX_STATE_DEPTH = 3;
/** Top-level directories the OS and its packages manage, where those components are system state. */
const SYSTEM_TREES = new Set(['usr', 'opt', 'var', 'lib', 'lib32', 'lib64', 'bin', 'sbin', 'snap', 'nix', 'applications', 'network']);
/** Credentials and histories, refused even in relative paths. */
const CREDENTIAL_NAMES = new Set([
  '.ssh', '.gnupg', '.aws', '.azure', '.kube', '.docker', '.netrc', '.pgpass', '.git-credentials', '.htpasswd',
  '.bash_history', '.zsh_history', '.sh_history', '.mysql_history', '.psql_history', '.python_history', '.viminfo',
  'id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519', 'authorized_keys',
]);
/** Web and database server trees under `/usr/local`, `/opt` and Windows drive roots. */
const SERVER_TREE_PREFIXES = [
  'www', 'apache', 'httpd', 'nginx', 'lighttpd', 'php', 'mysql', 'mariadb', 'tomcat', 'lampp', 'xampp', 'wamp', 'inetpub', 'htdocs',
  'filezilla', 'public_html', 'jboss', 'wildfly', 'mamp', 'cpanel', 'lsws', 'litespeed', 'pgsql', 'pureftpd', 'proftpd',
  'webmin', 'plesk', 'bitnami', 'glassfish', 'weblogic',
];
const WINDOWS_ROOTS = new Set([
  'windows', 'winnt', 'program files', 'program files (x86)', 'programdata', 'documents and settings',
  'system volume information', '$recycle.bin', 'recovery', 'perflogs', 'boot', 'bootmgr', 'boot.ini',
  'pagefile.sys', 'hiberfil.sys', 'swapfile.sys', 'autoexec.bat', 'config.sys', 'sysprep', 'sysprep.inf',
  'sysprep.xml', 'unattend.xml', 'unattend.txt', 'unattended.xml', 'unattended.txt',
]);

/** 8.3 short-name stems (`progra`, `docume`, `window`) of the Windows roots, as `PROGRA~1` spells them. */
const WINDOWS_ROOT_STEMS = new Set([...WINDOWS_ROOTS].map((r) => r.replaceAll(' ', '').replaceAll('.', '').slice(0, 6)));

/** `PROGRA~1` → `progra`; undefined for names that are not an 8.3 alias. */
function shortNameStem(name: string): string | undefined {
  const tilde = name.indexOf('~');
  if (tilde < 1 || tilde > 6 || tilde + 1 >= name.length) return undefined;
  for (let i = tilde + 1; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) break; // `~1.ini` keeps its extension
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return name.slice(0, tilde);
}

function startsWithAny(name: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (name.startsWith(p)) return true;
  return false;
}

/** The first components of a lower-cased, `/`-separated path (bounded). */
function components(p: string, limit: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (start <= p.length && out.length < limit) {
    let end = p.indexOf('/', start);
    if (end === -1) end = p.length;
    let part = p.slice(start, end);
    // `;parameters` are dropped by servlet containers (`/.;/etc/passwd` is `/etc/passwd`).
    const params = part.indexOf(';');
    if (params !== -1) part = part.slice(0, params);
    part = part.trimEnd();
    if (part !== '' && part !== '.') out.push(part);
    start = end + 1;
  }
  return out;
}

const MAX_COMPONENTS = 64;

function isHomeDotEntry(comps: readonly string[], homeDepth: number): boolean {
  const entry = comps[homeDepth];
  return entry !== undefined && entry.startsWith('.') && entry.length > 1;
}

/**
 * Why the top-level directory `comps[at]` of a Windows volume is sensitive, or undefined:
 * the OS and program trees (also as 8.3 aliases, and `Program Files` without its space), server
 * installations, `$`-named system folders (`$Recycle.Bin`, `$WinREAgent`, NTFS `$Extend`), and
 * the registry hives and AppData of user profiles.
 */
function windowsSystemLocation(comps: readonly string[], at: number): string | undefined {
  const top = comps[at];
  if (top === undefined) return undefined;
  const stem = shortNameStem(top);
  const shortRoot = stem !== undefined && stem.length === 6 && WINDOWS_ROOT_STEMS.has(stem);
  if (
    WINDOWS_ROOTS.has(top) || shortRoot || startsWithAny(top, SERVER_TREE_PREFIXES) || top.startsWith('program files') ||
    top.startsWith('programfiles') || top.startsWith('sysprep') || top.startsWith('unattend') || (top.length > 1 && top.startsWith('$'))
  ) {
    return `a Windows system location (${top.slice(0, 32)})`;
  }
  const entry = comps[at + 2] ?? '';
  if (top === 'users' && (entry === 'appdata' || entry.startsWith('ntuser') || isHomeDotEntry(comps, at + 2))) return 'a Windows user profile store';
  return undefined;
}

/** `[::1]`, `fe80::1`: an IPv6 literal as a UNC host name (hand-written: no regex over the value). */
function isIpv6Host(name: string): boolean {
  const inner = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  if (!inner.includes(':')) return false;
  for (let i = 0; i < inner.length; i++) {
    const c = inner.charCodeAt(i);
    if (!(hexValue(c) >= 0 || c === 0x3a || c === 0x2e || c === 0x25)) return false;
  }
  return true;
}

/** Describes why `form` points into a sensitive location, or undefined. */
function sensitiveLocation(form: string): string | undefined {
  const folded = foldLookalikes(form).trimStart();
  const lower = folded.toLowerCase();
  // UNC and device paths: \\host\share, \\?\C:\, \\.\pipe; //host/share only for host-like names.
  if (/^[\\/][\\/]/.test(lower.slice(0, 2))) {
    const backslashed = lower.startsWith('\\\\') || lower.startsWith('\\/') || lower.startsWith('/\\');
    const rest = components(lower.slice(2).replaceAll('\\', '/'), 2);
    if (backslashed && rest.length >= 1) return 'a UNC or device path';
    // Win32 device paths `//?/` and `//./` (components() drops the `.`).
    const c2 = lower.charCodeAt(2);
    if ((c2 === 0x3f || c2 === 0x2e) && (lower.charCodeAt(3) === 0x2f || lower.charCodeAt(3) === 0x5c)) return 'a Win32 device path';
    const host = rest[0] ?? '';
    if (rest.length >= 2 && (/^[a-z0-9][a-z0-9.-]*$/.test(host) || isIpv6Host(host))) return 'a UNC path';
  }
  const p = lower.replaceAll('\\', '/');
  const comps = components(p, MAX_COMPONENTS);
  if (isAbsolute(p)) for (const c of comps) if (CREDENTIAL_NAMES.has(c)) return `a credential file or directory (${c})`;
  const first = comps[0];
  if (first === undefined) return undefined;
  // Home directories: ~/.x, $HOME/.x, %USERPROFILE%\.x
  if ((first === '~' || first === '$home' || first === '${home}' || first === '%userprofile%' || first === '%homepath%' || first === '$env:userprofile') && isHomeDotEntry(comps, 1)) {
    return 'a dot-directory in a home directory';
  }
  // Environment variables that expand to the Windows directory or the system drive.
  if (first === '%systemroot%' || first === '%windir%' || first === '$env:systemroot' || first === '$env:windir') return `a Windows system location (${first})`;
  if ((first === '%systemdrive%' || first === '$env:systemdrive') && comps[1] !== undefined && WINDOWS_ROOTS.has(comps[1])) {
    return `a Windows system location (${comps[1]})`;
  }
  if (/^[a-z]:$/.test(first)) return windowsSystemLocation(comps, 1);
  if (!p.startsWith('/')) return undefined;
  // macOS aliases: /private/etc, /System/Volumes/Data/etc, /Volumes/<disk>/etc.
  let base = 0;
  if (comps[0] === 'private') base = 1;
  else if (comps[0] === 'volumes' && comps.length > 2) base = 2;
  else if (comps[0] === 'system' && comps[1] === 'volumes' && comps[2] === 'data') base = 3;
  if (base > 0 && comps[base] === 'private') base++;
  const top = comps[base];
  if (top === undefined) return undefined;
  if (UNIX_ROOTS.has(top)) return `a system directory (/${top})`;
  // A rooted path without a drive (`\\Program Files\\…`) resolves against the current drive on Windows.
  const windows = base === 0 ? windowsSystemLocation(comps, 0) : undefined;
  if (windows !== undefined) return windows;
  if (top === 'var' && SENSITIVE_VAR.has(comps[base + 1] ?? '')) return `a system directory (/var/${comps[base + 1]})`;
  if ((top === 'home' || top === 'users') && isHomeDotEntry(comps, base + 2)) return 'a dot-directory in a home directory';
  // Web and database server trees: directories near the top of an OS tree (`/usr/share/nginx/`,
  // `/opt/lampp/`, `/srv/www/`), or a user's web root (`/home/<user>/public_html/`).
  const serverFrom = top === 'home' ? base + 2 : base + 1;
  const serverTo = top === 'home' || top === 'srv' ? serverFrom : base + 3;
  if (SYSTEM_TREES.has(top) || top === 'srv' || top === 'home') {
    for (let i = serverFrom; i <= serverTo && i < comps.length - 1; i++) {
      const dir = comps[i] as string;
      if (dir === 'bin' || dir === 'sbin') break;
      if (startsWithAny(dir, SERVER_TREE_PREFIXES)) return `a server installation (${dir})`;
    }
  }
  // Only inside OS-managed trees: `/workspace/deploy/etc/nginx.conf` is a project's own file.
  // And only near the top, where a package keeps its state (`/usr/local/etc`, `/opt/lampp/logs`,
  // `/usr/local/apache2/logs`): deeper down they are source and data folders named like it
  // (`/usr/local/go/src/log/`, `/usr/share/zoneinfo/right/Etc/`, `…/site-packages/boto/logs/`).
  if (!SYSTEM_TREES.has(top)) return undefined;
  for (let i = base; i < comps.length - 1 && i <= base + MAX_STATE_DEPTH; i++) {
    const c = comps[i] as string;
    if (SENSITIVE_DIRS.has(c)) return `a configuration, log or secret directory (${c})`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------

/** Inspects one path value under a precompiled rule. */
export function inspectPathCompiled(value: string, rule: CompiledPathRule): DetectorFinding | undefined {
  // No file API accepts more; refusing first keeps the cost of a hostile value bounded.
  if (value.length > MAX_PATH_LENGTH) return finding('path-too-long', `path longer than ${MAX_PATH_LENGTH} characters`, value, 0, 0);
  const decoded = percentDecodeRounds(value, MAX_DECODE_ROUNDS);
  const forms = [value, ...decoded.rounds];
  for (const form of forms) {
    const nul = findNul(form);
    if (nul !== undefined) {
      const at = form === value ? nul.at : 0;
      return finding('path-nul-byte', 'NUL byte in path (truncates the name in C-based file APIs)', value, at, form === value ? nul.length : 0);
    }
  }
  let redundant = -1;
  let long = -1;
  for (const form of forms) {
    const normal = foldHexText(foldEntities(foldLookalikes(form)));
    const scan = scanSegments(normal);
    const glued = scan.dotDot === -1 ? findGluedDotDot(form) : -1;
    if (glued !== -1) {
      const plain = form === value;
      return finding('path-traversal', `dot-dot glued to a name${plain ? '' : ' (after decoding)'}: path climbs out of its directory`, value, plain ? glued : 0, 3);
    }
    if (scan.dotDot !== -1) {
      const plain = form === value && normal === form;
      return finding('path-traversal', `dot-dot segment${plain ? '' : ' (after decoding)'}: path climbs out of its directory`, value, plain ? scan.dotDot : 0, 3);
    }
    if (redundant === -1 && scan.redundant !== -1) redundant = form === value ? scan.redundant : 0;
    if (long === -1 && scan.long !== -1) long = form === value ? scan.long : 0;
    const encoded = findEncodedUnreserved(form);
    if (redundant === -1 && encoded !== -1) redundant = form === value ? encoded : 0;
  }
  for (const form of forms) {
    const control = findControl(form);
    if (control !== -1) return finding('path-control-character', 'control character in path', value, form === value ? control : 0, 1);
  }
  if (redundant !== -1) {
    return finding('path-obfuscation', 'obfuscated path (encoded unreserved characters, "/./" segments or mixed separators)', value, redundant, 3);
  }
  if (decoded.overlong) return finding('path-overlong-utf8', 'overlong UTF-8 encoding in path', value, value.indexOf('%'), 6);
  if (decoded.percentU) return finding('path-nonstandard-encoding', 'IIS %u escape in path', value, value.indexOf('%'), 6);
  if (decoded.invalidUtf8) return finding('path-invalid-encoding', 'percent-escapes that are not valid UTF-8', value, value.indexOf('%'), 6);
  if (decoded.residual) return finding('path-excessive-encoding', `still percent-encoded after ${MAX_DECODE_ROUNDS} rounds of decoding`, value, value.indexOf('%'), 6);
  if (long !== -1) return finding('path-too-long', `path component longer than ${MAX_NAME_LENGTH} characters (truncation trick)`, value, long, 8);
  for (const form of forms) {
    const wrapper = findWrapper(form);
    if (wrapper !== undefined) return finding('path-wrapper', `stream wrapper or URL scheme '${wrapper.slice(0, 16)}:' instead of a path`, value, 0, wrapper.length + 1);
  }
  if (rule.allow === undefined) {
    for (const form of forms) {
      const why = sensitiveLocation(form);
      if (why !== undefined) return finding('path-sensitive-root', `path points into ${why}`, value, 0, 0);
    }
  }
  if (rule.allow !== undefined || rule.deny !== undefined) {
    for (const form of forms) {
      const normal = normaliseForGlob(form);
      if (rule.deny?.(normal) === true) return finding('path-denied', 'path matches a deny glob', value, 0, 0);
      if (rule.allow !== undefined) {
        if (rule.allowIsRelativeOnly && isAbsolute(normal)) return finding('path-absolute', 'absolute path where the allowlist expects a relative one', value, 0, 1);
        if (!rule.allow(normal)) return finding('path-outside-allowlist', 'path is outside every allowed root', value, 0, 0);
      }
    }
  }
  return undefined;
}

/** KindInspector for `path` values; compiles the rule's globs on first use (cached per rule). */
export const inspectPath: KindInspector = (value, rule) => {
  try {
    return inspectPathCompiled(value, compilePathRule(rule));
  } catch {
    return { detector: 'pathTraversal', rule: 'path-inspection-failed', message: 'pathTraversal: the path could not be inspected', excerpt: '' };
  }
};
