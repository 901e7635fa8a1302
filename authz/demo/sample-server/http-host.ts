/**
 * Hosts MCP sessions over Streamable HTTP (stateful: one transport per `Mcp-Session-Id`,
 * with an event store so clients can resume a broken SSE stream with `Last-Event-ID`).
 * Used by the sample server and by the test bridge that puts stdio-only servers on HTTP.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** One MCP session: something that speaks MCP over the transport it is given. */
export interface SessionHandler {
  connect(transport: StreamableHTTPServerTransport): Promise<void>;
  close(): Promise<void>;
}

export interface HostOptions {
  readonly host: string;
  readonly port: number;
  /** The MCP endpoint path (default /mcp). */
  readonly path?: string;
  readonly createSession: () => Promise<SessionHandler>;
  /** Largest request body accepted (default 4 MiB). */
  readonly maxBodyBytes?: number;
  /** Refuses a request with 403 when it returns a reason (e.g. DNS-rebinding protection). */
  readonly rejectRequest?: (req: IncomingMessage) => string | undefined;
}

export interface HostedServer {
  readonly port: number;
  readonly url: string;
  /** Sessions currently open. */
  sessionCount(): number;
  close(): Promise<void>;
}

/** Keeps every event of a session so a client can resume after any of them. */
class MemoryEventStore implements EventStore {
  private readonly events = new Map<string, { streamId: string; message: JSONRPCMessage }>();

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const eventId = `${streamId}_${randomUUID()}`;
    this.events.set(eventId, { streamId, message });
    return eventId;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return this.events.get(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const last = this.events.get(lastEventId);
    if (last === undefined) return '';
    let after = false;
    for (const [eventId, event] of this.events) {
      if (eventId === lastEventId) {
        after = true;
        continue;
      }
      if (after && event.streamId === last.streamId) await send(eventId, event.message);
    }
    return last.streamId;
  }
}

function jsonError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } }));
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function hasInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

export async function hostStreamableHttp(options: HostOptions): Promise<HostedServer> {
  const path = options.path ?? '/mcp';
  const limit = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; handler: SessionHandler }>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return jsonError(res, 404, -32601, `no MCP endpoint at ${url.pathname}; use ${path}`);
    const refused = options.rejectRequest?.(req);
    if (refused !== undefined) return jsonError(res, 403, -32000, refused);
    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    const existing = sessionId !== undefined ? sessions.get(sessionId) : undefined;

    if (req.method === 'POST') {
      const text = await readBody(req, limit);
      if (text === undefined) return jsonError(res, 413, -32600, 'request body too large');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return jsonError(res, 400, -32700, 'parse error');
      }
      if (existing !== undefined) return existing.transport.handleRequest(req, res, body);
      if (sessionId !== undefined) return jsonError(res, 404, -32001, 'session not found');
      if (!hasInitialize(body)) return jsonError(res, 400, -32000, 'Bad Request: no valid session id provided');
      const handler = await options.createSession();
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        eventStore: new MemoryEventStore(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, handler });
        },
        onsessionclosed: (id) => {
          const s = sessions.get(id);
          sessions.delete(id);
          void s?.handler.close();
        },
      });
      await handler.connect(transport);
      return transport.handleRequest(req, res, body);
    }

    if (req.method === 'GET' || req.method === 'DELETE') {
      if (existing === undefined) {
        return sessionId === undefined ? jsonError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required') : jsonError(res, 404, -32001, 'session not found');
      }
      return existing.transport.handleRequest(req, res);
    }
    res.writeHead(405, { allow: 'GET, POST, DELETE' }).end();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) jsonError(res, 500, -32603, err instanceof Error ? err.message : String(err));
      else res.end();
    });
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    port,
    url: `http://${host}:${port}${path}`,
    sessionCount: () => sessions.size,
    async close() {
      for (const { transport, handler } of sessions.values()) {
        await transport.close().catch(() => undefined);
        await handler.close().catch(() => undefined);
      }
      sessions.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
