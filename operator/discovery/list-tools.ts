/**
 * Lists an MCP server's tools as an MCP client would, over Streamable HTTP.
 *
 * Session-based revisions (2025-03-26 … 2025-11-25) go through the official SDK client:
 * initialize handshake, `Mcp-Session-Id`, paginated tools/list, then the session is closed.
 * A server of the stateless revision (2026-07-28) refuses `initialize`; then tools/list is
 * sent on its own with the revision, client info and capabilities in `params._meta` and the
 * `MCP-Protocol-Version` / `Mcp-Method` headers, answered as JSON or as an SSE stream.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ToolDefinition } from '../../authz/api/types.js';
import { META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION } from '../../authz/mcp/revisions.js';

export const STATELESS_REVISION = '2026-07-28';
const CLIENT_INFO = { name: 'mcp-warden-discovery', version: '0.1.0' };
const MAX_PAGES = 50;

export interface ListedTools {
  tools: ToolDefinition[];
  /** The revision spoken: the negotiated one, or the stateless revision. */
  protocolVersion: string;
}

function toDefinition(tool: Record<string, unknown>): ToolDefinition {
  const def: ToolDefinition = { name: String(tool.name) };
  if (typeof tool.title === 'string') def.title = tool.title;
  if (typeof tool.description === 'string') def.description = tool.description;
  for (const key of ['inputSchema', 'outputSchema', 'annotations'] as const) {
    const value = tool[key];
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) def[key] = value as Record<string, unknown>;
  }
  return def;
}

async function listWithSession(url: URL, timeoutMs: number): Promise<ListedTools> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport, { timeout: timeoutMs });
  try {
    const tools: ToolDefinition[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await client.listTools(cursor !== undefined ? { cursor } : {}, { timeout: timeoutMs });
      for (const tool of result.tools) tools.push(toDefinition(tool as unknown as Record<string, unknown>));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    return { tools, protocolVersion: transport.protocolVersion ?? 'unknown' };
  } finally {
    await transport.terminateSession().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}

/** The first JSON-RPC response in a JSON or `text/event-stream` body. */
function parseRpcBody(contentType: string, text: string): Record<string, unknown> {
  if (contentType.includes('text/event-stream')) {
    for (const event of text.split(/\r?\n\r?\n/)) {
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data === '') continue;
      const message = JSON.parse(data) as Record<string, unknown>;
      if ('result' in message || 'error' in message) return message;
    }
    throw new Error('the event stream held no JSON-RPC response');
  }
  return JSON.parse(text) as Record<string, unknown>;
}

async function listStateless(url: URL, timeoutMs: number): Promise<ListedTools> {
  const tools: ToolDefinition[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = {
      jsonrpc: '2.0',
      id: page + 1,
      method: 'tools/list',
      params: {
        ...(cursor !== undefined ? { cursor } : {}),
        _meta: {
          [META_PROTOCOL_VERSION]: STATELESS_REVISION,
          [META_CLIENT_INFO]: CLIENT_INFO,
          [META_CLIENT_CAPABILITIES]: {},
        },
      },
    };
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': STATELESS_REVISION,
        'mcp-method': 'tools/list',
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`tools/list: HTTP ${response.status}: ${text.slice(0, 200)}`);
    const message = parseRpcBody(response.headers.get('content-type') ?? '', text);
    if (message.error !== undefined) throw new Error(`tools/list: ${JSON.stringify(message.error).slice(0, 200)}`);
    const result = message.result as { tools?: unknown; nextCursor?: unknown } | undefined;
    if (!Array.isArray(result?.tools)) throw new Error('tools/list: the result has no tools array');
    for (const tool of result.tools) tools.push(toDefinition(tool as Record<string, unknown>));
    cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
    if (cursor === undefined) break;
  }
  return { tools, protocolVersion: STATELESS_REVISION };
}

/** Lists the tools of the MCP server at `url` (its Streamable HTTP endpoint). */
export async function listTools(url: string, options: { timeoutMs?: number } = {}): Promise<ListedTools> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const endpoint = new URL(url);
  try {
    return await listWithSession(endpoint, timeoutMs);
  } catch (sessionError) {
    try {
      return await listStateless(endpoint, timeoutMs);
    } catch (statelessError) {
      const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));
      throw new Error(`could not list tools at ${url}: session-based: ${reason(sessionError)}; stateless (${STATELESS_REVISION}): ${reason(statelessError)}`, {
        cause: statelessError,
      });
    }
  }
}
