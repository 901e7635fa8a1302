/**
 * A real MCP server for discovery tests, on loopback, whose tool list the test can change
 * while it runs (a rug pull). Two flavours:
 * - `session`: the official SDK server over Streamable HTTP with sessions (initialize,
 *   Mcp-Session-Id), one SDK Server per session;
 * - `stateless`: the 2026-07-28 revision: no initialize (refused), tools/list answered with
 *   the revision taken from `params._meta`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ToolDefinition } from '../../authz/api/types.js';

export interface McpFixture {
  url: string;
  port: number;
  /** The tools served from now on (mutate to simulate a changed definition). */
  tools: ToolDefinition[];
  /** tools/list requests received so far (counted on arrival). */
  listCalls: number;
  /** Delay before answering tools/list (a slow server, to catch a client mid-request). */
  delayMs: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function startMcpFixture(flavour: 'session' | 'stateless', tools: ToolDefinition[], host = '127.0.0.1'): Promise<McpFixture> {
  const fixture = { tools, listCalls: 0, delayMs: 0 } as McpFixture;
  const delay = async (): Promise<void> => {
    if (fixture.delayMs > 0) await new Promise((r) => setTimeout(r, fixture.delayMs));
  };
  const transports = new Map<string, StreamableHTTPServerTransport>();

  const sessionHandler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const sessionId = req.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined;
    if (transport === undefined) {
      if (typeof sessionId === 'string') return json(res, 404, { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'unknown session' } });
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: true,
        onsessioninitialized: (id) => {
          if (transport !== undefined) transports.set(id, transport);
        },
      });
      const server = new Server({ name: 'fixture', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => {
        fixture.listCalls += 1;
        await delay();
        return { tools: fixture.tools as never };
      });
      transport.onclose = () => {
        if (transport?.sessionId !== undefined) transports.delete(transport.sessionId);
      };
      await server.connect(transport);
    }
    await transport.handleRequest(req, res, body);
  };

  const statelessHandler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') return json(res, 405, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'POST only' } });
    const message = (await readBody(req)) as { id?: unknown; method?: string; params?: { _meta?: Record<string, unknown> } };
    const id = message.id ?? null;
    if (message.method === 'initialize') {
      return json(res, 400, { jsonrpc: '2.0', id, error: { code: -32601, message: 'initialize is not part of 2026-07-28' } });
    }
    const version = message.params?._meta?.['io.modelcontextprotocol/protocolVersion'];
    if (version !== '2026-07-28' || req.headers['mcp-method'] !== message.method) {
      return json(res, 400, { jsonrpc: '2.0', id, error: { code: -32602, message: 'missing _meta protocol version or Mcp-Method' } });
    }
    if (message.method !== 'tools/list') return json(res, 200, { jsonrpc: '2.0', id, error: { code: -32601, message: 'method not found' } });
    fixture.listCalls += 1;
    await delay();
    return json(res, 200, { jsonrpc: '2.0', id, result: { tools: fixture.tools } });
  };

  const handler = flavour === 'session' ? sessionHandler : statelessHandler;
  const http: HttpServer = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { jsonrpc: '2.0', id: null, error: { code: -32603, message: String(err) } });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, host, resolve));
  const port = (http.address() as AddressInfo).port;
  fixture.port = port;
  fixture.url = `http://${host}:${port}/mcp`;
  fixture.close = async () => {
    for (const t of transports.values()) await t.close().catch(() => undefined);
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return fixture;
}
