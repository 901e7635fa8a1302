/**
 * HPACK against the examples of RFC 7541 Appendix C, against a real HPACK encoder (nghttp2 in
 * node:http2's client, which uses Huffman and the dynamic table), and against malformed blocks.
 */
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES } from './hpack-tables.js';
import { encodeHeaders, HeaderListTooLarge, HpackDecoder, HpackError, type HeaderField } from './hpack.js';

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** The RFC prints blocks as hex with spaces and line breaks. */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** §5.1 integer written independently of the code under test, for hand-made blocks. */
function int(value: number, prefixBits: number, flags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  for (; rest >= 128; rest = Math.floor(rest / 128)) out.push((rest % 128) | 0x80);
  out.push(rest);
  return out;
}

/** Appendix B encoding, written independently of the decoder: codes packed MSB first, padded with ones. */
function huffmanEncode(octets: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0n;
  let bits = 0n;
  for (const o of octets) {
    acc = (acc << BigInt(HUFFMAN_CODE_LENGTHS[o]!)) | BigInt(HUFFMAN_CODES[o]!);
    bits += BigInt(HUFFMAN_CODE_LENGTHS[o]!);
    for (; bits >= 8n; bits -= 8n) out.push(Number((acc >> (bits - 8n)) & 0xffn));
  }
  if (bits > 0n) out.push(Number(((acc << (8n - bits)) | ((1n << (8n - bits)) - 1n)) & 0xffn));
  return out;
}

/** Reads the dynamic table through the decoder itself: indexed fields from 62 until one is past the end. */
function dynamicTable(decoder: HpackDecoder): HeaderField[] {
  const entries: HeaderField[] = [];
  for (let index = 62; ; index++) {
    try {
      entries.push(...decoder.decode(Buffer.from(int(index, 7, 0x80)), NO_LIMIT));
    } catch (err) {
      if (err instanceof HpackError) return entries;
      throw err;
    }
  }
}

const tableSize = (entries: readonly HeaderField[]): number => entries.reduce((n, [k, v]) => n + k.length + v.length + 32, 0);

interface Step {
  block: string;
  headers: HeaderField[];
  /** Newest first, as the RFC lists it. */
  table: HeaderField[];
  size: number;
}

function runSeries(decoder: HpackDecoder, steps: Step[]): void {
  for (const step of steps) {
    expect(decoder.decode(hex(step.block), NO_LIMIT)).toEqual(step.headers);
    const table = dynamicTable(decoder);
    expect(table).toEqual(step.table);
    expect(tableSize(table)).toBe(step.size);
  }
}

