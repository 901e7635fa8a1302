/**
 * SSRF detector (kind `url`, detector `ssrf`). The URL is parsed here, strictly, rather than
 * trusted to one parser: anything on which parsers are known to disagree (backslashes,
 * userinfo, whitespace and control characters, malformed hosts and ports) is refused, and
 * the host is read the way the most permissive consumer reads it — every IPv4 spelling of
 * the WHATWG URL host parser and inet_aton (decimal, octal, hex, 1–4 parts), IPv6 with
 * embedded IPv4 (mapped, compatible, NAT64, 6to4, Teredo), zone ids, percent-encoding and
 * Unicode full-width forms. Blocked: loopback, RFC 1918, link-local, CGNAT, unspecified,
 * ULA, multicast, reserved/broadcast, cloud metadata endpoints, and host names that are
 * internal by construction (localhost, single-label names, *.internal, cluster DNS,
 * wildcard-DNS services that embed an address such as *.nip.io). DNS is not resolved here:
 * a public name may still resolve to a private address, which only the fetcher can stop.
 *
 * Rules: ssrf-malformed-url, ssrf-scheme, ssrf-parser-confusion, ssrf-userinfo, ssrf-crlf,
 * ssrf-invalid-host, ssrf-metadata, ssrf-private-address, ssrf-internal-host,
 * ssrf-host-not-allowed.
 */
import type { ArgumentRule } from '../api/types.js';
import { describeToken, hasNonAscii, hexValue, percentDecodeOnce } from './decode.js';
import { excerptAround } from './excerpt.js';
import type { DetectorFinding, KindInspector } from './types.js';

/**
 * The web schemes, held to the host rules: WebSocket and ftp URLs share http's authority syntax
 * (WHATWG special schemes), and public downloads still live on ftp (ftp.gnu.org, Debian mirrors).
 * An FTP server's PASV reply can point the client at an address the URL never names, but an
 * http server's redirect can do the same: neither is visible in the argument, so both are left
 * to the fetcher's egress policy. `schemes` on the rule narrows this (`[https]`).
 */
const DEFAULT_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'ws', 'wss', 'ftp']);
/** WHATWG "special" schemes: any run of slashes after the colon leads to the authority. */
const SPECIAL_SCHEMES = new Set(['http', 'https', 'ws', 'wss', 'ftp', 'file']);
const MAX_URL_LENGTH = 8192;
const MAX_HOST_LENGTH = 253;

// ---------------------------------------------------------------------------------------
// Host globs

interface HostGlobs {
  readonly literal: ReadonlySet<string>;
  readonly patterns: readonly string[];
}

function compileHostGlobs(globs: readonly string[] | undefined): HostGlobs | undefined {
  if (globs === undefined || globs.length === 0) return undefined;
  const literal = new Set<string>();
  const patterns: string[] = [];
  for (const g of globs) {
    const host = g.trim().toLowerCase().replace(/\.$/, '');
    if (host.includes('*')) patterns.push(host);
    else literal.add(host);
  }
  return { literal, patterns };
}

/** `*` matches any run of characters, dots included (`*.example.com` covers every depth). */
function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function matchesHost(globs: HostGlobs, host: string): boolean {
  if (globs.literal.has(host)) return true;
  for (const p of globs.patterns) if (wildcardMatch(p, host)) return true;
  return false;
}

export interface CompiledUrlRule {
  readonly schemes: ReadonlySet<string>;
  readonly allow: HostGlobs | undefined;
  readonly deny: HostGlobs | undefined;
}

const DEFAULT_URL_RULE: CompiledUrlRule = { schemes: DEFAULT_SCHEMES, allow: undefined, deny: undefined };
const compiledRules = new WeakMap<ArgumentRule, CompiledUrlRule>();

/** Compiles a url rule's schemes and host globs once (cached per rule object). */
export function compileUrlRule(rule: ArgumentRule | undefined): CompiledUrlRule {
  if (rule === undefined || (rule.schemes === undefined && rule.allow === undefined && rule.deny === undefined)) return DEFAULT_URL_RULE;
  const cached = compiledRules.get(rule);
  if (cached !== undefined) return cached;
  const compiled: CompiledUrlRule = {
    schemes: rule.schemes !== undefined ? new Set(rule.schemes.map((s) => s.toLowerCase().replace(/:$/, ''))) : DEFAULT_SCHEMES,
    allow: compileHostGlobs(rule.allow),
    deny: compileHostGlobs(rule.deny),
  };
  compiledRules.set(rule, compiled);
  return compiled;
}

