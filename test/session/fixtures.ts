/**
 * Requests as the protocol stage leaves them (messages and tool calls classified), for the
 * session and behaviour stages, plus the two real stores the scenarios run against.
 */
import type { MCPPolicySpec } from '../../authz/api/types.js';
import type { CompiledPolicy, CompiledServer } from '../../authz/pipeline/compiled.js';
import type { CheckContext, JsonRpcMessage, ToolCallContext } from '../../authz/pipeline/context.js';
import { MemoryStateStore } from '../../authz/state/memory-store.js';
import { createRedisClient, RedisStateStore } from '../../authz/state/redis-store.js';
import type { StateStore } from '../../authz/state/store.js';
import { buildContext, buildPolicy, buildServer, type TestPolicyOptions } from '../support/context.js';
import { startRedis, type RedisServer } from '../support/redis.js';

export const T0 = Date.UTC(2026, 7, 1, 9, 0, 0);

export interface Req {
  /** Mcp-Session-Id header. */
  readonly session?: string;
  readonly address?: string;
  readonly userAgent?: string;
  readonly headers?: Record<string, string>;
  readonly claims?: Record<string, unknown>;
  readonly protocolVersion?: string;
  readonly now: number;
}

export type Call = readonly [tool: string, args: Record<string, unknown>, id: number | string | null];

/** A request carrying one or more JSON-RPC messages (tools/call unless `method` is given). */
export function request(
  r: Req,
  calls: readonly Call[],
  policy: CompiledPolicy,
  server?: CompiledServer,
  method?: string,
): CheckContext {
  const messages: JsonRpcMessage[] = calls.map(([tool, args, id]) => ({
    kind: id === null ? 'notification' : 'request',
    id,
    method: method ?? 'tools/call',
    params: method === undefined ? { name: tool, arguments: args } : args,
  }));
  const body = messages.length === 1 ? { jsonrpc: '2.0', ...messages[0] } : messages.map((m) => ({ jsonrpc: '2.0', ...m }));
  const headers: Record<string, string> = {
    'user-agent': r.userAgent ?? 'claude-code/2.1 (agent)',
    ...(r.session !== undefined ? { 'mcp-session-id': r.session } : {}),
    ...r.headers,
  };
  const ctx = buildContext(
    { body, headers, source: { address: r.address ?? '203.0.113.5' }, claims: r.claims, receivedAtMs: r.now },
    { policy, ...(server !== undefined ? { server } : {}) },
  );
  ctx.messages = messages;
  ctx.batch = messages.length > 1;
  ctx.protocolVersion = r.protocolVersion ?? '2025-11-25';
  ctx.toolCalls =
    method === undefined
      ? messages.map<ToolCallContext>((m, i) => ({ message: m, name: calls[i]?.[0] ?? '', arguments: calls[i]?.[1] ?? {}, rule: undefined }))
      : [];
  return ctx;
}

export function call(r: Req, tool: string, args: Record<string, unknown>, id: number | string, policy: CompiledPolicy, server?: CompiledServer): CheckContext {
  return request(r, [[tool, args, id]], policy, server);
}

/** A policy with the documented defaults and these spec fields replaced. */
export function policy(spec: Partial<Omit<MCPPolicySpec, 'protocol'>> = {}, options: Omit<TestPolicyOptions, 'spec'> = {}): CompiledPolicy {
  return buildPolicy({ ...options, spec });
}

export function serverWith(p: CompiledPolicy, trustedProxies: string[]): CompiledServer {
  const base = buildServer([p]);
  return { ...base, resource: { ...base.resource, spec: { ...base.resource.spec, trustedProxies } } };
}

export interface StoreKind {
  readonly name: 'memory' | 'redis';
  /** A fresh, empty store. */
  create(): Promise<StateStore>;
  /** Stops shared resources (the Redis server). */
  teardown(): Promise<void>;
  readonly redis?: () => RedisServer;
}

export function memoryKind(): StoreKind {
  return { name: 'memory', create: async () => new MemoryStateStore(), teardown: async () => undefined };
}

export function redisKind(): StoreKind {
  let server: RedisServer | undefined;
  const stores: RedisStateStore[] = [];
  return {
    name: 'redis',
    async create() {
      server ??= await startRedis();
      const store = new RedisStateStore(createRedisClient({ url: server.url, commandTimeoutMs: 2_000 }));
      await store.ready();
      await (store.client as import('ioredis').Redis).flushall();
      stores.push(store);
      return store;
    },
    async teardown() {
      for (const s of stores) await s.close();
      await server?.close();
    },
    redis: () => {
      if (server === undefined) throw new Error('redis not started');
      return server;
    },
  };
}