describe('RFC 7541 Appendix C', () => {
  // Integers are read by every representation; the 5-bit prefix of a size update (§6.3) shows
  // the exact value: accepted when it equals the advertised maximum, refused one below.
  it('C.1.1: 10 with a 5-bit prefix is the one octet 0x0a', () => {
    expect(new HpackDecoder(10).decode(Buffer.from([0x20 | 0x0a]), NO_LIMIT)).toEqual([]);
    expect(() => new HpackDecoder(9).decode(Buffer.from([0x20 | 0x0a]), NO_LIMIT)).toThrow(HpackError);
  });

  it('C.1.2: 1337 with a 5-bit prefix is 1f 9a 0a', () => {
    expect(new HpackDecoder(1337).decode(Buffer.from([0x20 | 0x1f, 0x9a, 0x0a]), NO_LIMIT)).toEqual([]);
    expect(() => new HpackDecoder(1336).decode(Buffer.from([0x20 | 0x1f, 0x9a, 0x0a]), NO_LIMIT)).toThrow(/1337/);
    // The encoder writes the same integer in a 7-bit prefix (a string length): 7f ba 09.
    const block = encodeHeaders([['x', 'v'.repeat(1337)]]);
    expect([...block.subarray(0, 6)]).toEqual([0x00, 0x01, 0x78, 0x7f, 0xba, 0x09]);
  });

  it('C.1.3: 42 starting at an octet boundary is the octet 0x2a (a string length under the 7-bit prefix)', () => {
    const value = 'y'.repeat(42);
    const block = Buffer.concat([Buffer.from([0x01, 0x2a]), Buffer.from(value, 'latin1')]);
    expect(new HpackDecoder().decode(block, NO_LIMIT)).toEqual([[':authority', value]]);
    expect(encodeHeaders([[':authority', value]]).subarray(0, 2)).toEqual(Buffer.from([0x01, 0x2a]));
  });

  it('C.2.1: literal with indexing adds the field to the dynamic table', () => {
    runSeries(new HpackDecoder(), [
      {
        block: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
        headers: [['custom-key', 'custom-header']],
        table: [['custom-key', 'custom-header']],
        size: 55,
      },
    ]);
  });

  it('C.2.2: literal without indexing leaves the table empty', () => {
    runSeries(new HpackDecoder(), [{ block: '040c 2f73 616d 706c 652f 7061 7468', headers: [[':path', '/sample/path']], table: [], size: 0 }]);
  });

  it('C.2.3: literal never indexed leaves the table empty', () => {
    runSeries(new HpackDecoder(), [{ block: '1008 7061 7373 776f 7264 0673 6563 7265 74', headers: [['password', 'secret']], table: [], size: 0 }]);
  });

  it('C.2.4: indexed field from the static table', () => {
    runSeries(new HpackDecoder(), [{ block: '82', headers: [[':method', 'GET']], table: [], size: 0 }]);
  });

  const requestHeaders: HeaderField[][] = [
    [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ],
    [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ],
    [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ],
  ];
  const requestTables: HeaderField[][] = [
    [[':authority', 'www.example.com']],
    [
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    [
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
  ];
  const requestSizes = [57, 110, 164];

  it('C.3: three requests without Huffman on one decoder', () => {
    const blocks = ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'];
    runSeries(
      new HpackDecoder(),
      blocks.map((block, i) => ({ block, headers: requestHeaders[i]!, table: requestTables[i]!, size: requestSizes[i]! })),
    );
  });

  it('C.4: the same requests with Huffman on one decoder', () => {
    const blocks = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
    runSeries(
      new HpackDecoder(),
      blocks.map((block, i) => ({ block, headers: requestHeaders[i]!, table: requestTables[i]!, size: requestSizes[i]! })),
    );
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const location = 'https://www.example.com';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const responseHeaders: HeaderField[][] = [
    [
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', date1],
      ['location', location],
    ],
    [
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', date1],
      ['location', location],
    ],
    [
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', date2],
      ['location', location],
      ['content-encoding', 'gzip'],
      ['set-cookie', cookie],
    ],
  ];
  const responseTables: HeaderField[][] = [
    [
      ['location', location],
      ['date', date1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    [
      [':status', '307'],
      ['location', location],
      ['date', date1],
      ['cache-control', 'private'],
    ],
    [
      ['set-cookie', cookie],
      ['content-encoding', 'gzip'],
      ['date', date2],
    ],
  ];
  const responseSizes = [222, 222, 215];

  it('C.5: three responses without Huffman, table size 256, with evictions', () => {
    const blocks = [
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
       2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
       6c65 2e63 6f6d`,
      '4803 3330 37c1 c0bf',
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
       54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
       5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
       3d31`,
    ];
    runSeries(
      new HpackDecoder(256),
      blocks.map((block, i) => ({ block, headers: responseHeaders[i]!, table: responseTables[i]!, size: responseSizes[i]! })),
    );
  });

  it('C.6: the same responses with Huffman, table size 256, with evictions', () => {
    const blocks = [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
       2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
       77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
       9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ];
    runSeries(
      new HpackDecoder(256),
      blocks.map((block, i) => ({ block, headers: responseHeaders[i]!, table: responseTables[i]!, size: responseSizes[i]! })),
    );
  });
});

describe('dynamic table sizing', () => {
  it('a size update evicts, and a later one lets the table grow again', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'), NO_LIMIT);
    expect(dynamicTable(decoder)).toHaveLength(1);
    // Two updates at the start of one block (§4.2): to 0, which evicts everything, then back to 4096.
    expect(decoder.decode(Buffer.from([0x20, ...int(4096, 5, 0x20), 0x82]), NO_LIMIT)).toEqual([[':method', 'GET']]);
    expect(dynamicTable(decoder)).toEqual([]);
    decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'), NO_LIMIT);
    expect(dynamicTable(decoder)).toEqual([['custom-key', 'custom-header']]);
  });

  it('an entry larger than the whole table empties it and is not added (§4.4), yet is still emitted', () => {
    const decoder = new HpackDecoder(100);
    decoder.decode(Buffer.from([0x40, 0x01, 0x61, 0x01, 0x62]), NO_LIMIT);
    expect(dynamicTable(decoder)).toEqual([['a', 'b']]);
    const big = 'x'.repeat(100);
    const block = Buffer.concat([Buffer.from([0x40, 0x01, 0x63, 0x64]), Buffer.from(big, 'latin1')]);
    expect(decoder.decode(block, NO_LIMIT)).toEqual([['c', big]]);
    expect(dynamicTable(decoder)).toEqual([]);
  });

  it('fills a table to exactly its size, then evicts the oldest one by one', () => {
    const decoder = new HpackDecoder(4096);
    // Each entry is 2 + 30 + 32 = 64 octets: 64 of them fill 4096 exactly.
    const add = (i: number): Buffer => Buffer.concat([Buffer.from([0x40, 0x02]), Buffer.from(`k${i % 10}`), Buffer.from([30]), Buffer.from(String(i).padStart(30, '0'))]);
    for (let i = 0; i < 64; i++) decoder.decode(add(i), NO_LIMIT);
    let table = dynamicTable(decoder);
    expect(table).toHaveLength(64);
    expect(tableSize(table)).toBe(4096);
    expect(table[63]).toEqual(['k0', '0'.repeat(30)]);
    decoder.decode(add(64), NO_LIMIT);
    table = dynamicTable(decoder);
    expect(table).toHaveLength(64);
    expect(table[0]).toEqual(['k4', String(64).padStart(30, '0')]);
    expect(table[63]).toEqual(['k1', String(1).padStart(30, '0')]);
  });
});

describe('interop with a real HPACK encoder (node:http2 client, nghttp2)', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  const FRAME_HEADERS = 0x1;
  const FRAME_CONTINUATION = 0x9;
  const FLAG_END_HEADERS = 0x4;
  const FLAG_PADDED = 0x8;
  const FLAG_PRIORITY = 0x20;
  const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

  interface Captured {
    blocks: Buffer[];
    paddedHeaders: number;
    continuations: number;
  }

  /** A raw TCP server that reads the client preface and frames, and collects each stream's header block. */
  function startRawServer(want: number): Promise<{ port: number; captured: Promise<Captured> }> {
    return new Promise((resolveStart) => {
      let resolveCaptured: (c: Captured) => void = () => {};
      const captured = new Promise<Captured>((r) => (resolveCaptured = r));
      const result: Captured = { blocks: [], paddedHeaders: 0, continuations: 0 };
      const server = net.createServer((socket) => {
        // RFC 9113 §3.4: the server preface is a SETTINGS frame (empty: all defaults).
        socket.write(Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]));
        let pending = Buffer.alloc(0);
        let prefaceSeen = false;
        let fragments: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk]);
          if (!prefaceSeen) {
            if (pending.length < PREFACE.length) return;
            expect(pending.subarray(0, PREFACE.length)).toEqual(PREFACE);
            pending = pending.subarray(PREFACE.length);
            prefaceSeen = true;
          }
          while (pending.length >= 9) {
            const length = pending.readUIntBE(0, 3);
            if (pending.length < 9 + length) break;
            const type = pending[3]!;
            const flags = pending[4]!;
            const payload = pending.subarray(9, 9 + length);
            pending = pending.subarray(9 + length);
            if (type === FRAME_HEADERS) {
              let start = 0;
              let end = payload.length;
              if (flags & FLAG_PADDED) {
                result.paddedHeaders++;
                start = 1;
                end -= payload[0]!;
              }
              if (flags & FLAG_PRIORITY) start += 5;
              fragments = [payload.subarray(start, end)];
            } else if (type === FRAME_CONTINUATION) {
              result.continuations++;
              fragments.push(payload);
            } else {
              continue;
            }
            if (flags & FLAG_END_HEADERS) {
              result.blocks.push(Buffer.concat(fragments));
              if (result.blocks.length === want) resolveCaptured(result);
            }
          }
        });
        cleanups.push(() => socket.destroy());
      });
      server.listen(0, '127.0.0.1', () => resolveStart({ port: (server.address() as net.AddressInfo).port, captured }));
      cleanups.push(() => server.close());
    });
  }

  it('decodes three requests on one connection, Huffman and dynamic table included, into what the client sent', async () => {
    const { port, captured } = await startRawServer(3);
    // Maximum padding makes nghttp2 send PADDED HEADERS frames.
    const client = http2.connect(`http://127.0.0.1:${port}`, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
    client.on('error', () => {});
    cleanups.push(() => client.destroy());

    const userAgent = 'envoy/1.31.2 (mcp-warden interop; repeated on every request)';
    const octets = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => 0x80 + i));
    const requests: [string, string][][] = [
      [
        [':method', 'POST'],
        [':path', '/envoy.service.auth.v3.Authorization/Check'],
        ['user-agent', userAgent],
        ['x-request-id', randomBytes(24).toString('hex')],
        ['x-octets', octets],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ],
      [
        [':method', 'POST'],
        [':path', '/envoy.service.auth.v3.Authorization/Check'],
        ['user-agent', userAgent],
        // Longer than one 16 KiB frame: the block continues in CONTINUATION frames.
        ['x-request-id', randomBytes(20_000).toString('base64url')],
        ['x-octets', octets],
        ['authorization', 'Bearer ' + randomBytes(16).toString('hex')],
      ],
      [
        [':method', 'GET'],
        [':path', '/grpc.health.v1.Health/Check'],
        ['user-agent', userAgent],
        ['x-request-id', randomBytes(24).toString('hex')],
        ['x-octets', octets],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ],
    ];
    for (const fields of requests) {
      const stream = client.request(Object.fromEntries(fields));
      stream.on('error', () => {});
    }
    const { blocks, paddedHeaders, continuations } = await captured;
    expect(paddedHeaders).toBeGreaterThan(0);
    expect(continuations).toBeGreaterThan(0);

    const decoder = new HpackDecoder();
    const authority = `127.0.0.1:${port}`;
    requests.forEach((fields, i) => {
      // node:http2 sends :method and :path, then adds :authority and :scheme, then the rest in order.
      const [method, path, ...rest] = fields;
      const expected = [method, path, [':authority', authority], [':scheme', 'http'], ...rest];
      expect(decoder.decode(blocks[i]!, NO_LIMIT)).toEqual(expected);
    });
    // The third block repeats the first's long fields by dynamic index: far shorter than the first.
    expect(blocks[2]!.length).toBeLessThan(blocks[0]!.length / 2);
  });
});

