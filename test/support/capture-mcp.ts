/**
 * Records real MCP client→server HTTP traffic as fixtures for the transport and protocol
 * stages: an official SDK McpServer behind StreamableHTTPServerTransport, fronted by a tiny
 * node:http recorder on 127.0.0.1, talked to by the official SDK Client over
 * StreamableHTTPClientTransport. Every HTTP request the client makes (POST messages, client
 * responses to sampling/elicitation/roots, the GET stream, the DELETE) is written as JSON to
 * test/fixtures/mcp/<revision>/NN-<label>.json.
 *
 * The SDK client always asks for its latest revision; to capture an older one, the recorder
 * rewrites `params.protocolVersion` of the initialize request (the fixture says so in
 * `rewritten`), the server agrees to it, and the client then speaks that revision.
 *
 * Traffic the SDK cannot produce (2025-03-26 batches, the stateless 2026-07-28 revision) is
 * built by hand from the published spec (`source: "hand-built …"`).
 *
 * Re-run (rewrites the fixture folders):
 *   export PATH=$PWD/node_modules/.bin:$PATH && node --import tsx test/support/capture-mcp.ts
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  ListRootsRequestSchema,
  ListRootsResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface McpFixture {
  readonly revision: string;
  readonly label: string;
  readonly source: string;
  /** What the recorder changed in the captured request, when anything. */
  readonly rewritten?: string;
  readonly request: {
    readonly method: string;
    readonly path: string;
    /** Lower-case names, as Envoy hands them to ext_authz. */
    readonly headers: Record<string, string>;
    /** The exact body text ('' when none). */
    readonly body: string;
  };
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/mcp');
const SDK_SOURCE = 'captured: @modelcontextprotocol/sdk 1.32.2 Client + StreamableHTTPClientTransport → McpServer + StreamableHTTPServerTransport';
const SSE_SOURCE = 'captured: @modelcontextprotocol/sdk 1.32.2 Client + SSEClientTransport (HTTP+SSE, 2024-11-05) → McpServer + SSEServerTransport';
const SESSION_REVISIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'] as const;

