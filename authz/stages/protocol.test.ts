import { describe, expect, it } from 'vitest';
import { HTTP_STATUS_BY_CLASS, type Denial } from '../pipeline/verdict.js';
import type { CheckContext } from '../pipeline/context.js';
import { buildContext, buildPolicy, buildServer, type TestContextOptions, type TestRequestInit } from '../../test/support/context.js';
import { fixtureRequest, loadMcpFixtures } from '../../test/support/mcp-fixtures.js';
import { compileProtocol, protocolStage } from './protocol.js';
import { transportStage } from './transport.js';

function run(ctx: CheckContext): Denial | undefined {
  return transportStage(ctx) ?? protocolStage(ctx);
}

function check(init: TestRequestInit, options?: TestContextOptions): { denial: Denial | undefined; ctx: CheckContext } {
  const ctx = buildContext(init, options);
  return { denial: run(ctx), ctx };
}

function expectDenied(denial: Denial | undefined, rule: string, status: number, code?: number): void {
  expect(denial, `expected ${rule}`).toBeDefined();
  expect(denial?.rule).toBe(rule);
  expect(HTTP_STATUS_BY_CLASS[denial!.class]).toBe(status);
  if (code !== undefined) expect(denial?.code).toBe(code);
}

const V0618 = { 'mcp-protocol-version': '2025-06-18' };
const V0326 = { 'mcp-protocol-version': '2025-03-26' };
const V2026 = '2026-07-28';

function meta(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': V2026,
    'io.modelcontextprotocol/clientCapabilities': {},
    ...extra,
  };
}

function stateless(method: string, params: Record<string, unknown>, headers: Record<string, string | undefined> = {}): TestRequestInit {
  return {
    headers: { 'mcp-protocol-version': V2026, 'mcp-method': method, ...headers },
    body: { jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta() } },
  };
}

