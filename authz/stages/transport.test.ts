import { describe, expect, it } from 'vitest';
import type { CompiledServer } from '../pipeline/compiled.js';
import { HTTP_STATUS_BY_CLASS, type Denial } from '../pipeline/verdict.js';
import { buildContext, buildPolicy, buildServer, type TestContextOptions, type TestRequestInit } from '../../test/support/context.js';
import { fixtureRequest, loadMcpFixtures } from '../../test/support/mcp-fixtures.js';
import { transportStage } from './transport.js';

const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
const V0618 = { 'mcp-protocol-version': '2025-06-18' };

function transport(init: TestRequestInit, options?: TestContextOptions): Denial | undefined {
  return transportStage(buildContext(init, options));
}

function expectDenied(denial: Denial | undefined, rule: string, status: number): void {
  expect(denial?.rule, `expected ${rule}`).toBe(rule);
  expect(denial?.stage).toBe('transport');
  expect(HTTP_STATUS_BY_CLASS[denial!.class]).toBe(status);
}

/** A server (with the default policy) whose MCP endpoint is `path`. */
function serverWithEndpoint(path: string): CompiledServer {
  const base = buildServer([buildPolicy()]);
  const spec = base.resource.spec;
  return { ...base, resource: { ...base.resource, spec: { ...spec, upstream: { ...spec.upstream, path } } } };
}

describe('transport stage: only the MCP endpoint', () => {
  it('passes the endpoint, with or without a query string', () => {
    expect(transport({ path: '/mcp', body: ping })).toBeUndefined();
    expect(transport({ path: '/mcp?session=1', body: ping })).toBeUndefined();
    expect(transport({ path: '/mcp', method: 'GET', headers: { ...V0618, accept: 'text/event-stream' } })).toBeUndefined();
  });

  it('refuses every other path, whatever the method, as a protocol violation (400)', () => {
    for (const path of ['/', '/healthz', '/other', '/mcp/', '/mcpx', '/mcp/../admin', '/MCP', '//mcp', '', '*']) {
      expectDenied(transport({ path, body: ping }), 'path-not-mcp-endpoint', 400);
    }
    expectDenied(transport({ path: '/', method: 'GET', headers: { ...V0618, accept: 'text/event-stream' } }), 'path-not-mcp-endpoint', 400);
    expectDenied(transport({ path: '/admin', method: 'DELETE', headers: { ...V0618, 'mcp-session-id': 's1' } }), 'path-not-mcp-endpoint', 400);
  });

  it("follows the server's spec.upstream.path", () => {
    const server = serverWithEndpoint('/v1/tools/mcp');
    expect(transportStage(buildContext({ path: '/v1/tools/mcp', body: ping }, { server }))).toBeUndefined();
    const denial = transportStage(buildContext({ path: '/mcp', body: ping }, { server }));
    expectDenied(denial, 'path-not-mcp-endpoint', 400);
    expect(denial?.message).toContain('/v1/tools/mcp');
  });
});

describe('transport stage: HTTP methods per era', () => {
  it('passes every recorded request (POST, GET stream, DELETE) of real SDK clients', () => {
    for (const fixture of loadMcpFixtures()) {
      // Each fixture's own endpoint (2024-11-05's HTTP+SSE transport used /sse and /messages).
      const server = serverWithEndpoint(fixture.request.path.split('?')[0] ?? '');
      expect(transportStage(buildContext(fixtureRequest(fixture), { server })), fixture.file).toBeUndefined();
    }
  });

  it('refuses OPTIONS, PUT, PATCH, HEAD and anything else', () => {
    for (const method of ['OPTIONS', 'PUT', 'PATCH', 'HEAD', 'TRACE', 'CONNECT']) {
      expectDenied(transport({ method, headers: V0618 }), 'method-not-allowed', 400);
    }
  });

  it('allows GET streams and DELETE in session revisions only', () => {
    const get = { method: 'GET', headers: { ...V0618, accept: 'text/event-stream', 'mcp-session-id': 's1' } };
    const del = { method: 'DELETE', headers: { ...V0618, 'mcp-session-id': 's1' } };
    expect(transport(get)).toBeUndefined();
    expect(transport(del)).toBeUndefined();
    // No header: 2025-03-26 (backwards compatibility), which has both.
    expect(transport({ method: 'GET', headers: { accept: 'text/event-stream' } })).toBeUndefined();
    const modern = { 'mcp-protocol-version': '2026-07-28' };
    expectDenied(transport({ ...get, headers: { ...get.headers, ...modern } }), 'method-not-allowed', 400);
    expectDenied(transport({ ...del, headers: { ...del.headers, ...modern } }), 'method-not-allowed', 400);
  });

  it('requires Accept: text/event-stream on GET, a session id on DELETE, and no body on either', () => {
    expectDenied(transport({ method: 'GET', headers: V0618 }), 'accept', 400);
    expectDenied(transport({ method: 'GET', headers: { ...V0618, accept: 'application/json' } }), 'accept', 400);
    expectDenied(transport({ method: 'DELETE', headers: V0618 }), 'session-id-required', 400);
    expectDenied(transport({ method: 'DELETE', headers: { ...V0618, 'mcp-session-id': '  ' } }), 'session-id-required', 400);
    expectDenied(transport({ method: 'GET', headers: { ...V0618, accept: 'text/event-stream' }, body: ping }), 'unexpected-body', 400);
    expectDenied(transport({ method: 'DELETE', headers: { ...V0618, 'mcp-session-id': 's' }, declaredLength: 10 }), 'unexpected-body', 400);
  });
});

