/**
 * The client address of a request, and the prefix a session binds to. Envoy's source peer
 * is the only address believed by default; `x-forwarded-for` entries are believed only while
 * the hop that added them is inside `spec.trustedProxies`, reading right to left, so a client
 * cannot choose its own address by sending the header itself.
 */
import { BlockList, isIP } from 'node:net';

export function normaliseAddress(address: string): string {
  let a = address.trim();
  if (a.startsWith('[') && a.includes(']')) a = a.slice(1, a.indexOf(']'));
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped?.[1] !== undefined) return mapped[1];
  return a.toLowerCase();
}

/** A matcher for `spec.trustedProxies` (CIDRs or single addresses), built once per server. */
export function compileTrustedProxies(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [addr = '', bits] = entry.trim().split('/');
    const address = normaliseAddress(addr);
    const family = isIP(address);
    if (family === 0) throw new Error(`spec.trustedProxies: '${entry}' is not an address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Right-most untrusted address: start at the peer; while the current hop is a trusted proxy,
 * step to the address it says it received the request from (the next entry leftwards).
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: BlockList | undefined): string {
  let current = normaliseAddress(peer);
  if (trusted === undefined || forwardedFor === undefined || forwardedFor === '') return current;
  const hops = forwardedFor.split(',').map(normaliseAddress);
  for (let i = hops.length - 1; i >= 0 && isTrusted(trusted, current); i--) {
    const hop = hops[i] ?? '';
    // A trusted proxy that wrote garbage tells us nothing; keep the last address we know.
    if (isIP(hop) === 0) break;
    current = hop;
  }
  return current;
}

function expandIpv6(address: string): number[] {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const o = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${(((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16)}:${(((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  return [...h, ...Array<string>(fill).fill('0'), ...t].map((g) => Number.parseInt(g, 16) || 0);
}

/** The address cut to a prefix (`203.0.113.0/24`), or itself at full length. */
export function addressPrefix(address: string, ipv4Bits: number, ipv6Bits: number): string {
  const family = isIP(address);
  if (family === 4) {
    if (ipv4Bits >= 32) return address;
    const n = address.split('.').reduce((acc, o) => (acc << 8) | Number(o), 0) >>> 0;
    const mask = ipv4Bits <= 0 ? 0 : (0xffffffff << (32 - ipv4Bits)) >>> 0;
    const m = (n & mask) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}/${ipv4Bits}`;
  }
  if (family === 6) {
    if (ipv6Bits >= 128) return address;
    const groups = expandIpv6(address).map((g, i) => {
      const keep = Math.max(0, Math.min(16, ipv6Bits - i * 16));
      return keep === 0 ? 0 : g & ((0xffff << (16 - keep)) & 0xffff);
    });
    return `${groups.map((g) => g.toString(16)).join(':')}/${ipv6Bits}`;
  }
  return address;
}

/** Where new sessions are counted from: one address, or one IPv6 /64 (what one host gets). */
export function sourceKey(address: string): string {
  return isIP(address) === 0 ? '' : addressPrefix(address, 32, 64);
}

/** An address for operators' listings without pinpointing the host: IPv4 /24, IPv6 /48. */
export function redactedAddress(address: string): string {
  const known = recentRedacted.get(address);
  if (known !== undefined) return known;
  const family = isIP(address);
  const redacted = family === 4 ? `${address.split('.').slice(0, 3).join('.')}.x` : family === 6 ? addressPrefix(address, 32, 48) : '';
  // Addresses repeat request after request; bounded, starting over when full.
  if (address.length <= 64) {
    if (recentRedacted.size >= MAX_RECENT_REDACTED) recentRedacted.clear();
    recentRedacted.set(address, redacted);
  }
  return redacted;
}

const recentRedacted = new Map<string, string>();
const MAX_RECENT_REDACTED = 4_096;