function buildServer(): McpServer {
  const server = new McpServer({ name: 'capture-server', version: '1.0.0' }, { capabilities: { logging: {} } });
  server.registerTool(
    'read_file',
    { description: 'Read a file from the shared data volume', inputSchema: { path: z.string() } },
    async ({ path: file }) => ({ content: [{ type: 'text', text: `contents of ${file}` }] }),
  );
  server.registerTool(
    'summarize',
    { description: 'Summarise text with the client model (sampling)', inputSchema: { text: z.string() } },
    async ({ text }, extra) => {
      const result = await extra.sendRequest(
        { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: { type: 'text', text } }], maxTokens: 50 } },
        CreateMessageResultSchema,
      );
      return { content: [{ type: 'text', text: result.content.type === 'text' ? result.content.text : '' }] };
    },
  );
  server.registerTool(
    'confirm_delete',
    { description: 'Delete a file after asking the user (elicitation)', inputSchema: { path: z.string() } },
    async ({ path: file }, extra) => {
      const result = await extra.sendRequest(
        {
          method: 'elicitation/create',
          params: { message: `Delete ${file}?`, requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] } },
        },
        ElicitResultSchema,
      );
      return { content: [{ type: 'text', text: result.action }] };
    },
  );
  server.registerTool('list_roots', { description: 'Show the client roots (roots/list)' }, async (extra) => {
    const result = await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema);
    return { content: [{ type: 'text', text: result.roots.map((r) => r.uri).join(',') }] };
  });
  server.registerTool('slow', { description: 'Takes a while (cancellation)' }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return { content: [{ type: 'text', text: 'done' }] };
  });
  server.registerResource('readme', 'file:///data/public/readme.txt', { mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'hello' }],
  }));
  server.registerResource('report', new ResourceTemplate('file:///data/reports/{year}.csv', { list: undefined }), { mimeType: 'text/csv' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'a,b' }],
  }));
  server.registerPrompt(
    'review',
    {
      description: 'Review code',
      argsSchema: { code: z.string(), language: completable(z.string(), (value) => ['typescript', 'python'].filter((l) => l.startsWith(value))) },
    },
    ({ code, language }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Review this ${language}: ${code}` } }] }),
  );
  return server;
}

function labelOf(method: string, body: string): string {
  if (method !== 'POST') return method === 'GET' ? 'get-stream' : `${method.toLowerCase()}-session`;
  try {
    const value = JSON.parse(body) as Record<string, unknown>;
    if (typeof value.method === 'string') return value.method.replaceAll('/', '_');
    if ('result' in value || 'error' in value) return 'client-response';
  } catch {
    // fall through
  }
  return 'post';
}

type Transport = 'streamable-http' | 'sse';

/** Reads, records (rewriting the initialize version when needed) and hands on each request. */
function recordingServer(
  revision: string,
  source: string,
  fixtures: McpFixture[],
  route: (req: http.IncomingMessage, res: http.ServerResponse, parsed: unknown) => Promise<void>,
): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let body = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = body === '' ? undefined : JSON.parse(body);
        let rewritten: string | undefined;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
        const init = parsed as { method?: string; params?: { protocolVersion?: string } } | undefined;
        if (init?.method === 'initialize' && init.params !== undefined && init.params.protocolVersion !== revision) {
          rewritten = `params.protocolVersion ${init.params.protocolVersion} → ${revision}`;
          init.params.protocolVersion = revision;
          body = JSON.stringify(parsed);
          headers['content-length'] = String(Buffer.byteLength(body));
          parsed = JSON.parse(body);
        }
        const method = req.method ?? 'GET';
        fixtures.push({
          revision,
          label: labelOf(method, body),
          source,
          ...(rewritten !== undefined ? { rewritten } : {}),
          request: { method, path: req.url ?? '/mcp', headers, body },
        });
        await route(req, res, parsed);
      })().catch((err: unknown) => {
        console.error(err);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  });
}

function streamableRoute(): { route: Parameters<typeof recordingServer>[3]; close: () => Promise<void> } {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  return {
    route: async (req, res, parsed) => {
      const sessionId = req.headers['mcp-session-id'];
      let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
      if (transport === undefined && (parsed as { method?: string } | undefined)?.method === 'initialize') {
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            transports.set(id, created);
          },
        });
        transport = created;
        await buildServer().connect(created);
      }
      if (transport === undefined) {
        res.writeHead(404).end();
        return;
      }
      await transport.handleRequest(req, res, parsed);
    },
    close: async () => {
      for (const t of transports.values()) await t.close();
    },
  };
}

/** 2024-11-05 HTTP+SSE: GET /sse opens the stream and announces /messages?sessionId=…; POSTs go there. */
function sseRoute(): { route: Parameters<typeof recordingServer>[3]; close: () => Promise<void> } {
  const transports = new Map<string, SSEServerTransport>();
  return {
    route: async (req, res, parsed) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'GET' && url.pathname === '/sse') {
        const transport = new SSEServerTransport('/messages', res);
        transports.set(transport.sessionId, transport);
        await buildServer().connect(transport);
        return;
      }
      const transport = transports.get(url.searchParams.get('sessionId') ?? '');
      if (req.method !== 'POST' || transport === undefined) {
        res.writeHead(404).end();
        return;
      }
      await transport.handlePostMessage(req, res, parsed);
    },
    close: async () => {
      for (const t of transports.values()) await t.close();
    },
  };
}

async function capture(revision: string, kind: Transport): Promise<McpFixture[]> {
  const fixtures: McpFixture[] = [];
  const { route, close } = kind === 'sse' ? sseRoute() : streamableRoute();
  const recorder = recordingServer(revision, kind === 'sse' ? SSE_SOURCE : SDK_SOURCE, fixtures, route);
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  const { port } = recorder.address() as AddressInfo;

  const client = new Client(
    { name: 'warden-capture', version: '1.0.0' },
    { capabilities: { sampling: {}, roots: { listChanged: true }, elicitation: {} } },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    model: 'test-model',
    role: 'assistant' as const,
    content: { type: 'text' as const, text: 'A short summary.' },
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept' as const, content: { confirm: true } }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///data/public', name: 'public' }] }));
  const streamable = kind === 'streamable-http' ? new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)) : undefined;
  const transport = streamable ?? new SSEClientTransport(new URL(`http://127.0.0.1:${port}/sse`));

  await client.connect(transport);
  // The GET stream opens after notifications/initialized; give it a moment to be recorded.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await client.listTools();
  await client.callTool({ name: 'read_file', arguments: { path: '/data/public/readme.txt' } });
  await client.callTool({ name: 'summarize', arguments: { text: 'MCP Warden judges every request.' } });
  if (revision >= '2025-06-18') await client.callTool({ name: 'confirm_delete', arguments: { path: '/data/public/old.txt' } });
  await client.callTool({ name: 'list_roots', arguments: {} });
  await client.listResources();
  await client.listResourceTemplates();
  await client.readResource({ uri: 'file:///data/public/readme.txt' });
  await client.listPrompts();
  await client.getPrompt({ name: 'review', arguments: { code: 'let x = 1', language: 'typescript' } });
  await client.complete({ ref: { type: 'ref/prompt', name: 'review' }, argument: { name: 'language', value: 'ty' } });
  await client.setLoggingLevel('info');
  await client.ping();
  await client.sendRootsListChanged();
  const abort = new AbortController();
  const slow = client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: abort.signal }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 100));
  abort.abort('capture: cancelling');
  await slow;
  await new Promise((resolve) => setTimeout(resolve, 100));
  await streamable?.terminateSession();
  await client.close();
  await close();
  recorder.closeAllConnections();
  await new Promise((resolve) => recorder.close(resolve));
  return fixtures;
}

