/**
 * Writes a small MaxMind DB (.mmdb, format 2.0) file: an IPv4 search tree over the given
 * networks with a country record each, as GeoIP2/GeoLite2 Country databases lay it out. For
 * tests of the pluggable .mmdb reader without shipping a licensed database.
 * Format: https://maxmind.github.io/MaxMind-DB/
 */
import { writeFile } from 'node:fs/promises';

type Value = string | number | { [key: string]: Value } | Value[];

function control(type: number, size: number): number[] {
  if (size >= 29) throw new Error('mmdb writer: field too long for this small writer');
  return type <= 7 ? [(type << 5) | size] : [size, type - 7];
}

function encode(value: Value, uintType = 6): number[] {
  if (typeof value === 'string') {
    const bytes = [...Buffer.from(value, 'utf8')];
    return [...control(2, bytes.length), ...bytes];
  }
  if (typeof value === 'number') {
    const bytes: number[] = [];
    for (let v = BigInt(value); v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
    return [...control(uintType, bytes.length), ...bytes];
  }
  if (Array.isArray(value)) return [...control(11, value.length), ...value.flatMap((v) => encode(v))];
  const entries = Object.entries(value);
  return [...control(7, entries.length), ...entries.flatMap(([k, v]) => [...encode(k), ...encode(v, k === 'record_size' || k.startsWith('binary_format') || k === 'ip_version' ? 5 : k === 'build_epoch' ? 9 : 6)])];
}

interface Node {
  children: [Node | number | undefined, Node | number | undefined];
  index: number;
}

/** `networks`: CIDR → ISO country code, IPv4 only. */
export async function writeCountryMmdb(path: string, networks: Readonly<Record<string, string>>): Promise<void> {
  const data: number[] = [];
  const offsets = new Map<string, number>();
  for (const country of new Set(Object.values(networks))) {
    offsets.set(country, data.length);
    data.push(...encode({ country: { iso_code: country, names: { en: country } } }));
  }
  const root: Node = { children: [undefined, undefined], index: 0 };
  for (const [cidr, country] of Object.entries(networks)) {
    const [addr = '', bits = '32'] = cidr.split('/');
    const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    let node = root;
    const depth = Number(bits);
    for (let i = 0; i < depth; i++) {
      const bit = Math.floor(n / 2 ** (31 - i)) % 2;
      if (i === depth - 1) {
        node.children[bit] = -1 - (offsets.get(country) ?? 0);
      } else {
        let next = node.children[bit];
        if (typeof next !== 'object') node.children[bit] = next = { children: [undefined, undefined], index: 0 };
        node = next;
      }
    }
  }
  const nodes: Node[] = [];
  const number = (node: Node): void => {
    node.index = nodes.length;
    nodes.push(node);
    for (const c of node.children) if (typeof c === 'object') number(c);
  };
  number(root);
  const count = nodes.length;
  const record = (c: Node | number | undefined): number => {
    if (c === undefined) return count;
    if (typeof c === 'object') return c.index;
    return count + 16 + (-1 - c);
  };
  const tree: number[] = [];
  for (const node of nodes) {
    for (const c of node.children) {
      const v = record(c);
      tree.push((v >> 16) & 255, (v >> 8) & 255, v & 255);
    }
  }
  const metadata = encode({
    node_count: count,
    record_size: 24,
    ip_version: 4,
    database_type: 'Test-Country',
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: Math.floor(Date.UTC(2026, 0, 1) / 1_000),
    description: { en: 'MCP Warden test database' },
  });
  const marker = [0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')];
  await writeFile(path, Buffer.from([...tree, ...new Array<number>(16).fill(0), ...data, ...marker, ...metadata]));
}