// ---------------------------------------------------------------------------------------
// IPv4 (WHATWG URL "IPv4 parser", which also accepts every inet_aton spelling)

type Ipv4Parse = { kind: 'ipv4'; address: number } | { kind: 'invalid' } | { kind: 'name' };

function parseIpv4Number(part: string): number | undefined {
  if (part === '') return undefined;
  let radix = 10;
  let digits = part;
  if (part.length >= 2 && part[0] === '0' && (part[1] === 'x' || part[1] === 'X')) {
    radix = 16;
    digits = part.slice(2);
  } else if (part.length >= 2 && part[0] === '0') {
    radix = 8;
    digits = part.slice(1);
  }
  if (digits === '') return 0;
  let value = 0;
  for (let i = 0; i < digits.length; i++) {
    const d = hexValue(digits.charCodeAt(i));
    if (d < 0 || d >= radix) return undefined;
    value = value * radix + d;
    if (value > 0xffffffff) return Infinity; // too large; keep scanning would not change that
  }
  return value;
}

function endsInANumber(labels: readonly string[]): boolean {
  const last = labels[labels.length - 1] ?? '';
  if (last === '') return false;
  let allDigits = true;
  for (let i = 0; i < last.length; i++) if (last.charCodeAt(i) < 0x30 || last.charCodeAt(i) > 0x39) allDigits = false;
  return allDigits || parseIpv4Number(last) !== undefined;
}

function parseIpv4(host: string): Ipv4Parse {
  const labels = host.split('.');
  if (labels.length > 1 && labels[labels.length - 1] === '') labels.pop();
  if (!endsInANumber(labels)) return { kind: 'name' };
  if (labels.length > 4) return { kind: 'invalid' };
  const numbers: number[] = [];
  for (const label of labels) {
    const n = parseIpv4Number(label);
    if (n === undefined) return { kind: 'invalid' };
    numbers.push(n);
  }
  const last = numbers.pop() as number;
  for (const n of numbers) if (n > 255) return { kind: 'invalid' };
  if (last >= 256 ** (5 - labels.length)) return { kind: 'invalid' };
  let address = last;
  numbers.forEach((n, i) => {
    address += n * 256 ** (3 - i);
  });
  return { kind: 'ipv4', address };
}

