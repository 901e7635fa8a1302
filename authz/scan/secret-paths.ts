/**
 * Path-shaped references to credential files (`~/.aws/credentials`, `.env`, `~/.ssh/id_rsa`,
 * `~/.cursor/mcp.json`) that a tool description tells the model to read, attach or send —
 * the file-exfiltration step of the Invariant Labs / MCPTox poisoning shapes. Words alone
 * are not enough: "AWS", "SSH", "env" and "MCP" are what many clean tools are about, so a
 * name counts only with its dot or path spelling, and only after an imperative verb
 * (`read ~/.ssh/id_rsa`, not "Credentials are read from ~/.aws/credentials" or "Reads
 * ~/.kube/config"). One pass over the text; each token is compared against a fixed list.
 */

/** Needles that start with `.` or `/` must start a path segment; the others may sit anywhere. */
const NEEDLES: readonly string[] = [
  '.ssh', '.aws', '.env', '.kube', '.netrc', '.npmrc', '.pgpass', '.gnupg', '.docker/config', '.git-credentials',
  '.azure', '.config/gcloud', '/etc/passwd', '/etc/shadow', '.bash_history', '.zsh_history', '.cursor/', 'mcp.json',
  'id_rsa', 'id_ed25519', 'id_ecdsa', 'id_dsa', 'authorized_keys', 'claude_desktop_config', 'credentials.json',
  'wallet.dat',
];

/** Imperatives that move a file's content somewhere the model will put it. */
const VERBS = new Set([
  'read', 'open', 'cat', 'load', 'include', 'attach', 'send', 'upload', 'access', 'fetch', 'get', 'pass', 'paste',
  'put', 'copy', 'print', 'dump', 'append', 'insert', 'provide', 'share', 'post', 'call', 'invoke', 'grab', 'collect',
  'extract', 'exfiltrate', 'forward', 'email', 'embed', 'add', 'output', 'return',
]);
/** A verb after one of these is passive or descriptive ("is read from", "will be loaded"). */
const PASSIVE = new Set(['is', 'are', 'was', 'were', 'be', 'been', 'being', 'gets', 'get']);
/** Words looked back from a path for its verb. */
const VERB_REACH = 6;
/** Longest token compared (a longer one is not a file path anyone types). */
const MAX_TOKEN = 512;

function isTokenBreak(c: number): boolean {
  // whitespace, quotes, backticks, brackets, commas and `=`/`:` between a name and a path
  return c <= 32 || c === 34 || c === 39 || c === 96 || c === 40 || c === 41 || c === 91 || c === 93 || c === 123 ||
    c === 125 || c === 60 || c === 62 || c === 44 || c === 59 || c === 61 || c === 0x2018 || c === 0x2019 ||
    c === 0x201c || c === 0x201d;
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function secretIn(token: string): boolean {
  const t = token.toLowerCase();
  for (const needle of NEEDLES) {
    let at = t.indexOf(needle);
    while (at >= 0) {
      const before = at === 0 ? '' : t.charAt(at - 1);
      const after = t.charAt(at + needle.length);
      const startsSegment = needle.startsWith('.') || needle.startsWith('/') ? before === '' || before === '/' || before === '~' || before === '\\' : true;
      const endsSegment = needle.endsWith('/') || after === '' || after === '/' || after === '\\' || after === '.' || after === ':';
      if (startsSegment && endsSegment) return true;
      at = t.indexOf(needle, at + 1);
    }
  }
  return false;
}

/** The imperative verb among the few words before `from` and where it starts, or undefined. */
function verbBefore(text: string, from: number): { verb: string; start: number } | undefined {
  let i = from;
  let next: string | undefined;
  for (let words = 0; words < VERB_REACH && i > 0; words++) {
    while (i > 0 && !isLetter(text.charCodeAt(i - 1))) i--;
    const end = i;
    while (i > 0 && isLetter(text.charCodeAt(i - 1)) && end - i < 16) i--;
    if (end === i) return undefined;
    const word = text.slice(i, end).toLowerCase();
    if (next !== undefined && VERBS.has(next) && PASSIVE.has(word)) return undefined;
    if (VERBS.has(word)) {
      // Look one word further for a passive marker before accepting.
      let j = i;
      while (j > 0 && !isLetter(text.charCodeAt(j - 1)) && i - j < 4) j--;
      const pend = j;
      while (j > 0 && isLetter(text.charCodeAt(j - 1)) && pend - j < 16) j--;
      if (!PASSIVE.has(text.slice(j, pend).toLowerCase())) return { verb: word, start: i };
      return undefined;
    }
    next = word;
  }
  return undefined;
}

export interface SecretPathUse {
  readonly verb: string;
  readonly start: number;
  readonly end: number;
}

/** The first credential-file path in `text` that an imperative verb acts on; the span runs from the verb. */
export function findSecretPathUse(text: string): SecretPathUse | undefined {
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && isTokenBreak(text.charCodeAt(i))) i++;
    const start = i;
    while (i < n && !isTokenBreak(text.charCodeAt(i))) i++;
    if (i > start && i - start <= MAX_TOKEN && secretIn(text.slice(start, i))) {
      const verb = verbBefore(text, start);
      if (verb !== undefined) return { verb: verb.verb, start: verb.start, end: i };
    }
  }
  return undefined;
}
