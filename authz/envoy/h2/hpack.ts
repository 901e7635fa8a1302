/**
 * HPACK (RFC 7541) for the ext_authz HTTP/2 server: a decoder with a dynamic table for the
 * request header blocks Envoy sends, and a stateless encoder for our responses and trailers.
 * Strings are octets: they are decoded and encoded as latin1, so every byte survives.
 */
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES, STATIC_TABLE } from './hpack-tables.js';

export type HeaderField = readonly [name: string, value: string];

/** A malformed header block: for HTTP/2 a connection error of type COMPRESSION_ERROR. */
export class HpackError extends Error {
  override name = 'HpackError';
}

/**
 * Thrown when a block decodes to more than maxListBytes (RFC 7540 §6.5.2 size: name + value +
 * 32 per field). Not a compression error: the decoder state stays consistent, because the
 * whole block is still decoded into the dynamic table before this is thrown.
 */
export class HeaderListTooLarge extends Error {
  override name = 'HeaderListTooLarge';
}

/** §4.1: an entry's size is its name and value octets plus this overhead. */
const ENTRY_OVERHEAD = 32;
const STATIC_COUNT = STATIC_TABLE.length;
/** §5.1 leaves integers unbounded; anything past 2^31 - 1 is an attack, not a header. */
const MAX_INT = 0x7fffffff;
/** 2^31 needs 5 continuation bytes after the prefix (7 bits each); a 6th is refused. */
const MAX_CONTINUATION_BYTES = 5;
/** Dynamic table slots to start with; 4096 octets hold at most 128 entries (32 octets each). */
const INITIAL_SLOTS = 16;

// ---------------------------------------------------------------------------------------
// Huffman (§5.2, Appendix B): a 4-bit state machine built once from the code table.
// States are the internal nodes of the code tree (256 of them for 257 symbols); feeding a
// nibble to a state gives the next state and at most one symbol (every code is ≥ 5 bits).

const H_NEXT_MASK = 0xff;
const H_EMIT = 0x100;
const H_FAIL = 0x200;
const H_SYM_SHIFT = 16;
const EOS = 256;

/** transition[(state << 4) | nibble]: next state | H_EMIT | symbol << 16, or H_FAIL. */
const HUFFMAN_TRANSITIONS = new Uint32Array(256 * 16);
/** State s is a valid place to stop: reached from the root by 0-7 one bits (§5.2 padding). */
const HUFFMAN_ACCEPTS = new Uint8Array(256);

function buildHuffmanDecoder(): void {
  // Children: ≥ 0 is an internal node, < 0 is the leaf of symbol -(c + 1).
  const child0: number[] = [0];
  const child1: number[] = [0];
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    const len = HUFFMAN_CODE_LENGTHS[sym]!;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const children = (code >>> bit) & 1 ? child1 : child0;
      if (bit === 0) {
        children[node] = -(sym + 1);
      } else {
        if (!children[node]) {
          children[node] = nodes;
          child0[nodes] = 0;
          child1[nodes] = 0;
          nodes++;
        }
        node = children[node]!;
      }
    }
  }
  // The code is complete (Kraft sum 1): every internal node but the root has both children set.
  if (nodes !== 256) throw new Error(`HPACK Huffman table: ${nodes} internal nodes, expected 256`);
  for (let state = 0; state < nodes; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let out = 0;
      for (let i = 3; i >= 0; i--) {
        const c = ((nibble >>> i) & 1 ? child1 : child0)[node]!;
        if (c >= 0) {
          node = c;
          continue;
        }
        const sym = -c - 1;
        if (sym === EOS) {
          out = H_FAIL;
          break;
        }
        out = H_EMIT | (sym << H_SYM_SHIFT);
        node = 0;
      }
      HUFFMAN_TRANSITIONS[(state << 4) | nibble] = out === H_FAIL ? H_FAIL : out | node;
    }
  }
  for (let node = 0, depth = 0; depth <= 7; depth++, node = child1[node]!) HUFFMAN_ACCEPTS[node] = 1;
}
buildHuffmanDecoder();

/** Decoded Huffman octets land here, then become one string: no per-byte concatenation. */
let huffmanScratch = Buffer.allocUnsafe(4096);

function huffmanDecode(src: Buffer, start: number, end: number): string {
  // The shortest code is 5 bits, so n octets decode to at most 8n/5 symbols.
  const bound = Math.ceil(((end - start) * 8) / 5);
  if (huffmanScratch.length < bound) huffmanScratch = Buffer.allocUnsafe(Math.max(bound, huffmanScratch.length * 2));
  const out = huffmanScratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    let t = HUFFMAN_TRANSITIONS[(state << 4) | (byte >>> 4)]!;
    if (t & H_FAIL) throw new HpackError('Huffman string contains EOS');
    if (t & H_EMIT) out[n++] = t >>> H_SYM_SHIFT;
    state = t & H_NEXT_MASK;
    t = HUFFMAN_TRANSITIONS[(state << 4) | (byte & 0x0f)]!;
    if (t & H_FAIL) throw new HpackError('Huffman string contains EOS');
    if (t & H_EMIT) out[n++] = t >>> H_SYM_SHIFT;
    state = t & H_NEXT_MASK;
  }
  if (!HUFFMAN_ACCEPTS[state]) throw new HpackError('Huffman padding longer than 7 bits or not all ones');
  return out.toString('latin1', 0, n);
}

