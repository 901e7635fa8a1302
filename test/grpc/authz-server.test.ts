/**
 * The ext_authz edge end to end over real gRPC: a grpc-js client sends Envoy-shaped
 * CheckRequests to startAuthzServer. `decide` is a small stand-in that returns a verdict of
 * each class depending on the request, so these tests exercise the adapter (request
 * conversion, response building, fail-closed, health, metrics), not the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthzServer, type AuthzServer } from '../../authz/envoy/server.js';
import type { WardenRequest } from '../../authz/pipeline/request.js';
import { deny, ErrorCode, type Verdict } from '../../authz/pipeline/verdict.js';
import { createLogger } from '../../authz/telemetry/logger.js';
import { createMetrics } from '../../authz/telemetry/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../authz/telemetry/metrics-server.js';
import { connectCheckClient, type CheckClient, type DecodedCheckResponse } from './check-client.js';

interface Message {
  jsonrpc?: unknown;
  id?: string | number;
  method?: string;
  params?: { name?: string; arguments?: Record<string, unknown> };
}

function bodyText(request: WardenRequest): string {
  return typeof request.body === 'string' ? request.body : Buffer.from(request.body).toString('utf8');
}

const seen: WardenRequest[] = [];

/** Stand-in engine: the verdict class is chosen by what the request carries. */
async function fakeDecide(request: WardenRequest): Promise<Verdict> {
  seen.push(request);
  const base = {
    audited: [],
    warnings: [],
    serverKey: request.serverKey,
    policyKey: 'demo/strict',
    sessionId: request.headers['mcp-session-id'],
  };
  if ((request.declaredLength ?? 0) > 1_000) {
    return { ...base, allowed: false, jsonRpcId: null, tool: undefined, method: undefined, denial: deny('transport', 'body-too-large', 'size', ErrorCode.PayloadTooLarge, `body of ${request.declaredLength} bytes exceeds maxBodyBytes 1000`) };
  }
  const message = JSON.parse(bodyText(request)) as Message;
  const id = message.id ?? null;
  const tool = message.params?.name;
  const common = { ...base, jsonRpcId: id, tool, method: message.method };
  if (message.jsonrpc !== '2.0') {
    return { ...common, allowed: false, denial: deny('protocol', 'invalid-jsonrpc-version', 'protocol', ErrorCode.InvalidRequest, 'jsonrpc must be "2.0"') };
  }
  if (tool === 'explode') throw new Error('engine bug');
  if (tool === 'flood') {
    return { ...common, allowed: false, denial: deny('behavior', 'rate', 'throttle', ErrorCode.Throttled, 'more than 50 requests in 1s', { retryAfterSeconds: 7 }) };
  }
  const filename = message.params?.arguments?.['filename'];
  if (typeof filename === 'string' && filename.includes(';')) {
    return {
      ...common,
      allowed: false,
      denial: deny('arguments', 'command-injection', 'policy', ErrorCode.ArgumentRejected, 'argument filename carries a shell metacharacter', {
        data: { argument: '/filename' },
        excerpt: filename,
      }),
    };
  }
  if (tool === 'loop') {
    return { ...common, allowed: true, denial: undefined, warnings: [deny('behavior', 'loop', 'throttle', ErrorCode.Throttled, 'same call repeated', { warnOnly: true })] };
  }
  return { ...common, allowed: true, denial: undefined };
}

function checkRequest(body: object | string, headers: Record<string, string> = {}, asBytes = true): object {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const bytes = Buffer.from(text);
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 40000 } } },
      request: {
        http: {
          id: 'rid-' + Math.random().toString(36).slice(2),
          method: 'POST',
          path: '/mcp',
          headers: { 'content-type': 'application/json', 'content-length': String(bytes.length), ...headers },
          size: bytes.length,
          ...(asBytes ? { raw_body: bytes } : { body: text }),
        },
      },
      context_extensions: { 'mcpwarden.io/server': 'demo/files' },
    },
  };
}