function ipv4Text(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

function ipv4Number(text: string): number {
  return text.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
}

/**
 * Cloud metadata and platform endpoints. Most sit in link-local or CGNAT space anyway; Azure's
 * WireServer (168.63.129.16: goal state, certificates, extension settings) is a public-range
 * address reachable only from inside Azure, so no range check would catch it.
 */
const IPV4_METADATA = new Set(
  ['169.254.169.254', '169.254.170.2', '169.254.170.23', '169.254.169.253', '169.254.169.123', '100.100.100.200', '192.0.0.192', '168.63.129.16'].map(ipv4Number),
);

/** Non-public IPv4 ranges (RFC 6890 special-purpose registry), as [first, size, what]. */
const IPV4_BLOCKED: ReadonlyArray<readonly [number, number, string]> = (
  [
    ['0.0.0.0', 8, 'unspecified / this-network'],
    ['10.0.0.0', 8, 'private (RFC 1918)'],
    ['100.64.0.0', 10, 'carrier-grade NAT'],
    ['127.0.0.0', 8, 'loopback'],
    ['169.254.0.0', 16, 'link-local'],
    ['172.16.0.0', 12, 'private (RFC 1918)'],
    ['192.0.0.0', 24, 'IETF protocol assignments'],
    ['192.168.0.0', 16, 'private (RFC 1918)'],
    ['198.18.0.0', 15, 'benchmarking'],
    ['224.0.0.0', 4, 'multicast'],
    ['240.0.0.0', 4, 'reserved / broadcast'],
  ] as const
).map(([base, bits, what]) => [ipv4Number(base), 2 ** (32 - bits), what] as const);

interface HostVerdict {
  readonly rule: string;
  readonly what: string;
}

/** Why an IPv4 address must not be fetched, or undefined for a public address. */
function classifyIpv4(a: number): HostVerdict | undefined {
  if (IPV4_METADATA.has(a)) return { rule: 'ssrf-metadata', what: `cloud metadata address ${ipv4Text(a)}` };
  for (const [first, size, what] of IPV4_BLOCKED) if (a >= first && a < first + size) return { rule: 'ssrf-private-address', what: `${what} address ${ipv4Text(a)}` };
  return undefined;
}

// ---------------------------------------------------------------------------------------
// IPv6 (RFC 4291 §2.2 text forms, RFC 6874 zone ids)

function parseIpv6(text: string): number[] | undefined {
  const zone = text.indexOf('%');
  const s = zone === -1 ? text : text.slice(0, zone);
  if (s.length === 0 || s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string, allowV4: boolean): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (allowV4 && i === groups.length - 1 && g.includes('.')) {
        const v4 = g.split('.');
        if (v4.length !== 4) return undefined;
        const bytes = v4.map((x) => (/^\d{1,3}$/.test(x) ? Number(x) : 256));
        if (bytes.some((b) => b > 255)) return undefined;
        out.push(((bytes[0] as number) << 8) | (bytes[1] as number), ((bytes[2] as number) << 8) | (bytes[3] as number));
        continue;
      }
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  if (halves.length === 2) {
    const head = parseGroups(halves[0] as string, false);
    const tail = parseGroups(halves[1] as string, true);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const all = parseGroups(s, true);
  return all !== undefined && all.length === 8 ? all : undefined;
}

function v4From(hi: number, lo: number): number {
  return hi * 65536 + lo;
}

function classifyIpv6(g: readonly number[]): HostVerdict | undefined {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const text = g.map((x) => x.toString(16)).join(':');
  const firstFiveZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (firstFiveZero && g5 === 0 && g6 === 0 && g7 === 0) return { rule: 'ssrf-private-address', what: 'unspecified address ::' };
  if (firstFiveZero && g5 === 0 && g6 === 0 && g7 === 1) return { rule: 'ssrf-private-address', what: 'loopback address ::1' };
  if (text === 'fd00:ec2:0:0:0:0:0:254') return { rule: 'ssrf-metadata', what: 'cloud metadata address fd00:ec2::254' };
  const embedded = (a: number, how: string): HostVerdict | undefined => {
    const inner = classifyIpv4(a);
    return inner !== undefined ? { rule: inner.rule, what: `${how} ${inner.what}` } : undefined;
  };
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), ::ffff:0:a.b.c.d (SIIT)
  if (firstFiveZero && (g5 === 0xffff || g5 === 0)) return embedded(v4From(g6, g7), 'IPv6-embedded');
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return embedded(v4From(g6, g7), 'IPv6-embedded');
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052) and local-use 64:ff9b:1::/48 (RFC 8215)
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embedded(v4From(g6, g7), 'NAT64');
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return { rule: 'ssrf-private-address', what: 'local-use NAT64 address' };
  // 6to4 2002::/16 embeds the IPv4 in bits 16-47; Teredo 2001::/32 the client's, inverted.
  if (g0 === 0x2002) return embedded(v4From(g1, g2), '6to4');
  if (g0 === 0x2001 && g1 === 0) return embedded(v4From(g6 ^ 0xffff, g7 ^ 0xffff), 'Teredo') ?? embedded(v4From(g2, g3), 'Teredo');
  if ((g0 & 0xffc0) === 0xfe80) return { rule: 'ssrf-private-address', what: 'link-local IPv6 address' };
  if ((g0 & 0xffc0) === 0xfec0) return { rule: 'ssrf-private-address', what: 'site-local IPv6 address' };
  if ((g0 & 0xfe00) === 0xfc00) return { rule: 'ssrf-private-address', what: 'unique-local IPv6 address' };
  if ((g0 & 0xff00) === 0xff00) return { rule: 'ssrf-private-address', what: 'multicast IPv6 address' };
  if (g0 === 0x100 && g1 === 0 && g2 === 0 && g3 === 0) return { rule: 'ssrf-private-address', what: 'discard-only IPv6 address' };
  if (firstFiveZero) return { rule: 'ssrf-private-address', what: 'reserved IPv6 address' };
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Host names

const METADATA_NAMES = new Set([
  'metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal',
  'metadata.azure.com', 'metadata.azure.internal', 'metadata.packet.net', 'metadata.platformequinix.com',
  'metadata.tencentyun.com', 'rancher-metadata',
]);
const INTERNAL_NAMES = new Set([
  'localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback', 'kubernetes', 'kubernetes.default',
  'broadcasthost', 'localtest.me', 'lvh.me', 'vcap.me', 'localho.st', 'localh.st', 'lacolhost.com', 'fuf.me', '1u.ms',
  'localdev.me', 'localhost.direct',
]);
/** Suffixes of names that resolve only inside a host, a LAN or a cluster (RFC 6761, RFC 6762, k8s DNS). */
const INTERNAL_SUFFIXES = [
  '.localhost', '.local', '.localdomain', '.internal', '.intranet', '.lan', '.home.arpa', '.corp', '.home',
  '.svc', '.cluster.local', '.svc.cluster.local', '.kubernetes.default', '.kubernetes.default.svc', '.consul',
];
/** Wildcard-DNS, rebinding and redirect services that answer with an address chosen in the name. */
const ADDRESS_IN_NAME_SERVICES = [
  '.nip.io', '.sslip.io', '.xip.io', '.traefik.me', '.localtest.me', '.lvh.me', '.vcap.me', '.localho.st',
  '.localh.st', '.lacolhost.com', '.fuf.me', '.1u.ms', '.rbndr.us', '.r3dir.me', '.nip.direct', '.backname.io', '.xip.name',
  // Local-development domains whose every subdomain resolves to 127.0.0.1 (DDEV, Lando, ingress-nginx docs, localhost.direct).
  '.ddev.site', '.lndo.site', '.localdev.me', '.localhost.direct',
];

function endsWithAny(host: string, suffixes: readonly string[]): string | undefined {
  for (const s of suffixes) if (host.endsWith(s)) return s;
  return undefined;
}

/**
 * An internal IPv4 written into a name as four decimal tokens separated by "." or "-":
 * `127.0.0.1.evil.com`, `10-0-0-1.x.io`, and the two mixed, as DNS-pinning services spell it
 * (`ssrf-169.254.169.254.pin.example`). One pass over the host, no allocation unless found.
 */
function embeddedInternalAddress(host: string): string | undefined {
  const octets = [-1, -1, -1, -1]; // the last four tokens, -1 where a token is not an octet
  let tokens = 0;
  let value = 0;
  let digits = 0;
  let other = false;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 0x2e;
    if (c === 0x2e || c === 0x2d) {
      octets[tokens & 3] = !other && digits >= 1 && digits <= 3 && value <= 255 ? value : -1;
      tokens++;
      if (tokens >= 4) {
        const a = octets[tokens & 3] as number;
        const b = octets[(tokens + 1) & 3] as number;
        const c2 = octets[(tokens + 2) & 3] as number;
        const d = octets[(tokens + 3) & 3] as number;
        if (a >= 0 && b >= 0 && c2 >= 0 && d >= 0 && classifyIpv4(((a << 24) >>> 0) + (b << 16) + (c2 << 8) + d) !== undefined) return `${a}.${b}.${c2}.${d}`;
      }
      value = 0;
      digits = 0;
      other = false;
    } else if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else {
      other = true;
    }
  }
  return undefined;
}