describe('encodeHeaders', () => {
  it('encodes :status 200 as the single indexed octet 0x88', () => {
    expect(encodeHeaders([[':status', '200']])).toEqual(Buffer.from([0x88]));
  });

  it('uses a static name index and raw strings, never the dynamic table', () => {
    const block = encodeHeaders([
      ['content-type', 'application/grpc'],
      ['grpc-status', '0'],
    ]);
    // content-type is static index 31 (4-bit prefix: 0f 10); grpc-status is a literal name.
    expect(block).toEqual(Buffer.concat([Buffer.from([0x0f, 0x10, 16]), Buffer.from('application/grpc'), Buffer.from([0x00, 11]), Buffer.from('grpc-status'), Buffer.from([1]), Buffer.from('0')]));
    const decoder = new HpackDecoder();
    decoder.decode(block, NO_LIMIT);
    expect(dynamicTable(decoder)).toEqual([]);
  });

  it('round-trips a response header list and its trailers through a fresh decoder', () => {
    const headers: HeaderField[] = [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-accept-encoding', 'identity'],
    ];
    const trailers: HeaderField[] = [
      ['grpc-status', '0'],
      ['grpc-message', 'no%20such%20thing%3A%20%C3%BCn%C3%AFcode%20100%25'],
      ['x-octets', 'caf\u00e9 \u00ff\u0080'],
      ['x-long', 'v'.repeat(70_000)],
      [':status', '404'],
      [':status', '599'],
    ];
    expect(new HpackDecoder().decode(encodeHeaders(headers), NO_LIMIT)).toEqual(headers);
    expect(new HpackDecoder().decode(encodeHeaders(trailers), NO_LIMIT)).toEqual(trailers);
    expect(encodeHeaders([])).toHaveLength(0);
  });

  it('refuses a character that is not one octet instead of truncating it', () => {
    expect(() => encodeHeaders([['grpc-message', 'ü is fine, € is not']])).toThrow(RangeError);
  });
});

