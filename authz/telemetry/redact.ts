/**
 * Redaction of values that reach security events. Excerpts show an operator what was
 * blocked without copying credentials into log pipelines: secret-looking substrings are
 * replaced with a marker first, then the result is cut to EXCERPT_MAX_CHARS (masking first
 * so truncation can never leave a secret half-visible and unrecognised).
 *
 * Detector excerpts are clipped before they reach `redact`, so the excerpt builders mask on a
 * wider window of the original value (`secretRangesAround`) before clipping; `redact` then also
 * masks a key-like fragment left touching an elision mark, as a second line for excerpts built
 * elsewhere.
 */

export const REDACTED = '[redacted]';
export const EXCERPT_MAX_CHARS = 64;

interface SecretPattern {
  readonly pattern: RegExp;
  readonly replace: string | ((match: string, ...groups: string[]) => string);
}

const SECRET_PATTERNS: readonly SecretPattern[] = [
  // PEM private keys, whole block or an unterminated head.
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, replace: REDACTED },
  // Authorization schemes (RFC 9110 §11.4): keep the scheme, drop the credentials.
  { pattern: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, replace: (_m, scheme: string) => `${scheme} ${REDACTED}` },
  // JWS compact serialisation: base64url header starting with '{"' → "eyJ".
  { pattern: /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, replace: REDACTED },
  // Userinfo password in a URL (RFC 3986 §3.2.1 deprecates it; it still shows up).
  { pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*):[^\s/?#@]*@/gi, replace: (_m, head: string) => `${head}:${REDACTED}@` },
  // AWS access key ids.
  { pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}\b/g, replace: REDACTED },
  // Well-known vendor token prefixes (GitHub, Slack, OpenAI/Anthropic-style, Google API keys).
  { pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|AIza[A-Za-z0-9_-]{30,})/g, replace: REDACTED },
  // key=value / "key": "value" credentials.
  {
    pattern: /\b((?:password|passwd|pwd|secret|client_secret|api[_-]?key|access[_-]?token|refresh[_-]?token|auth[_-]?token|token|aws_secret_access_key|session[_-]?token)"?\s*[:=]\s*"?)[^\s"&,;}]+/gi,
    replace: (_m, head: string) => `${head}${REDACTED}`,
  },
];

/**
 * Long base64/base64url/hex runs that look like random key material. A run must start at a
 * token boundary, and content digests (`sha256:<hex>`, e.g. tool pins) are not secrets.
 */
const LONG_TOKEN = /(?<![A-Za-z0-9+/_-])(?<!sha(?:256|384|512):)[A-Za-z0-9+/_-]{32,}={0,2}/g;

function looksLikeKeyMaterial(run: string): boolean {
  let upper = 0;
  let lower = 0;
  let digit = 0;
  let slash = 0;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (c >= 65 && c <= 90) upper++;
    else if (c >= 97 && c <= 122) lower++;
    else if (c >= 48 && c <= 57) digit++;
    else if (c === 47) slash++;
  }
  // Random base64 has ~1 '/' in 64 characters; file paths have one per segment.
  if (slash * 16 > run.length) return false;
  const hexOnly = upper + lower + digit === run.length && /^[0-9a-fA-F]+$/.test(run);
  if (hexOnly) return digit > 0 && upper + lower > 0;
  return upper > 0 && lower > 0 && digit > 0;
}

/** Replaces secret-looking substrings with REDACTED; does not shorten. */
export function maskSecrets(value: string): string {
  let out = value;
  for (const { pattern, replace } of SECRET_PATTERNS) {
    pattern.lastIndex = 0;
    out = typeof replace === 'string' ? out.replace(pattern, replace) : out.replace(pattern, replace);
  }
  LONG_TOKEN.lastIndex = 0;
  return out.replace(LONG_TOKEN, (run) => (looksLikeKeyMaterial(run) ? REDACTED : run));
}

/** A secret's position in a string: `[start, end)`. */
export type SecretRange = readonly [number, number];

/**
 * Where `maskSecrets` would put REDACTED, as ranges of `value` itself (sorted, merged). Each
 * pattern runs on the original text, so the union can only be wider than the sequential mask.
 */
export function secretRanges(value: string): SecretRange[] {
  const found: Array<[number, number]> = [];
  for (const { pattern, replace } of SECRET_PATTERNS) {
    pattern.lastIndex = 0;
    for (const m of value.matchAll(pattern)) {
      const start = m.index;
      const end = start + m[0].length;
      if (typeof replace === 'string') {
        found.push([start, end]);
        continue;
      }
      // The replacement keeps a head and a tail of the match around REDACTED; the rest is secret.
      const replaced = replace(m[0], ...(m.slice(1) as string[]));
      const at = replaced.indexOf(REDACTED);
      if (at === -1) continue;
      const tail = replaced.length - at - REDACTED.length;
      if (start + at < end - tail) found.push([start + at, end - tail]);
    }
  }
  LONG_TOKEN.lastIndex = 0;
  for (const m of value.matchAll(LONG_TOKEN)) {
    if (looksLikeKeyMaterial(m[0])) found.push([m.index, m.index + m[0].length]);
  }
  found.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of found) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** Characters on either side of an excerpt's window that still take part in recognising a secret. */
const SECRET_CONTEXT = 256;

/**
 * Secret ranges of `value` that overlap `[from, to)`, recognised on a window `SECRET_CONTEXT`
 * characters wider on each side, so a secret cut by the excerpt's edge is still seen whole.
 */
export function secretRangesAround(value: string, from: number, to: number): SecretRange[] {
  const windowFrom = Math.max(0, from - SECRET_CONTEXT);
  const windowTo = Math.min(value.length, to + SECRET_CONTEXT);
  const out: SecretRange[] = [];
  for (const [s, e] of secretRanges(value.slice(windowFrom, windowTo))) {
    if (windowFrom + e > from && windowFrom + s < to) out.push([windowFrom + s, windowFrom + e]);
  }
  return out;
}

/**
 * A token fragment touching an elision mark `…`: base64/hex characters only, at least 12 of
 * them, with letters and digits (the tail of a JWT signature, the head of an AWS key id).
 * Whole words and paths do not qualify: `/` and `.` stop the run.
 */
const EDGE_HEAD = /^…([A-Za-z0-9_+=-]{12,})/;
const EDGE_TAIL = /([A-Za-z0-9_+=-]{12,})…$/;

function looksLikeFragment(run: string): boolean {
  return /[0-9]/.test(run) && /[A-Za-z]/.test(run);
}

function maskEdgeFragments(text: string): string {
  let out = text;
  const head = EDGE_HEAD.exec(out);
  if (head?.[1] !== undefined && looksLikeFragment(head[1])) out = `…${REDACTED}${out.slice(head[0].length)}`;
  const tail = EDGE_TAIL.exec(out);
  if (tail?.[1] !== undefined && looksLikeFragment(tail[1])) out = `${out.slice(0, tail.index)}${REDACTED}…`;
  return out;
}

/** Excerpt for a security event: secrets masked, control characters escaped, ≤ 64 characters. */
export function redact(value: string): string {
  // Bound the work on huge inputs; anything past this is cut anyway.
  const bounded = value.length > 4096 ? value.slice(0, 4096) : value;
  // eslint-disable-next-line no-control-regex
  const visible = maskSecrets(bounded).replace(/[\u0000-\u001f\u007f]/g, ' ');
  return maskEdgeFragments(visible.length <= EXCERPT_MAX_CHARS ? visible : `${visible.slice(0, EXCERPT_MAX_CHARS - 1)}…`);
}