const SINGLE_LABEL = 'single-label host name';

function classifyName(host: string): HostVerdict | undefined {
  if (METADATA_NAMES.has(host)) return { rule: 'ssrf-metadata', what: `cloud metadata host name '${host}'` };
  if (INTERNAL_NAMES.has(host)) return { rule: 'ssrf-internal-host', what: `internal host name '${host}'` };
  const service = endsWithAny(host, ADDRESS_IN_NAME_SERVICES);
  if (service !== undefined) return { rule: 'ssrf-internal-host', what: `wildcard-DNS service '*${service}' that resolves to an address chosen in the name` };
  const suffix = endsWithAny(host, INTERNAL_SUFFIXES);
  if (suffix !== undefined) return { rule: 'ssrf-internal-host', what: `internal domain '*${suffix}'` };
  const labels = host.split('.');
  if (labels.length === 1) return { rule: 'ssrf-internal-host', what: `${SINGLE_LABEL} (resolved through internal search domains)` };
  if (labels.some((l) => l.startsWith('kubernetes.default'))) return { rule: 'ssrf-internal-host', what: 'cluster service name' };
  const embedded = embeddedInternalAddress(host);
  if (embedded !== undefined) return { rule: 'ssrf-internal-host', what: `host name embedding the internal address ${embedded}` };
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Parsing

function fail(rule: string, message: string, value: string, at: number, length: number): DetectorFinding {
  return { detector: 'ssrf', rule, message: `ssrf: ${message}`, excerpt: excerptAround(value, at, at + length) };
}

const FORBIDDEN_HOST_CHARS = new Set([...' #%/:<>?@[\\]^|'].map((c) => c.charCodeAt(0)));

/**
 * Default_Ignorable_Code_Point ranges. UTS #46 maps the ones it allows (soft hyphen, zero-width
 * space, word joiner, BOM, variation selectors, Hangul fillers …) to nothing, so the WHATWG host
 * parser fetches `127.0.0.1%C2%AD` as 127.0.0.1; transitional IDNA also drops ZWJ/ZWNJ, and the
 * bidi controls among them are refused by strict parsers but dropped by lax ones. Removing the
 * whole property errs toward the reading that reaches the internal host.
 */
const IGNORABLE_RANGES: readonly (readonly [number, number])[] = [
  [0xad, 0xad], [0x34f, 0x34f], [0x61c, 0x61c], [0x115f, 0x1160], [0x17b4, 0x17b5], [0x180b, 0x180f],
  [0x200b, 0x200f], [0x202a, 0x202e], [0x2060, 0x206f], [0x3164, 0x3164], [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
  [0xffa0, 0xffa0], [0xfff0, 0xfff8], [0x1bca0, 0x1bca3], [0x1d173, 0x1d17a], [0xe0000, 0xe0fff],
];

function isIgnorable(cp: number): boolean {
  for (const [first, last] of IGNORABLE_RANGES) {
    if (cp < first) return false;
    if (cp <= last) return true;
  }
  return false;
}

/** The host without default-ignorable code points. */
function stripIgnorable(host: string): string {
  let out = '';
  for (const ch of host) if (!isIgnorable(ch.codePointAt(0) as number)) out += ch;
  return out;
}

/** WHATWG-like host canonicalisation: percent-decoding, full-width folding (NFKC), ignorables dropped, lower case. */
function canonicalHost(raw: string): string | undefined {
  let host = raw;
  if (host.includes('%')) {
    const flags = { overlong: false, invalidUtf8: false, percentU: false };
    host = percentDecodeOnce(host, flags);
    if (flags.overlong || flags.invalidUtf8 || flags.percentU) return undefined;
  }
  // NFKC, the ignorables and the ideographic dots only concern non-ASCII hosts (the common case skips them).
  if (hasNonAscii(host)) host = stripIgnorable(host.normalize('NFKC')).replace(/[\u3002\uff0e\uff61]/g, '.');
  host = host.toLowerCase();
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || FORBIDDEN_HOST_CHARS.has(c)) return undefined;
  }
  return host;
}

