import { describe, expect, it } from 'vitest';
import { inferArgumentKinds, kindFromName, nameWords } from './kinds.js';

const kinds = (schema: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(inferArgumentKinds(schema).map((k) => [k.pointer, k.kind]));

describe('kind inference from a pinned inputSchema', () => {
  it('infers the brief tools', () => {
    expect(kinds({ type: 'object', properties: { path: { type: 'string' } } })).toEqual({ '/path': 'path' });
    expect(kinds({ type: 'object', properties: { filename: { type: 'string' } } })).toEqual({ '/filename': 'path' });
    expect(kinds({ type: 'object', properties: { sql: { type: 'string' } } })).toEqual({ '/sql': 'sql' });
    expect(kinds({ type: 'object', properties: { page: { type: 'integer' }, id: { type: 'string' } } })).toEqual({ '/page': 'opaque', '/id': 'identifier' });
  });

  it('uses names, formats, descriptions and patterns, and says why', () => {
    const schema = {
      type: 'object',
      properties: {
        webhookUrl: { type: 'string' },
        target: { type: 'string', format: 'uri' },
        cmd: { type: 'string' },
        query: { type: 'string', description: 'A read-only SQL query to run against Postgres' },
        search_query: { type: 'string', description: 'Words to look for' },
        message: { type: 'string' },
        location: { type: 'string', description: 'Path to the file to read' },
        mode: { type: 'string', enum: ['fast', 'slow'] },
        when: { type: 'string', format: 'date-time' },
        site: { type: 'string', pattern: '^https://' },
        verbose: { type: 'boolean' },
        run: { type: 'string', description: 'Shell command to execute' },
      },
    };
    const inferred = inferArgumentKinds(schema);
    const byPointer = Object.fromEntries(inferred.map((k) => [k.pointer, k]));
    expect(byPointer['/webhookUrl']?.kind).toBe('url');
    expect(byPointer['/target']).toMatchObject({ kind: 'url', reason: 'format "uri"' });
    expect(byPointer['/cmd']?.kind).toBe('command');
    expect(byPointer['/query']).toMatchObject({ kind: 'sql' });
    expect(byPointer['/query']?.reason).toContain('SQL');
    expect(byPointer['/search_query']?.kind).toBe('text');
    expect(byPointer['/message']?.kind).toBe('text');
    expect(byPointer['/location']).toMatchObject({ kind: 'path', reason: 'description mentions "file path"' });
    expect(byPointer['/mode']?.kind).toBe('opaque');
    expect(byPointer['/when']?.kind).toBe('opaque');
    expect(byPointer['/site']?.kind).toBe('url');
    expect(byPointer['/verbose']?.kind).toBe('opaque');
    expect(byPointer['/run']?.kind).toBe('command');
  });

  it('walks nested objects, arrays and local $refs with JSON pointers', () => {
    const schema = {
      type: 'object',
      $defs: { target: { type: 'object', properties: { url: { type: 'string' } } } },
      properties: {
        filter: { type: 'object', properties: { path: { type: 'string' }, 'a/b': { type: 'string', format: 'uri' } } },
        files: { type: 'array', items: { type: 'string', description: 'file path' } },
        uploads: { type: 'array', items: { type: 'object', properties: { dir: { type: 'string' } } } },
        hook: { $ref: '#/$defs/target' },
        either: { anyOf: [{ type: 'string', format: 'uri' }, { type: 'null' }] },
      },
    };
    expect(kinds(schema)).toEqual({
      '/filter/path': 'path',
      '/filter/a~1b': 'url',
      '/files': 'path',
      '/uploads/dir': 'path',
      '/hook/url': 'url',
      '/either': 'url',
    });
  });

  it('stops at the budget', () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 50; i++) schema = { type: 'object', properties: { path: schema } };
    const inferred = inferArgumentKinds(schema, { maxNodes: 100, maxDepth: 5 });
    expect(inferred.every((k) => k.pointer.split('/').length <= 7)).toBe(true);
    const wide = { type: 'object', properties: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`file${i}`, { type: 'string' }])) };
    expect(inferArgumentKinds(wide, { maxNodes: 50, maxDepth: 5 }).length).toBeLessThan(50);
  });

  it('returns nothing without a schema', () => {
    expect(inferArgumentKinds(undefined)).toEqual([]);
  });
});

describe('kindFromName', () => {
  it('splits names into words', () => {
    expect(nameWords('webhookURL')).toEqual(['webhook', 'url']);
    expect(nameWords('file_path')).toEqual(['file', 'path']);
    expect(nameWords('userID')).toEqual(['user', 'id']);
  });

  it('reads the last word first', () => {
    expect(kindFromName('file_path')?.kind).toBe('path');
    expect(kindFromName('path_id')?.kind).toBe('identifier');
    expect(kindFromName('callbackUrl')?.kind).toBe('url');
    expect(kindFromName('where', 'SQL WHERE clause')?.kind).toBe('sql-fragment');
    expect(kindFromName('colour')).toBeUndefined();
  });
});