describe('protocol stage: recorded real traffic passes', () => {
  const fixtures = loadMcpFixtures();

  it('has fixtures for every revision, including GET, DELETE and client responses', () => {
    const revisions = new Set(fixtures.map((f) => f.revision));
    expect([...revisions].sort()).toEqual(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28']);
    expect(fixtures.some((f) => f.request.method === 'GET')).toBe(true);
    expect(fixtures.some((f) => f.request.method === 'DELETE')).toBe(true);
    expect(fixtures.filter((f) => f.label === 'client-response').length).toBeGreaterThanOrEqual(8);
  });

  for (const fixture of fixtures) {
    it(`${fixture.file} (${fixture.label}) passes stages 1-2 as revision ${fixture.revision}`, () => {
      // The server's endpoint is the fixture's (2024-11-05's HTTP+SSE transport: /sse, /messages).
      const server = buildServer();
      const upstream = { ...server.resource.spec.upstream, path: fixture.request.path.split('?')[0] ?? '' };
      const ctx = buildContext(fixtureRequest(fixture), { server: { ...server, resource: { ...server.resource, spec: { ...server.resource.spec, upstream } } } });
      expect(run(ctx)).toBeUndefined();
      // Before initialize there is no MCP-Protocol-Version header (the 2024-11-05 SSE GET):
      // the spec's backwards-compatibility default applies.
      const declared = fixture.request.headers['mcp-protocol-version'] !== undefined || fixture.label.endsWith('initialize');
      expect(ctx.protocolVersion).toBe(declared ? fixture.revision : '2025-03-26');
      if (fixture.request.method === 'POST') {
        const value = JSON.parse(fixture.request.body) as unknown;
        expect(ctx.batch).toBe(Array.isArray(value));
        expect(ctx.messages.length).toBe(Array.isArray(value) ? value.length : 1);
        const calls = (Array.isArray(value) ? value : [value]).filter((m: { method?: string; id?: unknown }) => m.method === 'tools/call' && m.id !== undefined);
        expect(ctx.toolCalls.map((c) => c.name)).toEqual(calls.map((m: { params: { name: string } }) => m.params.name));
        for (const call of ctx.toolCalls) expect(call.rule).toBeUndefined();
      }
    });
  }

  it('extracts tool calls with their arguments, defaulting absent arguments to {}', () => {
    const { denial, ctx } = check({ headers: V0618, body: { jsonrpc: '2.0', id: 'abc', method: 'tools/call', params: { name: 'list_roots' } } });
    expect(denial).toBeUndefined();
    expect(ctx.toolCalls).toHaveLength(1);
    expect(ctx.toolCalls[0]).toMatchObject({ name: 'list_roots', arguments: {}, message: { kind: 'request', id: 'abc' } });
  });
});

describe('protocol stage: malformed JSON-RPC', () => {
  const cases: Array<[string, unknown, string, number]> = [
    ['id: true', { jsonrpc: '2.0', id: true, method: 'ping' }, 'invalid-id', -32600],
    ['id: null on a request', { jsonrpc: '2.0', id: null, method: 'ping' }, 'invalid-id', -32600],
    ['fractional id', { jsonrpc: '2.0', id: 1.5, method: 'ping' }, 'invalid-id', -32600],
    ['object id', { jsonrpc: '2.0', id: { a: 1 }, method: 'ping' }, 'invalid-id', -32600],
    ['id beyond 2^53', { jsonrpc: '2.0', id: 2 ** 60, method: 'ping' }, 'invalid-id', -32600],
    ['jsonrpc "1.0"', { jsonrpc: '1.0', id: 1, method: 'ping' }, 'jsonrpc-version', -32600],
    ['jsonrpc missing', { id: 1, method: 'ping' }, 'jsonrpc-version', -32600],
    ['method 5', { jsonrpc: '2.0', id: 1, method: 5 }, 'invalid-method', -32600],
    ['empty method', { jsonrpc: '2.0', id: 1, method: '' }, 'invalid-method', -32600],
    ['params array', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: [1] }, 'invalid-params', -32600],
    ['params string', { jsonrpc: '2.0', id: 1, method: 'tools/list', params: 'x' }, 'invalid-params', -32600],
    ['method and result together', { jsonrpc: '2.0', id: 1, method: 'ping', result: {} }, 'invalid-message', -32600],
    ['neither method nor result', { jsonrpc: '2.0', id: 1 }, 'invalid-message', -32600],
    ['a bare JSON string', '"ping"', 'invalid-message', -32600],
    ['an empty batch', [], 'invalid-message', -32600],
    ['result and error together', { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } }, 'invalid-response', -32600],
    ['response without id', { jsonrpc: '2.0', result: {} }, 'invalid-response', -32600],
    ['non-object result', { jsonrpc: '2.0', id: 1, result: 5 }, 'invalid-response', -32600],
    ['malformed error', { jsonrpc: '2.0', id: 1, error: { code: 'x' } }, 'invalid-response', -32600],
    ['unknown method', { jsonrpc: '2.0', id: 1, method: 'admin/shutdown' }, 'method-not-found', -32601],
    ['tools/call sent as a notification', { jsonrpc: '2.0', method: 'tools/call', params: { name: 'read_file' } }, 'method-not-found', -32601],
    ['a server method from the client', { jsonrpc: '2.0', id: 1, method: 'sampling/createMessage', params: {} }, 'method-not-found', -32601],
    ['server/discover in a session revision', { jsonrpc: '2.0', id: 1, method: 'server/discover', params: {} }, 'method-not-found', -32601],
    ['tasks/list before 2025-11-25', { jsonrpc: '2.0', id: 1, method: 'tasks/list' }, 'method-not-found', -32601],
    ['tools/call without a name', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { arguments: {} } }, 'invalid-tool-call', -32602],
    ['tools/call with array arguments', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'q', arguments: ['x'] } }, 'invalid-tool-call', -32602],
    ['initialize without protocolVersion', { jsonrpc: '2.0', id: 0, method: 'initialize', params: { capabilities: {} } }, 'invalid-params', -32602],
  ];
  for (const [name, body, rule, code] of cases) {
    it(`${name} → ${rule}`, () => {
      expectDenied(check({ headers: V0618, body }).denial, rule, 400, code);
    });
  }

  it('an empty POST → empty-body (400)', () => {
    expectDenied(check({ headers: V0618 }).denial, 'empty-body', 400, -32600);
  });

  it('truncated JSON → parse-error (-32700, 400)', () => {
    expectDenied(check({ headers: V0618, body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_fi' }).denial, 'parse-error', 400, -32700);
  });

  it('a 10 MB body → body-too-large (413), quickly', () => {
    const start = performance.now();
    const { denial } = check({ headers: V0618, body: new Uint8Array(10 * 1024 * 1024).fill(0x20), declaredLength: 10 * 1024 * 1024 });
    expectDenied(denial, 'body-too-large', 413, -32001);
    expect(performance.now() - start).toBeLessThan(100);
  });

  it('20 000-deep nesting → json-too-deep (413), quickly', () => {
    const body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"q","arguments":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}}`;
    const start = performance.now();
    expectDenied(check({ headers: V0618, body }).denial, 'json-too-deep', 413, -32001);
    expect(performance.now() - start).toBeLessThan(100);
  });

  it('duplicate keys → json-duplicate-key (400): no parser-differential smuggling', () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_file","name":"run_backup","arguments":{}}}';
    expectDenied(check({ headers: V0618, body }).denial, 'json-duplicate-key', 400);
  });

  it('__proto__ keys → json-proto-key (400)', () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"q","arguments":{"__proto__":{"isAdmin":true}}}}';
    expectDenied(check({ headers: V0618, body }).denial, 'json-proto-key', 400);
  });

  it('never throws on arbitrary JSON values and decides quickly', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
    const atoms: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 60, '', '2.0', 'tools/call', 'initialize', [], {}, { name: 'x' }, [1, 2]];
    const start = performance.now();
    for (let i = 0; i < 2000; i++) {
      const message: Record<string, unknown> = {};
      for (const key of ['jsonrpc', 'id', 'method', 'params', 'result', 'error']) if (rand(2) === 0) message[key] = pick(atoms);
      if (rand(3) === 0) message.jsonrpc = '2.0';
      const body = rand(5) === 0 ? [message, message] : message;
      const headers = pick([V0618, V0326, { 'mcp-protocol-version': V2026, 'mcp-method': String(message.method) }, {}]);
      expect(() => run(buildContext({ headers, body }))).not.toThrow();
    }
    expect(performance.now() - start).toBeLessThan(5000);
  });
});

describe('protocol stage: batches per revision', () => {
  const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'read_file', arguments: { path: `/data/${id}` } } });

  it('accepts a batch in 2025-03-26 and extracts every tool call', () => {
    const { denial, ctx } = check({ headers: V0326, body: [call(1), call(2), { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 0 } }] });
    expect(denial).toBeUndefined();
    expect(ctx.batch).toBe(true);
    expect(ctx.toolCalls.map((c) => c.arguments.path)).toEqual(['/data/1', '/data/2']);
  });

  it('refuses batches in 2025-06-18, 2025-11-25, 2024-11-05 and 2026-07-28', () => {
    for (const version of ['2025-06-18', '2025-11-25', '2024-11-05']) {
      expectDenied(check({ headers: { 'mcp-protocol-version': version }, body: [call(1)] }).denial, 'batch-not-allowed', 400, -32600);
    }
    const modern = { ...call(1), params: { name: 'read_file', arguments: {}, _meta: meta() } };
    expectDenied(check({ headers: { 'mcp-protocol-version': V2026, 'mcp-method': 'tools/call', 'mcp-name': 'read_file' }, body: [modern] }).denial, 'batch-not-allowed', 400);
  });

  it('treats a request without MCP-Protocol-Version as 2025-03-26, where batches are allowed', () => {
    const { denial, ctx } = check({ body: [call(1), call(2)] });
    expect(denial).toBeUndefined();
    expect(ctx.protocolVersion).toBe('2025-03-26');
  });

  it('limits batch size, mixing and initialize inside batches', () => {
    const policy = { protocol: { maxBatchSize: 3 } };
    expect(check({ headers: V0326, body: [call(1), call(2), call(3)] }, { policy }).denial).toBeUndefined();
    expectDenied(check({ headers: V0326, body: [call(1), call(2), call(3), call(4)] }, { policy }).denial, 'batch-too-large', 413);
    expectDenied(check({ headers: V0326, body: [call(1), { jsonrpc: '2.0', id: 9, result: {} }] }).denial, 'batch-mixed', 400);
    const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'c', version: '1' } } };
    expectDenied(check({ body: [init] }).denial, 'initialize-in-batch', 400);
  });
});

describe('protocol stage: revisions and policy', () => {
  const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };

  it('refuses a revision the policy does not list, and unknown revisions', () => {
    const policy = { protocol: { versions: ['2025-11-25', V2026] } };
    expectDenied(check({ headers: V0618, body: ping }, { policy }).denial, 'protocol-version-refused', 400, -32004);
    expectDenied(check({ body: ping }, { policy }).denial, 'protocol-version-refused', 400, -32004);
    expectDenied(check({ headers: { 'mcp-protocol-version': '2099-01-01' }, body: ping }).denial, 'protocol-version-refused', 400);
    const init = (v: string) => ({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: v, capabilities: {}, clientInfo: { name: 'c', version: '1' } } });
    expectDenied(check({ body: init('2025-06-18') }, { policy }).denial, 'protocol-version-refused', 400);
    expect(check({ body: init('2025-11-25') }, { policy }).denial).toBeUndefined();
    expectDenied(check({ method: 'GET', headers: { ...V0618, accept: 'text/event-stream' } }, { policy }).denial, 'protocol-version-refused', 400);
  });

  it('denyMethods refuse (403) and allowMethods extend the table', () => {
    const policy = { protocol: { denyMethods: ['logging/setLevel'], allowMethods: ['vendor/report', 'notifications/vendor'] } };
    expectDenied(check({ headers: V0618, body: { jsonrpc: '2.0', id: 1, method: 'logging/setLevel', params: { level: 'debug' } } }, { policy }).denial, 'method-denied', 403, -32004);
    expect(check({ headers: V0618, body: { jsonrpc: '2.0', id: 1, method: 'vendor/report', params: {} } }, { policy }).denial).toBeUndefined();
    expect(check({ headers: V0618, body: { jsonrpc: '2.0', method: 'notifications/vendor' } }, { policy }).denial).toBeUndefined();
    expectDenied(check({ headers: V0618, body: { jsonrpc: '2.0', id: 1, method: 'vendor/report', params: {} } }).denial, 'method-not-found', 400);
  });

  it('allows tasks/* only from 2025-11-25', () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tasks/get', params: { taskId: 't1' } };
    expect(check({ headers: { 'mcp-protocol-version': '2025-11-25' }, body }).denial).toBeUndefined();
    expectDenied(check({ headers: V0618, body }).denial, 'method-not-found', 400);
  });

  it('compileProtocol rejects bad policies naming the field', () => {
    const base = { maxBodyBytes: 1024, versions: ['2025-06-18'], maxDepth: 8, maxWidth: 100, maxBatchSize: 4 };
    expect(compileProtocol(base).versions.has('2025-06-18')).toBe(true);
    expect(() => compileProtocol({ ...base, versions: ['2025-06-18', '2025-13-01'] })).toThrow(/versions\[1\]: unknown MCP protocol revision/);
    expect(() => compileProtocol({ ...base, versions: [] })).toThrow(/versions/);
    expect(() => compileProtocol({ ...base, maxDepth: 0 })).toThrow(/maxDepth/);
    expect(() => compileProtocol({ ...base, maxBodyBytes: 1.5 })).toThrow(/maxBodyBytes/);
    expect(() => compileProtocol({ ...base, denyMethods: [''] })).toThrow(/denyMethods\[0\]/);
  });
});

describe('protocol stage: client responses', () => {
  const response = { jsonrpc: '2.0', id: 3, result: { action: 'accept', content: { ok: true } } };

  it('accepts responses to server requests in session revisions, with results or errors', () => {
    expect(check({ headers: V0618, body: response }).denial).toBeUndefined();
    expect(check({ headers: V0618, body: { jsonrpc: '2.0', id: 'srv-1', error: { code: -1, message: 'User rejected' } } }).denial).toBeUndefined();
  });

  it('refuses responses in 2026-07-28 (servers send no requests there)', () => {
    const { denial } = check({ headers: { 'mcp-protocol-version': V2026 }, body: response });
    expectDenied(denial, 'response-not-allowed', 400);
  });
});

describe('protocol stage: stateless revision 2026-07-28', () => {
  it('accepts a well-formed request and records the revision from _meta', () => {
    const { denial, ctx } = check(stateless('tools/call', { name: 'read_file', arguments: { path: '/data/a' } }, { 'mcp-name': 'read_file' }));
    expect(denial).toBeUndefined();
    expect(ctx.protocolVersion).toBe(V2026);
    expect(ctx.toolCalls[0]?.name).toBe('read_file');
  });

  it('refuses Mcp-Method that disagrees with the body, or is missing', () => {
    expectDenied(check(stateless('tools/call', { name: 'read_file' }, { 'mcp-method': 'tools/list', 'mcp-name': 'read_file' })).denial, 'header-body-mismatch', 400);
    expectDenied(check(stateless('tools/list', {}, { 'mcp-method': undefined })).denial, 'header-body-mismatch', 400);
    expectDenied(check(stateless('tools/list', {}, { 'mcp-method': 'Tools/List' })).denial, 'header-body-mismatch', 400);
  });

  it('refuses Mcp-Name that disagrees with params.name / params.uri, is missing, or is malformed', () => {
    expectDenied(check(stateless('tools/call', { name: 'run_backup', arguments: {} }, { 'mcp-name': 'read_file' })).denial, 'header-body-mismatch', 400);
    expectDenied(check(stateless('tools/call', { name: 'run_backup', arguments: {} })).denial, 'header-body-mismatch', 400);
    expectDenied(check(stateless('resources/read', { uri: 'file:///etc/passwd' }, { 'mcp-name': 'file:///data/public/a' })).denial, 'header-body-mismatch', 400);
    expectDenied(check(stateless('prompts/get', { name: 'evil' }, { 'mcp-name': 'review' })).denial, 'header-body-mismatch', 400);
    expectDenied(check(stateless('tools/call', { name: 'x' }, { 'mcp-name': '=?base64?!!!?=' })).denial, 'header-body-mismatch', 400);
    const encodedOther = `=?base64?${Buffer.from('run_backup').toString('base64')}?=`;
    expectDenied(check(stateless('tools/call', { name: 'read_file' }, { 'mcp-name': encodedOther })).denial, 'header-body-mismatch', 400);
    const encodedSame = `=?base64?${Buffer.from('read_file').toString('base64')}?=`;
    expect(check(stateless('tools/call', { name: 'read_file' }, { 'mcp-name': encodedSame })).denial).toBeUndefined();
    // A name header on a method without a name must not claim one the body lacks.
    expectDenied(check(stateless('tools/list', {}, { 'mcp-name': 'read_file' })).denial, 'header-body-mismatch', 400);
  });

  it('refuses MCP-Protocol-Version that disagrees with _meta, or is missing', () => {
    expectDenied(check(stateless('tools/list', {}, { 'mcp-protocol-version': '2025-11-25' })).denial, 'protocol-version-mismatch', 400);
    expectDenied(check(stateless('tools/list', {}, { 'mcp-protocol-version': undefined })).denial, 'protocol-version-mismatch', 400);
  });

  it('requires _meta protocol version and client capabilities on requests', () => {
    const noMeta = { headers: { 'mcp-protocol-version': V2026, 'mcp-method': 'tools/list' }, body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} } };
    expectDenied(check(noMeta).denial, 'invalid-meta', 400, -32602);
    const noCaps = {
      headers: { 'mcp-protocol-version': V2026, 'mcp-method': 'tools/list' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': V2026 } } },
    };
    expectDenied(check(noCaps).denial, 'invalid-meta', 400);
    const badVersion = {
      headers: { 'mcp-protocol-version': V2026, 'mcp-method': 'tools/list' },
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta({ 'io.modelcontextprotocol/protocolVersion': 20260728 }) } },
    };
    expectDenied(check(badVersion).denial, 'invalid-meta', 400);
  });

  it('refuses initialize and the methods the revision removed', () => {
    const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: V2026, capabilities: {}, clientInfo: { name: 'c', version: '1' } } };
    expectDenied(check({ body: init }).denial, 'initialize-not-allowed', 400, -32601);
    expectDenied(check({ headers: { 'mcp-protocol-version': V2026 }, body: { ...init, params: { ...init.params, protocolVersion: '2025-11-25' } } }).denial, 'initialize-not-allowed', 400);
    for (const method of ['ping', 'logging/setLevel', 'resources/subscribe']) {
      expectDenied(check(stateless(method, {})).denial, 'method-not-found', 400, -32601);
    }
    expect(check(stateless('server/discover', {})).denial).toBeUndefined();
    expect(check(stateless('subscriptions/listen', { notifications: { toolsListChanged: true } })).denial).toBeUndefined();
  });

  it('ignores an Mcp-Session-Id header, as the revision tells servers to', () => {
    expect(check(stateless('tools/list', {}, { 'mcp-session-id': 'old-session' })).denial).toBeUndefined();
  });

  it('checks mirrored headers in session revisions too when a client sends them', () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'run_backup', arguments: {} } };
    expect(check({ headers: V0618, body }).denial).toBeUndefined();
    expect(check({ headers: { ...V0618, 'mcp-method': 'tools/call', 'mcp-name': 'run_backup' }, body }).denial).toBeUndefined();
    expectDenied(check({ headers: { ...V0618, 'mcp-method': 'tools/call', 'mcp-name': 'read_file' }, body }).denial, 'header-body-mismatch', 400);
  });
});

describe('protocol stage: policy defaults', () => {
  it('the default policy accepts every known revision', () => {
    expect([...buildPolicy().protocol.versions].sort()).toEqual(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28']);
  });
});