/** Inspects one URL under a precompiled rule. */
export function inspectUrlCompiled(value: string, rule: CompiledUrlRule): DetectorFinding | undefined {
  if (value.length > MAX_URL_LENGTH) return fail('ssrf-malformed-url', `URL longer than ${MAX_URL_LENGTH} characters`, value, 0, 0);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) {
      return fail('ssrf-malformed-url', `whitespace or control character ${describeToken(value[i] as string)} in URL (parsers strip or split on it differently)`, value, i, 1);
    }
  }
  // Scheme
  let scheme = 'http';
  let rest = value;
  let explicitScheme = false;
  const colon = value.indexOf(':');
  if (colon > 0 && /^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(value.slice(0, Math.min(colon, 64))) && colon <= 64) {
    scheme = value.slice(0, colon).toLowerCase();
    rest = value.slice(colon + 1);
    explicitScheme = true;
  }
  if (explicitScheme && !rule.schemes.has(scheme)) {
    return fail('ssrf-scheme', `scheme '${scheme.slice(0, 16)}:' is not allowed (allowed: ${[...rule.schemes].join(', ')})`, value, 0, colon + 1);
  }
  const backslash = value.indexOf('\\');
  if (backslash !== -1) return fail('ssrf-parser-confusion', 'backslash in URL (WHATWG reads it as "/", other parsers as data)', value, backslash, 1);
  // In the query or fragment an escaped CR/LF is data that clients send still escaped (a
  // pre-filled issue body, a multi-line search); before it, servers and proxies decode it.
  const crlf = findEncodedCrlf(value, queryStart(value));
  if (crlf !== -1) return fail('ssrf-crlf', 'percent-encoded CR/LF in URL (header injection into the fetched request)', value, crlf, 3);
  // Authority
  let i = 0;
  if (!explicitScheme || SPECIAL_SCHEMES.has(scheme)) {
    while (i < rest.length && rest.charCodeAt(i) === 0x2f) i++;
  } else if (rest.startsWith('//')) {
    i = 2;
  } else {
    return undefined; // opaque URL of an explicitly allowed scheme (mailto:, urn:) has no host
  }
  let end = i;
  while (end < rest.length) {
    const c = rest.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break;
    end++;
  }
  const authority = rest.slice(i, end);
  const at = authority.lastIndexOf('@');
  if (at !== -1) return fail('ssrf-userinfo', 'userinfo (user@host) in URL: the host is what follows the last "@"', value, value.indexOf('@'), 1);
  const hostFinding = inspectAuthority(authority, value, rule);
  if (hostFinding !== undefined) return hostFinding;
  return findShadowAuthority(rest, end, value);
}

