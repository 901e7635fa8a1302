/**
 * The reference server `@modelcontextprotocol/server-everything` (Streamable HTTP, stateful,
 * resumable) behind Envoy + MCP Warden with a default-deny policy approving its tools: the
 * protocol's richer flows work unchanged through the firewall — SSE progress, sampling and
 * elicitation round trips (the client answers with JSON-RPC responses), resumption with
 * Last-Event-ID, session termination — and a tool the policy leaves out is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateMessageRequestSchema, ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { envoyForTests } from '../support/envoy.js';
import { startEverythingServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { connect, expectDenied, startProtectedStack, type ProtectedStack } from './stack.js';

const envoy = envoyForTests();

function textOf(result: unknown): string {
  return (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** A client that can be asked for sampling and elicitation, answering like a user would. */
async function capableClient(url: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport; asked: string[] }> {
  const asked: string[] = [];
  const client = new Client({ name: 'mcp-warden-e2e', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    asked.push('sampling');
    const first = request.params.messages[0]?.content;
    const prompt = first !== undefined && 'text' in first ? String(first.text) : '';
    return { model: 'e2e-stub-llm', role: 'assistant', content: { type: 'text', text: `sampled answer to: ${prompt}` } };
  });
  client.setRequestHandler(ElicitRequestSchema, async () => {
    asked.push('elicitation');
    return { action: 'accept', content: { name: 'Ada Lovelace' } };
  });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport, asked };
}

describe.skipIf(!envoy.available)('server-everything behind Envoy + MCP Warden', () => {
  let upstream: RunningMcpServer;
  let stack: ProtectedStack;

  beforeAll(async () => {
    upstream = await startEverythingServer();
    // Everything is approved except get-env, which would hand the agent the server's environment.
    stack = await startProtectedStack({ upstream, name: 'everything', approve: (t) => t.name !== 'get-env' });
  });
  afterAll(async () => {
    await stack?.stop();
    await upstream?.stop();
  });

  it('initialize and tools/list', async () => {
    const { client } = await capableClient(stack.protectedUrl);
    expect(client.getServerVersion()?.name).toBe('mcp-servers/everything');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('echo');
    expect(names).toContain('trigger-sampling-request');
    await client.close();
  });

  it('tools/call', async () => {
    const { client } = await connect(stack.protectedUrl);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'hello through the firewall' } }))).toContain('hello through the firewall');
    expect(textOf(await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } }))).toContain('42');
    await client.close();
  });

  it('a tool the policy does not approve is refused, naming it', async () => {
    const { client } = await connect(stack.protectedUrl);
    const denial = await expectDenied(() => client.callTool({ name: 'get-env', arguments: {} }));
    expect(denial).toMatchObject({ status: 403, stage: 'tool' });
    expect(denial.message).toContain('get-env');
    await client.close();
  });

  it('SSE streaming: progress notifications arrive while a long operation runs, not buffered to the end', async () => {
    const { client } = await connect(stack.protectedUrl);
    const seen: Array<{ progress: number; total: number | undefined; at: number }> = [];
    const result = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 4 } }, undefined, {
      onprogress: (p) => seen.push({ progress: p.progress, total: p.total, at: Date.now() }),
    });
    const doneAt = Date.now();
    expect(seen.map((p) => p.progress)).toEqual([1, 2, 3, 4]);
    expect(seen.every((p) => p.total === 4)).toBe(true);
    expect(textOf(result)).toMatch(/completed/i);
    // Steps are 500 ms apart: a proxy that buffered the response would deliver them together.
    expect(doneAt - (seen[0]?.at ?? doneAt)).toBeGreaterThan(1_000);
    expect((seen[3]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThan(1_000);
    await client.close();
  });

  it('sampling round trip: the server asks the client, the client answers through Envoy', async () => {
    const { client, asked } = await capableClient(stack.protectedUrl);
    const result = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'name a prime', maxTokens: 20 } });
    expect(asked).toEqual(['sampling']);
    expect(textOf(result)).toContain('sampled answer to:');
    expect(textOf(result)).toContain('name a prime');
    await client.close();
  });

  it('elicitation round trip', async () => {
    const { client, asked } = await capableClient(stack.protectedUrl);
    const result = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(asked).toEqual(['elicitation']);
    expect(textOf(result)).toContain('Ada Lovelace');
    await client.close();
  });

  it('resumption: a broken SSE stream is resumed with Last-Event-ID and the result still arrives', async () => {
    const first = await connect(stack.protectedUrl);
    const sessionId = first.transport.sessionId;
    let token: string | undefined;
    const progress: number[] = [];
    let resolveToken: () => void = () => undefined;
    const gotToken = new Promise<void>((resolve) => (resolveToken = resolve));
    const abandoned = first.client
      .request({ method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 4 } } }, CallToolResultSchema, {
        onprogress: (p) => progress.push(p.progress),
        onresumptiontoken: (t) => {
          token = t;
          resolveToken();
        },
      })
      .catch(() => undefined);
    await gotToken;
    // Drop the connection mid-stream (the network broke), keeping the session on the server.
    await first.transport.close();
    await abandoned;
    expect(token).toBeDefined();
    // server-everything's event store replays only events already stored (its replay does
    // not re-attach the live stream), so reconnect once the operation has finished.
    await new Promise((r) => setTimeout(r, 2_500));

    const transport = new StreamableHTTPClientTransport(new URL(stack.protectedUrl), { sessionId });
    const client = new Client({ name: 'mcp-warden-e2e', version: '1.0.0' });
    await client.connect(transport);
    // The original POST stream is gone: the result can only come from the resumed GET stream.
    const result = await client.request({ method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 4 } } }, CallToolResultSchema, {
      resumptionToken: token,
    });
    expect(textOf(result)).toMatch(/completed/i);
    expect(progress.length).toBeLessThan(4);
    await client.close();
  });

  it('DELETE terminates the session through Envoy', async () => {
    const { client, transport } = await connect(stack.protectedUrl);
    expect(transport.sessionId).toBeDefined();
    await transport.terminateSession();
    expect(transport.sessionId).toBeUndefined();
    await client.close();
  });
});
