import { describe, expect, it } from 'vitest';
import { PinnedSchemaCache, SchemaCompileError } from './schema.js';

const draft07 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { path: { type: 'string', maxLength: 4096 }, head: { type: 'integer', minimum: 1 } },
  required: ['path'],
  additionalProperties: false,
};

const draft2020 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: { sql: { type: 'string' } },
  required: ['sql'],
  unevaluatedProperties: false,
  $defs: { unused: { type: 'string' } },
};

describe('pinned schema validation', () => {
  it('accepts arguments that match a draft-07 schema', () => {
    const check = new PinnedSchemaCache().compile('read_file', 'sha256:a', draft07);
    expect(check({ path: 'docs/readme.md', head: 5 })).toBeUndefined();
  });

  it('rejects unknown properties when the schema forbids them, naming the property', () => {
    const check = new PinnedSchemaCache().compile('read_file', 'sha256:a', draft07);
    const denial = check({ path: 'a', mode: 'rw' });
    expect(denial?.rule).toBe('schema-violation');
    expect(denial?.code).toBe(-32602);
    expect(denial?.stage).toBe('schema');
    expect(denial?.message).toContain('"mode"');
  });

  it('rejects missing required properties and wrong types', () => {
    const check = new PinnedSchemaCache().compile('read_file', 'sha256:a', draft07);
    expect(check({})?.message).toContain('missing required property "path"');
    expect(check({ path: 7 })?.data?.argument).toBe('/path');
    expect(check({ path: 'a', head: 0 })?.data?.keyword).toBe('minimum');
  });

  it('understands 2020-12 schemas ($defs, unevaluatedProperties)', () => {
    const check = new PinnedSchemaCache().compile('query', 'sha256:b', draft2020);
    expect(check({ sql: 'select 1' })).toBeUndefined();
    expect(check({ sql: 'select 1', extra: true })?.message).toContain('"extra"');
  });

  it('compiles once per digest', () => {
    const cache = new PinnedSchemaCache();
    expect(cache.compile('t', 'sha256:c', draft07)).toBe(cache.compile('t', 'sha256:c', draft07));
  });

  it('reports a schema that does not compile, naming the tool', () => {
    expect(() => new PinnedSchemaCache().compile('bad', 'sha256:d', { type: 'no-such-type' })).toThrow(SchemaCompileError);
    expect(() => new PinnedSchemaCache().compile('bad', 'sha256:d', { type: 'no-such-type' })).toThrow(/tool "bad"/);
  });

  it('does not echo long argument values in its message', () => {
    const check = new PinnedSchemaCache().compile('read_file', 'sha256:a', draft07);
    const secret = 'x'.repeat(5000);
    expect(check({ path: secret })?.message.length).toBeLessThan(300);
  });
});