/**
 * `http://good.example#@127.0.0.1/`: a parser that splits on the last "@" without honouring
 * `#`, `?` or `/` reads the text after it as the host. Refuse when that reading is blocked.
 * Inside the path, `name@9` or `name@0.4.1` is a version pin (unpkg, jsdelivr, esm.sh), and
 * the short-number IPv4 forms would read it as 0.0.0.9 or 10.2.0.4; there only an address
 * written as a dotted quad, an IPv6 literal or a host name counts.
 */
function findShadowAuthority(rest: string, from: number, value: string): DetectorFinding | undefined {
  const pathStart = rest.indexOf('/', from);
  for (let at = rest.indexOf('@', from); at !== -1; at = rest.indexOf('@', at + 1)) {
    let end = at + 1;
    const limit = Math.min(rest.length, at + 2 + MAX_HOST_LENGTH);
    while (end < limit && !'/?#'.includes(rest[end] as string)) end++;
    const candidate = rest.slice(at + 1, end);
    if (candidate === '' || candidate.length > MAX_HOST_LENGTH) continue;
    if (pathStart !== -1 && at > pathStart && isShortNumericHost(candidate)) continue;
    const shadow = inspectAuthority(candidate, value, DEFAULT_URL_RULE);
    // `@scope/pkg` paths are common; only addresses and well-known internal names count here.
    if (shadow !== undefined && shadow.rule !== 'ssrf-invalid-host' && !shadow.message.includes(SINGLE_LABEL)) {
      return fail('ssrf-parser-confusion', `"@" after the host: a lenient parser would fetch ${shadow.message.replace(/^ssrf: URL targets /, '')}`, value, value.indexOf('@'), 1);
    }
  }
  return undefined;
}

/**
 * Digits and dots other than a four-part dotted quad (`9`, `0.4.1`, `10.19.3`), before any port.
 * A lone number of nine or more digits is kept: every private address but 0.0.0.0/8 is one.
 */
function isShortNumericHost(authority: string): boolean {
  let parts = 1;
  let digits = 0;
  for (let i = 0; i < authority.length; i++) {
    const c = authority.charCodeAt(i);
    if (c === 0x3a) break;
    if (c === 0x2e) parts++;
    else if (c >= 0x30 && c <= 0x39) digits++;
    else return false;
  }
  return parts === 1 ? digits < 9 : parts !== 4;
}