describe('transport stage: POST headers', () => {
  it('accepts application/json with parameters, in any case', () => {
    for (const type of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
      expect(transport({ headers: { ...V0618, 'content-type': type }, body: ping }), type).toBeUndefined();
    }
  });

  it('refuses other or missing content types and non-UTF-8 charsets', () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'application/json; charset=latin1', 'application/json, text/plain']) {
      expectDenied(transport({ headers: { ...V0618, 'content-type': type }, body: ping }), 'content-type', 400);
    }
    expectDenied(transport({ headers: { ...V0618, 'content-type': undefined }, body: ping }), 'content-type', 400);
  });

  it('is lenient on Accept like real clients, but refuses one that admits neither JSON nor SSE', () => {
    expect(transport({ headers: { ...V0618, accept: undefined }, body: ping })).toBeUndefined();
    expect(transport({ headers: { ...V0618, accept: 'application/json' }, body: ping })).toBeUndefined();
    expect(transport({ headers: { ...V0618, accept: '*/*' }, body: ping })).toBeUndefined();
    expectDenied(transport({ headers: { ...V0618, accept: 'text/html' }, body: ping }), 'accept', 400);
  });

  it('answers a repeated Accept value the same way every time, after many distinct values too', () => {
    for (let round = 0; round < 2; round++) {
      expectDenied(transport({ headers: { ...V0618, accept: 'image/png, text/html' }, body: ping }), 'accept', 400);
      expect(transport({ headers: { ...V0618, accept: 'application/json, text/event-stream' }, body: ping })).toBeUndefined();
      expect(transport({ headers: { ...V0618, accept: '  ' }, body: ping })).toBeUndefined();
      for (let i = 0; i < 100; i++) {
        expectDenied(transport({ headers: { ...V0618, accept: `text/x-${round}-${i}` }, body: ping }), 'accept', 400);
        expect(transport({ headers: { ...V0618, accept: `text/x-${round}-${i}, application/json` }, body: ping })).toBeUndefined();
      }
    }
  });
});

describe('transport stage: size and shape limits per policy', () => {
  it('refuses a declared length over the policy limit before looking at the body', () => {
    expectDenied(transport({ headers: V0618, body: ping, declaredLength: 2 * 1024 * 1024 }), 'body-too-large', 413);
  });

  it('applies each policy its own limits although the body is parsed once with the loosest', () => {
    const loose = buildPolicy({ name: 'loose', protocol: { maxBodyBytes: 4096, maxDepth: 64, maxWidth: 1000 } });
    const strict = buildPolicy({ name: 'strict', protocol: { maxBodyBytes: 100, maxDepth: 2, maxWidth: 4 } });
    const server = buildServer([loose, strict]);
    const big = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'q', arguments: { text: 'x'.repeat(200) } } };
    const deep = { jsonrpc: '2.0', id: 1, method: 'x', params: { a: { b: 1 } } };
    const wide = { jsonrpc: '2.0', id: 1, method: 'x', params: [1, 2, 3, 4, 5] };
    for (const [body, rule] of [[big, 'body-too-large'], [deep, 'json-too-deep'], [wide, 'json-too-wide']] as const) {
      expect(transport({ headers: V0618, body }, { policy: loose, server }), rule).toBeUndefined();
      expectDenied(transport({ headers: V0618, body }, { policy: strict, server }), rule, 413);
    }
  });

  it('reports the parse error of the body', () => {
    expectDenied(transport({ headers: V0618, body: '{"jsonrpc":' }), 'parse-error', 400);
    expectDenied(transport({ headers: V0618, body: '{"a":1,"a":2}' }), 'json-duplicate-key', 400);
    expectDenied(transport({ headers: V0618, body: Uint8Array.from([0x22, 0xff, 0x22]) }), 'invalid-utf8', 400);
  });
});