// ---------------------------------------------------------------------------------------
// Decoder

export class HpackDecoder {
  /** SETTINGS_HEADER_TABLE_SIZE as advertised: the ceiling for size updates (§6.3). */
  private readonly maxTableSize: number;
  /** The current maximum set by the peer's last size update (§4.2). */
  private limit: number;
  private size = 0;
  // The dynamic table as a ring: `newest` is the slot of index 62, older entries follow backwards.
  private names: string[];
  private values: string[];
  private sizes: Int32Array;
  private newest = 0;
  private count = 0;
  /** Read position within the block being decoded. */
  private pos = 0;

  /** maxTableSize: the SETTINGS_HEADER_TABLE_SIZE we advertise (default 4096): a dynamic table size update above it is an error. */
  constructor(maxTableSize = 4096) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INT) {
      throw new RangeError(`HPACK maxTableSize must be an integer in [0, ${MAX_INT}], got ${maxTableSize}`);
    }
    this.maxTableSize = maxTableSize;
    this.limit = maxTableSize;
    // The ring grows on demand: a large advertised size costs nothing until the peer fills it.
    this.names = new Array<string>(INITIAL_SLOTS).fill('');
    this.values = new Array<string>(INITIAL_SLOTS).fill('');
    this.sizes = new Int32Array(INITIAL_SLOTS);
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION payloads joined). */
  decode(block: Buffer, maxListBytes: number): HeaderField[] {
    const end = block.length;
    const fields: HeaderField[] = [];
    let listBytes = 0;
    let fieldSeen = false;
    this.pos = 0;
    while (this.pos < end) {
      const b = block[this.pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        // §6.1 indexed header field
        const index = this.readInt(block, 7);
        if (index === 0) throw new HpackError('indexed header field with index 0');
        if (index <= STATIC_COUNT) {
          const entry = STATIC_TABLE[index - 1]!;
          name = entry[0];
          value = entry[1];
        } else {
          const slot = this.slotOf(index);
          name = this.names[slot]!;
          value = this.values[slot]!;
        }
      } else if (b & 0x40) {
        // §6.2.1 literal with incremental indexing
        name = this.readName(block, 6);
        value = this.readString(block);
        this.insert(name, value);
      } else if (b & 0x20) {
        // §6.3 dynamic table size update: only before the block's first field
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        const newLimit = this.readInt(block, 5);
        if (newLimit > this.maxTableSize) {
          throw new HpackError(`dynamic table size update to ${newLimit} exceeds SETTINGS_HEADER_TABLE_SIZE ${this.maxTableSize}`);
        }
        this.limit = newLimit;
        this.evictTo(newLimit);
        continue;
      } else {
        // §6.2.2 without indexing (0000xxxx), §6.2.3 never indexed (0001xxxx)
        name = this.readName(block, 4);
        value = this.readString(block);
      }
      fieldSeen = true;
      // Past the limit the block is still decoded (the table must follow the peer) but kept no more.
      if (listBytes <= maxListBytes) {
        listBytes += name.length + value.length + ENTRY_OVERHEAD;
        if (listBytes <= maxListBytes) fields.push([name, value]);
      }
    }
    if (listBytes > maxListBytes) {
      throw new HeaderListTooLarge(`header list exceeds ${maxListBytes} bytes`);
    }
    return fields;
  }

  /** §5.1 integer with an N-bit prefix, starting at the current byte. */
  private readInt(block: Buffer, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & max;
    if (value < max) return value;
    const end = block.length;
    for (let k = 0, shift = 1; ; k++, shift *= 128) {
      if (k === MAX_CONTINUATION_BYTES) throw new HpackError('integer uses too many continuation bytes');
      if (this.pos >= end) throw new HpackError('truncated integer');
      const b = block[this.pos++]!;
      value += (b & 0x7f) * shift;
      if (value > MAX_INT) throw new HpackError('integer overflow: more than 2^31 - 1');
      if (!(b & 0x80)) return value;
    }
  }

  /** §6.2: a name by index (N-bit prefix, non-zero) or, when the index is 0, a literal string. */
  private readName(block: Buffer, prefixBits: number): string {
    const index = this.readInt(block, prefixBits);
    if (index === 0) return this.readString(block);
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]![0];
    return this.names[this.slotOf(index)]!;
  }

  /** §5.2 string literal: H flag, 7-bit prefix length, then raw or Huffman octets. */
  private readString(block: Buffer): string {
    if (this.pos >= block.length) throw new HpackError('truncated header block: string expected');
    const huffman = block[this.pos]! & 0x80;
    const len = this.readInt(block, 7);
    const start = this.pos;
    const end = start + len;
    if (end > block.length) throw new HpackError('truncated string literal');
    this.pos = end;
    return huffman ? huffmanDecode(block, start, end) : block.toString('latin1', start, end);
  }

  /** §2.3.3: dynamic index 62 is the newest entry. */
  private slotOf(index: number): number {
    const age = index - STATIC_COUNT - 1;
    if (age >= this.count) throw new HpackError(`header index ${index} is past the table (${STATIC_COUNT + this.count} entries)`);
    const slots = this.sizes.length;
    return (this.newest - age + slots) % slots;
  }

  /** §4.4: evict until the entry fits; one larger than the whole table empties it and is not added. */
  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.limit) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.limit - entrySize);
    if (this.count === this.sizes.length) this.grow();
    const slots = this.sizes.length;
    this.newest = (this.newest + 1) % slots;
    this.names[this.newest] = name;
    this.values[this.newest] = value;
    this.sizes[this.newest] = entrySize;
    this.count++;
    this.size += entrySize;
  }

  /** Doubles the ring, moving the entries oldest first to slots 0..count-1. */
  private grow(): void {
    const slots = this.sizes.length;
    const names = new Array<string>(slots * 2).fill('');
    const values = new Array<string>(slots * 2).fill('');
    const sizes = new Int32Array(slots * 2);
    for (let i = 0; i < this.count; i++) {
      const from = (this.newest - this.count + 1 + i + slots) % slots;
      names[i] = this.names[from]!;
      values[i] = this.values[from]!;
      sizes[i] = this.sizes[from]!;
    }
    this.names = names;
    this.values = values;
    this.sizes = sizes;
    this.newest = this.count - 1;
  }

  /** §4.3: drop the oldest entries until the table holds at most `target` octets. */
  private evictTo(target: number): void {
    const slots = this.sizes.length;
    while (this.size > target) {
      const oldest = (this.newest - this.count + 1 + slots) % slots;
      this.size -= this.sizes[oldest]!;
      // Release the strings so an evicted header is not kept alive by the ring.
      this.names[oldest] = '';
      this.values[oldest] = '';
      this.count--;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Encoder

/** Static index of each name (the first, §2.3.1) and of each exact name + value pair. */
const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_PAIR_INDEX = new Map<string, Map<string, number>>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
  let byValue = STATIC_PAIR_INDEX.get(name);
  if (!byValue) STATIC_PAIR_INDEX.set(name, (byValue = new Map()));
  byValue.set(value, i + 1);
});