function queryStart(s: string): number {
  const q = s.indexOf('?');
  const h = s.indexOf('#');
  if (q === -1) return h === -1 ? s.length : h;
  return h === -1 ? q : Math.min(q, h);
}

function findEncodedCrlf(s: string, end: number): number {
  let i = s.indexOf('%');
  while (i !== -1 && i < end) {
    if (s.charCodeAt(i + 1) === 0x30) {
      const l = s.charCodeAt(i + 2) | 0x20;
      if (l === 0x61 || l === 0x64) return i;
    }
    i = s.indexOf('%', i + 1);
  }
  return -1;
}

function inspectAuthority(authority: string, value: string, rule: CompiledUrlRule): DetectorFinding | undefined {
  let hostText: string;
  let port: string;
  let ipv6: number[] | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return fail('ssrf-invalid-host', 'IPv6 literal without closing "]"', value, value.indexOf('['), 8);
    hostText = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return fail('ssrf-invalid-host', 'characters after the IPv6 literal', value, 0, 0);
    port = after.slice(1);
    ipv6 = parseIpv6(hostText.replace(/%25/, '%'));
    if (ipv6 === undefined) return fail('ssrf-invalid-host', 'malformed IPv6 literal', value, value.indexOf('['), 8);
  } else {
    const colon = authority.indexOf(':');
    hostText = colon === -1 ? authority : authority.slice(0, colon);
    port = colon === -1 ? '' : authority.slice(colon + 1);
  }
  if (port !== '' && !(/^\d{1,5}$/.test(port) && Number(port) <= 65535)) {
    return fail('ssrf-invalid-host', 'port is not a number from 0 to 65535', value, value.indexOf(port), port.length);
  }
  if (ipv6 !== undefined) return judge(classifyIpv6(ipv6), hostText.toLowerCase(), value, rule);
  if (hostText === '') return fail('ssrf-invalid-host', 'URL has no host', value, 0, 0);
  const host = canonicalHost(hostText);
  if (host === undefined || host.length > MAX_HOST_LENGTH + 1) return fail('ssrf-invalid-host', 'host has forbidden characters or encodings', value, value.indexOf(hostText.slice(0, 8)), 8);
  const trimmed = host.endsWith('.') ? host.slice(0, -1) : host;
  if (trimmed === '' || trimmed.startsWith('.') || trimmed.includes('..')) return fail('ssrf-invalid-host', 'host has empty labels', value, 0, 0);
  const v4 = parseIpv4(trimmed);
  if (v4.kind === 'invalid') return fail('ssrf-invalid-host', 'host looks like an IPv4 address but is not a valid one (out of range or malformed)', value, value.indexOf(hostText.slice(0, 8)), 8);
  if (v4.kind === 'ipv4') return judge(classifyIpv4(v4.address), ipv4Text(v4.address), value, rule);
  return judge(classifyName(trimmed), trimmed, value, rule);
}

function judge(verdict: HostVerdict | undefined, host: string, value: string, rule: CompiledUrlRule): DetectorFinding | undefined {
  const where = Math.max(0, value.indexOf('//') + 2);
  if (rule.deny !== undefined && matchesHost(rule.deny, host)) return fail('ssrf-host-not-allowed', 'host matches a deny glob', value, where, 16);
  // Metadata endpoints are never allowed; an exact allow entry may open an internal host.
  const exactlyAllowed = rule.allow !== undefined && rule.allow.literal.has(host);
  if (verdict !== undefined && (verdict.rule === 'ssrf-metadata' || !exactlyAllowed)) {
    return fail(verdict.rule, `URL targets ${verdict.what}`, value, where, 16);
  }
  if (rule.allow !== undefined && !matchesHost(rule.allow, host)) return fail('ssrf-host-not-allowed', 'host is not on the allowed host list', value, where, 16);
  return undefined;
}

/** KindInspector for `url` values. */
export const inspectUrl: KindInspector = (value, rule) => {
  try {
    return inspectUrlCompiled(value, compileUrlRule(rule));
  } catch {
    return { detector: 'ssrf', rule: 'ssrf-inspection-failed', message: 'ssrf: the URL could not be inspected', excerpt: '' };
  }
};