function toolsCall(id: number | string, name: string, args: Record<string, unknown>): object {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

function deniedBody(r: DecodedCheckResponse): { id: unknown; error: { code: number; message: string; data: Record<string, unknown> } } {
  return JSON.parse(r.denied_response?.body ?? 'null') as { id: unknown; error: { code: number; message: string; data: Record<string, unknown> } };
}

function header(list: Array<{ header: { key: string; value: string } }> | undefined, key: string): string | undefined {
  return list?.find((h) => h.header.key === key)?.header.value;
}

let server: AuthzServer;
let client: CheckClient;
let metricsServer: MetricsServer;
const logLines: Array<Record<string, unknown>> = [];
const metrics = createMetrics({ processMetrics: false });

beforeAll(async () => {
  const logger = createLogger({ destination: { write: (s: string) => void logLines.push(JSON.parse(s) as Record<string, unknown>) } });
  server = await startAuthzServer({ listen: '127.0.0.1:0', decide: fakeDecide, logger, metrics, clock: () => 1_700_000_000_000 });
  metricsServer = await startMetricsServer('127.0.0.1:0', metrics.registry);
  client = connectCheckClient(`127.0.0.1:${server.port}`);
});

afterAll(async () => {
  client.close();
  await server.close(1_000);
  await metricsServer.close();
});

describe('ext_authz Check over gRPC', () => {
  it('allows a clean tools/call and passes the session upstream', async () => {
    const r = await client.check(checkRequest(toolsCall(1, 'read_file', { path: '/data/public/a.txt' }), { 'mcp-session-id': 'sess-9' }));
    expect(r.status.code).toBe(0);
    expect(r.http_response).toBe('ok_response');
    expect(header(r.ok_response?.headers, 'x-mcp-warden-session')).toBe('sess-9');
    const last = seen.at(-1);
    expect(last?.serverKey).toBe('demo/files');
    expect(last?.source.address).toBe('10.0.0.7');
    expect(last?.receivedAtMs).toBe(1_700_000_000_000);
  });

  it('reads the body whether Envoy sends it as text or bytes', async () => {
    const r = await client.check(checkRequest(toolsCall(2, 'read_file', { path: '/data/public/b.txt' }), {}, false));
    expect(r.status.code).toBe(0);
    expect(typeof seen.at(-1)?.body).toBe('string');
  });

  it('adds the warning header to the client response for warn-level findings', async () => {
    const r = await client.check(checkRequest(toolsCall(3, 'loop', {})));
    expect(r.status.code).toBe(0);
    expect(header(r.ok_response?.response_headers_to_add, 'x-mcp-warden-warning')).toBe('loop');
  });

  it('denies a protocol violation with 400 and the JSON-RPC error', async () => {
    const r = await client.check(checkRequest({ jsonrpc: '1.0', id: 'abc', method: 'tools/list' }));
    expect(r.status.code).toBe(7);
    expect(r.denied_response?.status.code).toBe('BadRequest');
    expect(header(r.denied_response?.headers, 'content-type')).toBe('application/json');
    expect(deniedBody(r)).toEqual({
      jsonrpc: '2.0',
      id: 'abc',
      error: { code: -32600, message: 'jsonrpc must be "2.0"', data: { stage: 'protocol', rule: 'invalid-jsonrpc-version' } },
    });
  });

  it('denies command injection with 403 and the request id', async () => {
    const r = await client.check(checkRequest(toolsCall(17, 'run_backup', { filename: 'backup.tar; rm -rf /' })));
    expect(r.status.code).toBe(7);
    expect(r.denied_response?.status.code).toBe('Forbidden');
    expect(header(r.denied_response?.headers, 'x-mcp-warden-rule')).toBe('command-injection');
    expect(deniedBody(r)).toMatchObject({ id: 17, error: { code: -32020, data: { stage: 'arguments', rule: 'command-injection', argument: '/filename' } } });
  });

  it('denies an oversized body with 413 and id null', async () => {
    const r = await client.check(checkRequest(toolsCall(5, 'read_file', { path: 'x'.repeat(2_000) })));
    expect(r.denied_response?.status.code).toBe('PayloadTooLarge');
    expect(deniedBody(r)).toMatchObject({ id: null, error: { code: -32001, data: { stage: 'transport', rule: 'body-too-large' } } });
  });

  it('throttles with 429 and Retry-After', async () => {
    const r = await client.check(checkRequest(toolsCall('t-1', 'flood', {})));
    expect(r.denied_response?.status.code).toBe('TooManyRequests');
    expect(header(r.denied_response?.headers, 'retry-after')).toBe('7');
    expect(deniedBody(r)).toMatchObject({ id: 't-1', error: { code: -32050, data: { rule: 'rate', retryAfterSeconds: 7 } } });
  });

  it('fails closed when decide throws: a deny, never an allow or a gRPC error', async () => {
    const r = await client.check(checkRequest(toolsCall(8, 'explode', {})));
    expect(r.status.code).toBe(7);
    expect(r.denied_response?.status.code).toBe('Forbidden');
    expect(deniedBody(r)).toMatchObject({ error: { code: -32603, data: { stage: 'internal', rule: 'internal-error' } } });
    expect(logLines.some((l) => l['msg'] === 'check failed; denying (fail closed)')).toBe(true);
  });

  it('fails closed when the body is not even JSON (decide throws while parsing)', async () => {
    const r = await client.check(checkRequest('{not json'));
    expect(r.status.code).toBe(7);
    expect(deniedBody(r).error.data['rule']).toBe('internal-error');
  });

  it('carries a body of several MiB within the receive limit', async () => {
    const big = toolsCall(9, 'read_file', { path: '/data/public/a', pad: 'y'.repeat(3 * 1024 * 1024) });
    const r = await client.check(checkRequest(big, { 'content-length': '10' }));
    expect(r.status.code).toBe(0);
    expect((seen.at(-1)?.body as Uint8Array).byteLength).toBeGreaterThan(3 * 1024 * 1024);
  });

  it('logs denials as security events with a redacted excerpt', () => {
    const event = logLines.find((l) => l['rule'] === 'command-injection');
    expect(event).toMatchObject({ event: 'mcp-warden.verdict', outcome: 'deny', server: 'demo/files', source: '10.0.0.7', tool: 'run_backup', excerpt: 'backup.tar; rm -rf /' });
    expect(logLines.some((l) => l['outcome'] === 'warn' && l['rule'] === 'loop')).toBe(true);
    // Plain allows produce no event.
    expect(logLines.filter((l) => l['event'] === 'mcp-warden.verdict' && l['tool'] === 'read_file' && l['outcome'] !== 'deny')).toEqual([]);
  });

  it('serves the counters on /metrics over HTTP', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`)).text();
    expect(text).toMatch(/mcp_warden_verdicts_total\{server="demo\/files",stage="none",rule="none",outcome="allow"\} [1-9]/);
    expect(text).toContain('mcp_warden_verdicts_total{server="demo/files",stage="arguments",rule="command-injection",outcome="deny"} 1');
    expect(text).toContain('mcp_warden_verdicts_total{server="demo/files",stage="internal",rule="internal-error",outcome="deny"} 2');
    expect(text).toContain('mcp_warden_verdicts_total{server="demo/files",stage="behavior",rule="loop",outcome="warn"} 1');
    expect(text).toMatch(/mcp_warden_check_duration_seconds_count [1-9]/);
  });
});

describe('decide deadline', () => {
  it('denies with internal-error when decide does not answer in time', async () => {
    const logger = createLogger({ level: 'silent' });
    const slow = await startAuthzServer({ listen: '127.0.0.1:0', decide: () => new Promise<Verdict>(() => undefined), logger, decideTimeoutMs: 50 });
    const slowClient = connectCheckClient(`127.0.0.1:${slow.port}`);
    try {
      const started = Date.now();
      const r = await slowClient.check(checkRequest(toolsCall(1, 'read_file', {})), 2_000);
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(r.status.code).toBe(7);
      expect(deniedBody(r)).toMatchObject({ error: { code: -32603, data: { rule: 'internal-error' } } });
    } finally {
      slowClient.close();
      await slow.close(100);
    }
  });
});

describe('grpc.health.v1 over gRPC', () => {
  it('reports SERVING once started, NOT_SERVING without config, and streams changes', async () => {
    expect(await client.health()).toBe('SERVING');
    expect(await client.health('envoy.service.auth.v3.Authorization')).toBe('SERVING');
    // A name never registered is NOT_FOUND, as the health-checking protocol says.
    await expect(client.health('no.such.Service')).rejects.toMatchObject({ code: 5 });

    const stream = client.watchHealth();
    // Cancelling the watch ends it with CANCELLED on the client side; that is expected.
    stream.on('error', () => undefined);
    const statuses: string[] = [];
    const twoUpdates = new Promise<void>((resolve) => {
      stream.on('data', (m: { status: string }) => {
        statuses.push(m.status);
        if (statuses.length === 3) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    server.setServing(false);
    expect(await client.health()).toBe('NOT_SERVING');
    server.setServing(true);
    await twoUpdates;
    stream.cancel();
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
  });
});