// eslint-disable-next-line no-control-regex -- the check is for code points above one octet
const NOT_LATIN1 = /[^\u0000-\u00ff]/;

function intLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (let rest = value - max; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}

/** §5.1: writes `value` with an N-bit prefix into out[pos], keeping the first byte's high bits `flags`. */
function writeInt(out: Buffer, pos: number, value: number, prefixBits: number, flags: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[pos++] = flags | value;
    return pos;
  }
  out[pos++] = flags | max;
  let rest = value - max;
  while (rest >= 128) {
    out[pos++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[pos++] = rest;
  return pos;
}

function writeString(out: Buffer, pos: number, s: string): number {
  pos = writeInt(out, pos, s.length, 7, 0);
  return pos + out.write(s, pos, 'latin1');
}

/**
 * Literals without indexing (RFC 7541 §6.2.2), name by static-table index when the static table
 * has the name, strings raw (no Huffman). Never touches a dynamic table, so it needs no state.
 * Exact name+value matches in the static table (e.g. ':status: 200') use the indexed
 * representation (§6.1). Names and values are octets: a character above U+00FF is a RangeError.
 */
export function encodeHeaders(fields: readonly HeaderField[]): Buffer {
  let total = 0;
  for (const [name, value] of fields) {
    if (NOT_LATIN1.test(name) || NOT_LATIN1.test(value)) {
      throw new RangeError(`header ${JSON.stringify(name)} has a character that is not one octet`);
    }
    const pair = STATIC_PAIR_INDEX.get(name)?.get(value);
    if (pair !== undefined) {
      total += intLength(pair, 7);
      continue;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name);
    total += nameIndex !== undefined ? intLength(nameIndex, 4) : 1 + intLength(name.length, 7) + name.length;
    total += intLength(value.length, 7) + value.length;
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const [name, value] of fields) {
    const pair = STATIC_PAIR_INDEX.get(name)?.get(value);
    if (pair !== undefined) {
      pos = writeInt(out, pos, pair, 7, 0x80);
      continue;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name);
    if (nameIndex !== undefined) {
      pos = writeInt(out, pos, nameIndex, 4, 0x00);
    } else {
      out[pos++] = 0x00;
      pos = writeString(out, pos, name);
    }
    pos = writeString(out, pos, value);
  }
  return out;
}