const HAND_BUILT = 'hand-built from the published spec';

function post(revision: string, label: string, headers: Record<string, string>, message: unknown, note: string): McpFixture {
  const body = JSON.stringify(message);
  return {
    revision,
    label,
    source: `${HAND_BUILT}: ${note}`,
    request: {
      method: 'POST',
      path: '/mcp',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'content-length': String(Buffer.byteLength(body)),
        ...headers,
      },
      body,
    },
  };
}

/** 2025-03-26 is the only revision with JSON-RPC batches (schema JSONRPCBatchRequest/Response). */
function batchFixtures(): McpFixture[] {
  const h = { 'mcp-protocol-version': '2025-03-26', 'mcp-session-id': 'b3f0c1de-7d2a-4c57-9a43-2f7f0f7f5a10' };
  const note = '2025-03-26 basic/transports: a POST body may be an array batching requests/notifications, or one batching responses';
  return [
    post('2025-03-26', 'batch-requests', h, [
      { jsonrpc: '2.0', id: 10, method: 'tools/list' },
      { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'read_file', arguments: { path: '/data/public/readme.txt' } } },
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p1', progress: 1, total: 2 } },
    ], note),
    post('2025-03-26', 'batch-responses', h, [
      { jsonrpc: '2.0', id: 0, result: { roots: [{ uri: 'file:///data/public' }] } },
      { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'User rejected sampling request' } },
    ], note),
  ];
}

/** 2026-07-28: no handshake; `_meta` on every request; Mcp-Method / Mcp-Name mirrored in headers. */
function statelessFixtures(): McpFixture[] {
  const revision = '2026-07-28';
  const meta = {
    'io.modelcontextprotocol/protocolVersion': revision,
    'io.modelcontextprotocol/clientInfo': { name: 'ExampleClient', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
  };
  const note = '2026-07-28 basic/transports/streamable-http "Request Metadata" and schema.ts RequestMetaObject';
  const request = (id: number, method: string, params: Record<string, unknown>, name?: string): McpFixture =>
    post(
      revision,
      method.replaceAll('/', '_'),
      { 'mcp-protocol-version': revision, 'mcp-method': method, ...(name !== undefined ? { 'mcp-name': name } : {}) },
      { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } },
      note,
    );
  const base64Name = 'résumé_lookup';
  return [
    request(1, 'server/discover', {}),
    request(2, 'tools/list', {}),
    request(3, 'tools/call', { name: 'read_file', arguments: { path: '/data/public/readme.txt' } }, 'read_file'),
    request(4, 'tools/call', { name: base64Name, arguments: {} }, `=?base64?${Buffer.from(base64Name).toString('base64')}?=`),
    // Multi round-trip: the retry carries the answers to the server's input requests.
    request(5, 'tools/call', {
      name: 'confirm_delete',
      arguments: { path: '/data/public/old.txt' },
      inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
      requestState: 'opaque-state-from-server',
    }, 'confirm_delete'),
    request(6, 'resources/list', {}),
    request(7, 'resources/templates/list', {}),
    request(8, 'resources/read', { uri: 'file:///data/public/readme.txt' }, 'file:///data/public/readme.txt'),
    request(9, 'prompts/list', {}),
    request(10, 'prompts/get', { name: 'review', arguments: { code: 'let x = 1' } }, 'review'),
    request(11, 'completion/complete', { ref: { type: 'ref/prompt', name: 'review' }, argument: { name: 'language', value: 'ty' } }),
    request(12, 'subscriptions/listen', { notifications: { toolsListChanged: true } }),
    post(revision, 'notifications_cancelled', { 'mcp-protocol-version': revision }, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 12, reason: 'done' } }, note),
  ];
}

async function writeFixtures(revision: string, fixtures: readonly McpFixture[]): Promise<void> {
  const dir = path.join(ROOT, revision);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  let n = 0;
  for (const fixture of fixtures) {
    n++;
    const file = path.join(dir, `${String(n).padStart(2, '0')}-${fixture.label}.json`);
    await writeFile(file, `${JSON.stringify(fixture, null, 2)}\n`);
  }
  console.log(`${revision}: ${fixtures.length} fixtures`);
}

async function main(): Promise<void> {
  for (const revision of SESSION_REVISIONS) {
    const fixtures = await capture(revision, 'streamable-http');
    // 2024-11-05's own transport is HTTP+SSE; clients of that era still use it.
    const legacy = revision === '2024-11-05' ? (await capture(revision, 'sse')).map((f) => ({ ...f, label: `sse-${f.label}` })) : [];
    const extra = revision === '2025-03-26' ? batchFixtures() : [];
    await writeFixtures(revision, [...fixtures, ...legacy, ...extra]);
  }
  await writeFixtures('2026-07-28', statelessFixtures());
}

await main();
