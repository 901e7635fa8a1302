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

describe('pinned schema dialects', () => {
  const cache = (): PinnedSchemaCache => new PinnedSchemaCache();

  it('reads a schema without $schema as 2020-12 (MCP 2025-11-25 default): unevaluatedProperties is enforced', () => {
    const { $schema: _s, ...noDialect } = draft2020;
    const check = cache().compile('query', 'sha256:n1', noDialect);
    expect(check({ sql: 'select 1' })).toBeUndefined();
    expect(check({ sql: 'select 1', extra: true })?.message).toContain('"extra"');
  });

  it('reads prefixItems + items:false without $schema as a closed tuple', () => {
    const schema = {
      type: 'object',
      properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false } },
    };
    const check = cache().compile('pair', 'sha256:n2', schema);
    expect(check({ pair: ['a', 1] })).toBeUndefined();
    expect(check({ pair: ['a', 'b'] })?.data?.argument).toBe('/pair/1');
    expect(check({ pair: ['a', 1, 'smuggled'] })?.rule).toBe('schema-violation');
  });

  it('falls back to draft-07 without $schema when the schema uses array-form items / additionalItems', () => {
    const schema = {
      type: 'object',
      properties: { pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }], additionalItems: false } },
    };
    const check = cache().compile('pair', 'sha256:n3', schema);
    expect(check({ pair: ['a', 1] })).toBeUndefined();
    expect(check({ pair: ['a', 'b'] })?.rule).toBe('schema-violation');
    expect(check({ pair: ['a', 1, 'x'] })?.rule).toBe('schema-violation');
  });

  it('does not mistake a property named "additionalItems" for the keyword', () => {
    const schema = { type: 'object', properties: { additionalItems: { type: 'string' } }, unevaluatedProperties: false };
    const check = cache().compile('t', 'sha256:n4', schema);
    expect(check({ additionalItems: 'a', other: 1 })?.message).toContain('"other"');
  });

  it('compiles 2019-09 schemas and enforces unevaluatedProperties', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2019-09/schema',
      type: 'object',
      properties: { q: { type: 'string' } },
      $defs: { s: { type: 'string' } },
      unevaluatedProperties: false,
    };
    const check = cache().compile('t', 'sha256:n5', schema);
    expect(check({ q: 'a' })).toBeUndefined();
    expect(check({ q: 'a', x: 1 })?.message).toContain('"x"');
  });

  it('compiles draft-06 schemas', () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-06/schema#',
      type: 'object',
      properties: { n: { type: 'number', exclusiveMaximum: 10 } },
      additionalProperties: false,
    };
    const check = cache().compile('t', 'sha256:n6', schema);
    expect(check({ n: 9 })).toBeUndefined();
    expect(check({ n: 10 })?.data?.keyword).toBe('exclusiveMaximum');
    expect(check({ n: 1, y: 2 })?.message).toContain('"y"');
  });

  it('compiles draft-04 schemas, honouring boolean exclusiveMinimum/exclusiveMaximum', () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      properties: {
        n: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: false },
        tag: { enum: ['a', 'b'] },
      },
      required: ['n'],
      additionalProperties: false,
    };
    const check = cache().compile('t', 'sha256:n7', schema);
    expect(check({ n: 10, tag: 'a' })).toBeUndefined();
    expect(check({ n: 0 })?.data?.keyword).toBe('exclusiveMinimum');
    expect(check({ n: 11 })?.data?.keyword).toBe('maximum');
    expect(check({ n: 1, tag: 'c' })?.data?.keyword).toBe('enum');
  });

  it('rejects an unknown $schema dialect, naming the tool', () => {
    expect(() => cache().compile('odd', 'sha256:n8', { $schema: 'https://example.com/my-dialect', type: 'object' })).toThrow(
      /tool "odd".*\$schema/,
    );
  });
});