describe('malformed header blocks are compression errors', () => {
  const decodeFresh = (bytes: number[], maxTableSize?: number): HeaderField[] => new HpackDecoder(maxTableSize).decode(Buffer.from(bytes), NO_LIMIT);
  const aRaw = 0x61;
  // 'a' is the 5-bit code 00011 (Appendix B).
  const huffmanValue = (octets: number[]): number[] => [0x01, 0x80 | octets.length, ...octets];

  it('index 0', () => {
    expect(() => decodeFresh([0x80])).toThrow(HpackError);
    expect(decodeFresh([0x81])).toEqual([[':authority', '']]);
  });

  it('an index past the dynamic table, for a field or for a name', () => {
    expect(() => decodeFresh([0xbe])).toThrow(HpackError);
    expect(() => decodeFresh([0x7e, 0x01, aRaw])).toThrow(HpackError);
    expect(() => decodeFresh([0x0f, 0x2f, 0x01, aRaw])).toThrow(HpackError); // name index 62, without indexing
    expect(decodeFresh([0xbd])).toEqual([['www-authenticate', '']]); // 61, the last static entry
    const decoder = new HpackDecoder();
    decoder.decode(Buffer.from([0x40, 0x01, aRaw, 0x01, aRaw]), NO_LIMIT);
    expect(decoder.decode(Buffer.from([0xbe]), NO_LIMIT)).toEqual([['a', 'a']]);
    expect(() => decoder.decode(Buffer.from([0xbf]), NO_LIMIT)).toThrow(HpackError);
  });

  it('a truncated integer', () => {
    expect(() => decodeFresh([0xff])).toThrow(/truncated integer/);
    expect(() => decodeFresh([0xff, 0x80])).toThrow(/truncated integer/);
  });

  it('an integer past 2^31 - 1 or with too many continuation octets', () => {
    expect(() => decodeFresh([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f])).toThrow(/integer overflow/);
    expect(() => decodeFresh([0x3f, 0xe1, 0xff, 0xff, 0xff, 0x07], 0x7fffffff)).toThrow(/integer overflow/); // 31 + 2^31 - 31 = 2^31
    expect(() => decodeFresh([0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).toThrow(/continuation/);
    // 2^31 - 1 itself is a valid integer (here a size update allowed by the setting).
    expect(decodeFresh([0x3f, 0xe0, 0xff, 0xff, 0xff, 0x07], 0x7fffffff)).toEqual([]);
    // Redundant zero continuation octets within the limit are still a valid encoding of 127.
    expect(() => decodeFresh([0xff, 0x80, 0x80, 0x00])).toThrow(/index 127 is past/);
  });

  it('a truncated string literal, and a missing one', () => {
    expect(() => decodeFresh([0x00, 0x05, aRaw, aRaw])).toThrow(/truncated string/);
    expect(() => decodeFresh([0x01, 0x83, 0x1f])).toThrow(/truncated string/);
    expect(() => decodeFresh([0x01])).toThrow(/string expected/);
    expect(() => decodeFresh([0x40, 0x01, aRaw])).toThrow(/string expected/);
  });

  it('Huffman: the EOS symbol inside a string', () => {
    // 'a', EOS (30 one bits), 'a': 40 bits, no padding.
    expect(() => decodeFresh(huffmanValue([0x1f, 0xff, 0xff, 0xff, 0xe3]))).toThrow(/EOS/);
    // 'a' then 'a' with the same framing is fine: 00011 00011 + 6 one bits.
    expect(decodeFresh(huffmanValue([0x18, 0xff]))).toEqual([[':authority', 'aa']]);
  });

  it('Huffman: every octet 0x00-0xff decodes to itself, as latin1', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const value = all.toString('latin1');
    const encoded = huffmanEncode(all);
    expect(decodeFresh([0x01, ...int(encoded.length, 7, 0x80), ...encoded])).toEqual([[':authority', value]]);
    const reversed = Buffer.from(all).reverse();
    const encodedReversed = huffmanEncode(reversed);
    expect(decodeFresh([0x00, ...int(encodedReversed.length, 7, 0x80), ...encodedReversed, 0x81, 0x1f])).toEqual([[reversed.toString('latin1'), 'a']]);
  });

  it('Huffman: padding of 8 bits or more', () => {
    expect(() => decodeFresh(huffmanValue([0x1f, 0xff]))).toThrow(/padding/); // 'a' + 11 one bits
    expect(() => decodeFresh(huffmanValue([0xff]))).toThrow(/padding/); // 8 one bits and nothing else
    expect(decodeFresh(huffmanValue([0x1f]))).toEqual([[':authority', 'a']]); // 'a' + 3 one bits
  });

  it('Huffman: padding that is not all ones', () => {
    expect(() => decodeFresh(huffmanValue([0x18]))).toThrow(/padding/); // 'a' + 000
    expect(() => decodeFresh(huffmanValue([0x1d]))).toThrow(/padding/); // 'a' + 101
  });

  it('a dynamic table size update above SETTINGS_HEADER_TABLE_SIZE', () => {
    expect(() => decodeFresh(int(4097, 5, 0x20))).toThrow(HpackError);
    expect(() => decodeFresh(int(101, 5, 0x20), 100)).toThrow(HpackError);
    expect(decodeFresh(int(4096, 5, 0x20))).toEqual([]);
  });

  it('a dynamic table size update after a header field', () => {
    expect(() => decodeFresh([0x82, 0x20])).toThrow(/after a header field/);
    expect(decodeFresh([0x20, 0x82])).toEqual([[':method', 'GET']]);
  });
});

describe('header list size limit', () => {
  it('throws HeaderListTooLarge past the limit, still indexes the whole block, and decodes the next block', () => {
    const value = 'v'.repeat(100);
    // The first field alone passes the limit; the literals after it must still reach the table.
    const block = Buffer.concat([Buffer.from([0x40, 0x05]), Buffer.from('x-big'), Buffer.from([100]), Buffer.from(value), Buffer.from([0x82, 0x40, 0x01, 0x62, 0x01, 0x63])]);
    const exact = 5 + 100 + 32 + (7 + 3 + 32) + (1 + 1 + 32);
    for (const limit of [100, exact - 1]) {
      const decoder = new HpackDecoder();
      expect(() => decoder.decode(block, limit)).toThrow(HeaderListTooLarge);
      expect(decoder.decode(Buffer.from([0xbe, 0xbf, 0x82]), exact)).toEqual([
        ['b', 'c'],
        ['x-big', value],
        [':method', 'GET'],
      ]);
    }
    // At exactly the limit the same list is accepted.
    expect(new HpackDecoder().decode(block, exact)).toEqual([
      ['x-big', value],
      [':method', 'GET'],
      ['b', 'c'],
    ]);
  });

  it('is not a compression error', () => {
    expect(() => new HpackDecoder().decode(Buffer.from([0x82]), 10)).toThrow(HeaderListTooLarge);
    expect(() => new HpackDecoder().decode(Buffer.from([0x82]), 10)).not.toThrow(HpackError);
  });
});
