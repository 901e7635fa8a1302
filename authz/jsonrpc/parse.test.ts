import { describe, expect, it } from 'vitest';
import { parseBody } from './parse.js';

const limits = { maxBytes: 1024 * 1024, maxDepth: 64, maxWidth: 1000 };
const enc = new TextEncoder();

function ruleOf(body: string | Uint8Array, l = limits): string | undefined {
  return parseBody(body, l).error?.rule;
}

describe('parseBody: accepted JSON', () => {
  it('parses a tools/call message from bytes and from text, reporting its shape', () => {
    const text = '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"/data/a b.txt","tags":["x","y"]}}}';
    for (const body of [text, enc.encode(text)]) {
      const parsed = parseBody(body, limits);
      expect(parsed.error).toBeUndefined();
      expect(parsed.value).toEqual(JSON.parse(text));
      expect(parsed.byteLength).toBe(enc.encode(text).byteLength);
      expect(parsed.maxDepthSeen).toBe(4);
      expect(parsed.maxWidthSeen).toBe(4);
    }
  });

  it('treats an empty body as no value, without error', () => {
    expect(parseBody('', limits)).toMatchObject({ value: undefined, byteLength: 0, error: undefined });
    expect(parseBody(new Uint8Array(0), limits)).toMatchObject({ value: undefined, error: undefined });
  });

  it('accepts escapes, unicode, numbers and keys named constructor/prototype as plain data', () => {
    const text = '{"s":"a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00","n":[-0,1.5e3,2E-2,0.25],"constructor":{"prototype":{"x":1}},"é":"ü"}';
    const parsed = parseBody(enc.encode(text), limits);
    expect(parsed.error).toBeUndefined();
    expect(parsed.value).toEqual(JSON.parse(text));
    const value = parsed.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('accepts a body at the byte limit exactly', () => {
    const text = `{"a":"${'x'.repeat(100 - 8)}"}`;
    expect(text.length).toBe(100);
    expect(ruleOf(text, { ...limits, maxBytes: 100 })).toBeUndefined();
    expect(ruleOf(text, { ...limits, maxBytes: 99 })).toBe('body-too-large');
  });
});

describe('parseBody: refused input', () => {
  it('rejects a 10 MB body against a 1 MB limit before decoding it, in O(1)', () => {
    const big = new Uint8Array(10 * 1024 * 1024).fill(0x5b); // "[[[[…": would be deep too
    const start = performance.now();
    const parsed = parseBody(big, limits);
    expect(performance.now() - start).toBeLessThan(5);
    expect(parsed.error).toMatchObject({ rule: 'body-too-large', class: 'size', code: -32001, stage: 'transport' });
    expect(parsed.byteLength).toBe(big.byteLength);
    expect(ruleOf('x'.repeat(2 * 1024 * 1024), limits)).toBe('body-too-large');
  });

  it('counts UTF-8 bytes, not characters, for text bodies', () => {
    const text = `"${'é'.repeat(60)}"`; // 62 chars, 122 bytes
    expect(ruleOf(text, { ...limits, maxBytes: 100 })).toBe('body-too-large');
  });

  it('rejects invalid UTF-8 and lone surrogates', () => {
    expect(ruleOf(Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]))).toBe('invalid-utf8');
    expect(ruleOf(Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).toBe('invalid-utf8'); // CESU surrogate
    expect(ruleOf('"\ud800"')).toBe('invalid-utf8');
  });

  it('rejects 20 000-deep nesting quickly without recursion, as json-too-deep', () => {
    for (const open of ['[', '{"a":']) {
      const text = open.repeat(20_000) + '1' + (open === '[' ? ']' : '}').repeat(20_000);
      const start = performance.now();
      const parsed = parseBody(text, limits);
      expect(performance.now() - start).toBeLessThan(50);
      expect(parsed.error).toMatchObject({ rule: 'json-too-deep', class: 'size', code: -32001 });
      expect(parsed.maxDepthSeen).toBe(65);
    }
  });

  it('enforces depth and width limits exactly at the boundary', () => {
    const deep = (d: number) => '['.repeat(d) + ']'.repeat(d);
    expect(ruleOf(deep(64))).toBeUndefined();
    expect(ruleOf(deep(65))).toBe('json-too-deep');
    const wideArray = (w: number) => `[${Array.from({ length: w }, () => '0').join(',')}]`;
    const wideObject = (w: number) => `{${Array.from({ length: w }, (_, i) => `"k${i}":0`).join(',')}}`;
    expect(ruleOf(wideArray(1000))).toBeUndefined();
    expect(ruleOf(wideArray(1001))).toBe('json-too-wide');
    expect(ruleOf(wideObject(1000))).toBeUndefined();
    expect(ruleOf(wideObject(1001))).toBe('json-too-wide');
    expect(parseBody(wideObject(1000), limits).maxWidthSeen).toBe(1000);
  });

  it('rejects duplicate keys, including ones spelled with escapes, at any depth', () => {
    expect(ruleOf('{"id":1,"id":2}')).toBe('json-duplicate-key');
    expect(ruleOf('{"method":"ping","\\u006dethod":"tools/call"}')).toBe('json-duplicate-key');
    expect(ruleOf('{"params":{"arguments":{"path":"a","path":"b"}}}')).toBe('json-duplicate-key');
    const many = `{${Array.from({ length: 40 }, (_, i) => `"k${i}":0`).join(',')},"k39":1}`;
    expect(ruleOf(many)).toBe('json-duplicate-key');
    expect(parseBody(many, limits).error).toMatchObject({ class: 'protocol', code: -32600 });
    // Same key in sibling objects is fine.
    expect(ruleOf('[{"a":1},{"a":2}]')).toBeUndefined();
  });

  it('rejects __proto__ keys however they are spelled', () => {
    expect(ruleOf('{"__proto__":{"polluted":true}}')).toBe('json-proto-key');
    expect(ruleOf('{"a":{"\\u005f_proto__":{}}}')).toBe('json-proto-key');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // As a value it is just a string.
    expect(ruleOf('{"a":"__proto__"}')).toBeUndefined();
  });

  it('rejects malformed JSON as parse-error with code -32700', () => {
    const bad = [
      '{"jsonrpc":"2.0","id":1,"method":"tools/ca',
      '{',
      '{"a" 1}',
      '{"a":1,}',
      '[1,]',
      '[,1]',
      '{a:1}',
      "{'a':1}",
      '01',
      '1.',
      '.5',
      '-',
      '1e',
      '+1',
      'NaN',
      'Infinity',
      'tru',
      'nul',
      '"unterminated',
      '"bad \\x escape"',
      '"\\u12G4"',
      '"tab\there"',
      '{} {}',
      '[1] x',
      '\ufeff{}',
      '{"a":1}}',
      ']',
    ];
    for (const text of bad) {
      const parsed = parseBody(text, limits);
      expect(parsed.error?.rule, text).toBe('parse-error');
      expect(parsed.error?.code).toBe(-32700);
      expect(parsed.error?.class).toBe('protocol');
      expect(() => JSON.parse(text), text).toThrow();
    }
  });

  it('agrees with JSON.parse on random mutations of valid messages', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = '{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"q","arguments":{"sql":"select 1","n":[1,2.5,-3e2,true,false,null],"o":{"k":"\\u00e9\\n"}}}}';
    const alphabet = '{}[]",:\\ 0123456789.eE+-truefalsnl\tu';
    for (let k = 0; k < 3000; k++) {
      const pos = rand(base.length);
      const op = rand(3);
      const ch = alphabet[rand(alphabet.length)]!;
      const text = op === 0 ? base.slice(0, pos) + base.slice(pos + 1) : op === 1 ? base.slice(0, pos) + ch + base.slice(pos) : base.slice(0, pos) + ch + base.slice(pos + 1);
      let native: unknown;
      let nativeOk = true;
      try {
        native = JSON.parse(text);
      } catch {
        nativeOk = false;
      }
      const parsed = parseBody(text, limits);
      if (parsed.error === undefined) {
        expect(nativeOk, text).toBe(true);
        expect(parsed.value, text).toEqual(native);
      } else if (parsed.error.rule === 'parse-error') {
        expect(nativeOk, text).toBe(false);
      } else {
        expect(['json-duplicate-key'], text).toContain(parsed.error.rule);
      }
    }
  });

  it('parses a 1 MB body at the limit in linear time', () => {
    const item = '{"path":"/data/public/file-0001.txt","size":12345,"tags":["a","b"]},';
    const count = Math.floor((1024 * 1024 - 40) / item.length);
    const text = `{"items":[${item.repeat(count).slice(0, -1)}]}`;
    const l = { maxBytes: 1024 * 1024, maxDepth: 64, maxWidth: 100_000 };
    const start = performance.now();
    const parsed = parseBody(enc.encode(text), l);
    expect(performance.now() - start).toBeLessThan(500);
    expect(parsed.error).toBeUndefined();
    expect((parsed.value as { items: unknown[] }).items).toHaveLength(count);
  });
});
