/**
 * The real authz service (`startAuthz`: config files → engine → gRPC) judged over a real
 * socket with Envoy-shaped CheckRequests: allow and every denial class, hot reload that keeps
 * the last good config, and the metrics endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startAuthz, type RunningAuthz } from '../../authz/main.js';
import { connectCheckClient, type CheckClient, type DecodedCheckResponse } from './check-client.js';

const PROTOCOL = '2025-06-18';
let dir: string;
let authz: RunningAuthz;
let client: CheckClient;
let sourcePort = 40000;

function checkRequest(body: object | string, options: { headers?: Record<string, string>; source?: string; method?: string } = {}): object {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const bytes = Buffer.from(text);
  const method = options.method ?? 'POST';
  return {
    attributes: {
      source: { address: { socket_address: { address: options.source ?? '10.0.0.7', port_value: sourcePort++ } } },
      request: {
        http: {
          id: `rid-${sourcePort}`,
          method,
          path: '/mcp',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': PROTOCOL,
            'mcp-session-id': 'session-a',
            'user-agent': 'agent/1.0',
            ...(bytes.length > 0 ? { 'content-length': String(bytes.length) } : {}),
            ...options.headers,
          },
          size: bytes.length,
          raw_body: bytes,
        },
      },
      context_extensions: { 'mcpwarden.io/server': 'demo/warden-demo' },
    },
  };
}

let nextId = 1;
function call(name: string, args: Record<string, unknown>, id: number | string = nextId++): object {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

interface ErrorBody {
  jsonrpc: string;
  id: unknown;
  error: { code: number; message: string; data: { stage: string; rule: string } & Record<string, unknown> };
}
function denied(r: DecodedCheckResponse): { status: string; body: ErrorBody; headers: Record<string, string> } {
  expect(r.http_response).toBe('denied_response');
  const headers: Record<string, string> = {};
  for (const h of r.denied_response?.headers ?? []) headers[h.header.key] = h.header.value;
  return { status: r.denied_response!.status.code, body: JSON.parse(r.denied_response!.body) as ErrorBody, headers };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'warden-authz-'));
  await copyFile('examples/demo.yaml', path.join(dir, 'demo.yaml'));
  authz = await startAuthz({ configPath: dir, listen: '127.0.0.1:0', metricsListen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
  client = connectCheckClient(`127.0.0.1:${authz.port}`);
});

afterAll(async () => {
  client?.close();
  await authz?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('authz service over gRPC with the real engine', () => {
  it('reports SERVING once the config is loaded', async () => {
    await expect.poll(() => client.health(), { timeout: 10_000 }).toBe('SERVING');
  });

  it('allows initialize and a benign tools/call', async () => {
    const init = await client.check(checkRequest({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 't', version: '1' } } }, { headers: { 'mcp-session-id': '' } }));
    expect(init.status.code).toBe(0);
    const ok = await client.check(checkRequest(call('read_file', { path: 'notes/today.txt' })));
    expect(ok.status.code).toBe(0);
    expect(ok.http_response).toBe('ok_response');
  });

  it('denies a protocol violation with 400 and the request id', async () => {
    const r = denied(await client.check(checkRequest({ jsonrpc: '1.0', id: 41, method: 'tools/list' })));
    expect(r.status).toBe('BadRequest');
    expect(r.body.id).toBe(41);
    expect(r.body.error.data).toMatchObject({ stage: 'protocol', rule: 'jsonrpc-version' });
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('denies command injection with 403 naming the argument and detector', async () => {
    const r = denied(await client.check(checkRequest(call('run_backup', { filename: 'backup.tar; rm -rf / ;' }, 'call-7'))));
    expect(r.status).toBe('Forbidden');
    expect(r.body).toMatchObject({ jsonrpc: '2.0', id: 'call-7' });
    expect(r.body.error.code).toBe(-32020);
    expect(r.body.error.data.stage).toBe('arguments');
    expect(r.body.error.message).toContain('filename');
    expect(r.body.error.message).not.toContain('rm -rf');
  });

  it('denies the brief’s other attacks at the arguments stage', async () => {
    for (const [tool, args] of [
      ['read_file', { path: '../../../../etc/passwd' }],
      ['query', { sql: 'COMMIT; DROP SCHEMA public CASCADE;' }],
    ] as const) {
      const r = denied(await client.check(checkRequest(call(tool, args))));
      expect(r.status, tool).toBe('Forbidden');
      expect(r.body.error.data.stage, tool).toBe('arguments');
    }
  });

  it('denies an unlisted tool (tools.default: Deny) and a schema violation', async () => {
    const unlisted = denied(await client.check(checkRequest(call('delete_everything', {}))));
    expect(unlisted.status).toBe('Forbidden');
    expect(unlisted.body.error.data).toMatchObject({ stage: 'tool', rule: 'tool-not-allowed' });
    const schema = denied(await client.check(checkRequest(call('read_file', { path: 'a.txt', mode: 'w' }))));
    expect(schema.status).toBe('BadRequest');
    expect(schema.body.error.data).toMatchObject({ stage: 'schema', rule: 'schema-violation' });
  });

  it('denies an oversized body with 413 before parsing it', async () => {
    const big = JSON.stringify(call('read_file', { path: 'a'.repeat(2 * 1024 * 1024) }));
    const r = denied(await client.check(checkRequest(big)));
    expect(r.status).toBe('PayloadTooLarge');
    expect(r.body.error.data.rule).toBe('body-too-large');
  });

  it('throttles a flood with 429 and Retry-After', async () => {
    let last: DecodedCheckResponse | undefined;
    for (let i = 0; i < 80; i++) {
      last = await client.check(checkRequest(call('get_customer_list', { page: 1 }), { headers: { 'mcp-session-id': 'flood' }, source: '10.0.0.9' }));
      if (last.http_response === 'denied_response') break;
    }
    const r = denied(last!);
    expect(r.status).toBe('TooManyRequests');
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect(r.body.error.data.stage).toBe('behavior');
  });

  it('serves verdict metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${authz.metricsPort}/metrics`)).text();
    expect(text).toMatch(/mcp_warden_verdicts_total\{[^}]*rule="jsonrpc-version"[^}]*\} 1/);
    expect(text).toContain('mcp_warden_check_duration_seconds_bucket');
    expect(text).toMatch(/mcp_warden_config_reloads_total\{result="success"\} 1/);
  });

  it('hot-reloads: a bad edit keeps the last good config, a good edit applies', async () => {
    const file = path.join(dir, 'demo.yaml');
    const original = await readFile(file, 'utf8');
    const generation = authz.snapshot()!.generation;
    await writeFile(file, original.replace('default: Deny', 'default: Sometimes'));
    await expect.poll(async () => (await (await fetch(`http://127.0.0.1:${authz.metricsPort}/metrics`)).text()), { timeout: 10_000 }).toMatch(/mcp_warden_config_reloads_total\{result="error"\} [1-9]/);
    expect(authz.snapshot()!.generation).toBe(generation);
    expect(denied(await client.check(checkRequest(call('delete_everything', {})))).body.error.data.rule).toBe('tool-not-allowed');

    await writeFile(file, original.replace('default: Deny', 'default: Allow'));
    await expect.poll(() => authz.snapshot()!.generation, { timeout: 10_000 }).toBeGreaterThan(generation);
    const allowed = await client.check(checkRequest(call('delete_everything', {}), { headers: { 'mcp-session-id': 'after-reload' } }));
    expect(allowed.http_response).toBe('ok_response');
  });
});
