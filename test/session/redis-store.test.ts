/**
 * What only the Redis store has to prove: one round trip per check, Cluster-ready keys,
 * failure and recovery when Redis goes away, password and TLS, and two authz processes that
 * share one Redis and so see the same sessions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStatefulChecks } from '../../authz/stages/stateful.js';
import { createStoreFromOptions } from '../../authz/state/create-store.js';
import { createRedisClient, RedisStateStore } from '../../authz/state/redis-store.js';
import { RespScriptClient } from '../../authz/state/resp-script-client.js';
import { startRedis, startTlsRedis, type RedisServer } from '../support/redis.js';
import { call, policy, request, T0 } from './fixtures.js';
import { defaultPolicySpec } from '../../authz/api/defaults.js';

const everyDetector = policy({
  behavior: [
    { detector: 'loop', threshold: 100, window: '60s', action: 'Throttle' },
    { detector: 'enumeration', threshold: 50, window: '60s', action: 'Suspend' },
    { detector: 'bulkAccess', argument: 'path', threshold: 200, window: '60s', action: 'Suspend' },
    { detector: 'rate', threshold: 50, window: '1s', action: 'Throttle' },
    { detector: 'burst', factor: 10, action: 'Warn' },
  ],
});

describe('Redis store', () => {
  let redis: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.close();
  });

  it('costs one EVALSHA per check and nothing else (two on a session\'s first request), and reloads the script after SCRIPT FLUSH', async () => {
    const store = new RedisStateStore(createRedisClient({ url: redis.url }), { scripts: new RespScriptClient({ url: redis.url }) });
    await store.ready();
    const checks = createStatefulChecks({ store });
    await checks.check(call({ session: 'warm', now: T0 }, 'read_file', { path: '/a' }, 1, everyDetector));
    // MONITOR shows each command a client sent, and marks those a script ran as 'lua'.
    const monitor = await admin.monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') sent.push(String(args[0]).toLowerCase());
    });
    for (let i = 0; i < 10; i++) {
      expect(await checks.check(call({ session: 'rt', now: T0 + i }, 'read_file', { path: `/data/f${i}` }, i + 1, everyDetector))).toBeUndefined();
    }
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect();
    // The first request of session 'rt' creates its record: a second EVALSHA counts it
    // against its source (another hash tag); every later check is one.
    expect(sent).toEqual(Array(11).fill('evalsha'));

    await admin.script('FLUSH');
    expect(await checks.check(call({ session: 'rt', now: T0 + 20 }, 'read_file', { path: '/data/x' }, 20, everyDetector))).toBeUndefined();
    expect(await checks.check(call({ session: 'rt', now: T0 + 21 }, 'read_file', { path: '/data/x' }, 20, everyDetector))).toMatchObject({ rule: 'id-replay' });
    await checks.close();
  });

  it('keeps every key of a session under one hash tag (one Redis Cluster slot)', async () => {
    await admin.flushall();
    const store = new RedisStateStore(createRedisClient({ url: redis.url }), { scripts: new RespScriptClient({ url: redis.url }) });
    await store.ready();
    const checks = createStatefulChecks({ store });
    const ctx = request({ session: 'tagged', now: T0 }, [['get_user', { id: 1, path: '/a' }, 1], ['get_user', { id: 2, path: '/b' }, 'two']], everyDetector);
    await checks.check(ctx);
    const keys = await admin.keys('*');
    expect(keys.length).toBeGreaterThanOrEqual(6);
    const tags = new Set(keys.map((k) => /^mcpw:\{([^}]+)\}:/.exec(k)?.[1]));
    // Besides the session's keys, only its source's new-session count (its own tag).
    expect([...tags].filter((t) => !t?.startsWith('src.'))).toEqual([ctx.sessionId]);
    expect(keys.filter((k) => k.startsWith('mcpw:{src.'))).toHaveLength(1);
    await checks.close();
  });

  it('keeps a long session\'s keys bounded: the id set near 2 x reorderWindow, every key with a TTL, the request count exact', async () => {
    await admin.flushall();
    const store = new RedisStateStore(createRedisClient({ url: redis.url }), { scripts: new RespScriptClient({ url: redis.url }) });
    await store.ready();
    const checks = createStatefulChecks({ store });
    const defaults = defaultPolicySpec([{ name: 'files' }]).session;
    const window = policy({
      session: { ...defaults, requestIds: { ...defaults.requestIds, onReplay: 'Deny', reorderWindow: 16 } },
      behavior: [
        { detector: 'enumeration', threshold: 1_000, window: '60s', action: 'Suspend' },
        { detector: 'bulkAccess', argument: 'path', threshold: 200, window: '60s', action: 'Suspend' },
        { detector: 'rate', threshold: 50, window: '1s', action: 'Throttle' },
      ],
    });
    for (let id = 1; id <= 500; id++) {
      const denial = await checks.check(call({ session: 'long', now: T0 + id * 1_000 }, 'read_file', { path: `/data/${id % 7}` }, id, window));
      expect(denial, `id ${id}`).toBeUndefined();
    }
    const keys = (await admin.keys('*')).filter((k) => k.includes('{'));
    const idSet = keys.find((k) => /:i:/.test(k));
    expect(idSet).toBeDefined();
    expect(await admin.zcard(idSet!)).toBeLessThanOrEqual(2 * 16 + 1);
    for (const key of keys) expect(await admin.pttl(key), key).toBeGreaterThan(0);
    const record = keys.find((k) => /:s:/.test(k));
    expect(await admin.hget(record!, 'n')).toBe('500');
    // Ids inside the window are still remembered; one below it cannot be proven fresh.
    expect(await checks.check(call({ session: 'long', now: T0 + 501_000 }, 'read_file', { path: '/x' }, 490, window))).toMatchObject({ rule: 'id-replay' });
    expect(await checks.check(call({ session: 'long', now: T0 + 502_000 }, 'read_file', { path: '/x' }, 400, window))).toMatchObject({ rule: 'id-too-old' });
    await checks.close();
  });

  it('fails closed (or open, per policy) within the command timeout while Redis is down, and recovers', async () => {
    const server = await startRedis();
    const store = await createStoreFromOptions({ redisUrl: server.url });
    const checks = createStatefulChecks({ store });
    const closed = policy();
    const open = policy({ session: { ...defaultPolicySpec([{ name: 'files' }]).session, onStoreUnavailable: 'FailOpen' } });
    expect(await checks.check(call({ session: 's', now: T0 }, 'x', {}, 1, closed))).toBeUndefined();

    await server.stop();
    const started = performance.now();
    const down = await checks.check(call({ session: 's', now: T0 + 1 }, 'x', {}, 2, closed));
    expect(performance.now() - started).toBeLessThan(500);
    expect(down).toMatchObject({ stage: 'session', rule: 'state-store-unavailable', code: -32603 });
    const openCtx = call({ session: 's', now: T0 + 2 }, 'x', {}, 3, open);
    expect(await checks.check(openCtx)).toBeUndefined();
    expect(openCtx.warnings).toMatchObject([{ rule: 'state-store-unavailable', warnOnly: true }]);

    await server.start();
    let recovered: unknown = 'not yet';
    for (let i = 0; i < 100 && recovered !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      recovered = await checks.check(call({ session: `after-${i}`, now: T0 + 10 + i }, 'x', {}, 1, closed));
    }
    expect(recovered).toBeUndefined();
    await checks.close();
    await server.close();
  });

  it('authenticates with a password, and refuses to work with a wrong one', async () => {
    const server = await startRedis({ password: 'pa55-word' });
    const plainUrl = server.url.replace(/\/\/[^@]*@/, '//');
    const good = await createStoreFromOptions({ redisUrl: plainUrl, redisPassword: 'pa55-word' });
    const goodChecks = createStatefulChecks({ store: good });
    expect(await goodChecks.check(call({ session: 'p', now: T0 }, 'x', {}, 1, policy()))).toBeUndefined();
    const bad = await createStoreFromOptions({ redisUrl: plainUrl, redisPassword: 'guess', redisConnectWaitMs: 500 });
    const badChecks = createStatefulChecks({ store: bad });
    expect(await badChecks.check(call({ session: 'p', now: T0 }, 'x', {}, 2, policy()))).toMatchObject({ rule: 'state-store-unavailable' });
    await goodChecks.close();
    await badChecks.close();
    await server.close();
  });

  it('speaks TLS (rediss://) with a private CA', async () => {
    const tls = await startTlsRedis();
    const { server } = tls;
    expect(server.url.startsWith('rediss://')).toBe(true);
    const store = await createStoreFromOptions({ redisUrl: server.url, redisTlsCaFile: tls.caFile });
    const checks = createStatefulChecks({ store });
    expect(await checks.check(call({ session: 't', now: T0 }, 'x', {}, 1, policy()))).toBeUndefined();
    expect(await checks.check(call({ session: 't', now: T0 + 1 }, 'x', {}, 1, policy()))).toMatchObject({ rule: 'id-replay' });
    await checks.close();
    await tls.close();
  }, 60_000);

  describe('two authz processes sharing one Redis', () => {
    interface Replica {
      child: ChildProcess;
      lines: Interface;
      ask(line: object): Promise<string | null>;
    }
    const replicas: Replica[] = [];

    async function startReplica(): Promise<Replica> {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'replica.ts')], {
        env: { ...process.env, REDIS_URL: redis.url },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: child.stdout! });
      const iterator = lines[Symbol.asyncIterator]();
      const next = async (): Promise<Record<string, unknown>> => {
        const r = await iterator.next();
        if (r.done === true) throw new Error('replica exited');
        return JSON.parse(r.value) as Record<string, unknown>;
      };
      await next();
      return {
        child,
        lines,
        ask: async (line) => {
          child.stdin!.write(`${JSON.stringify(line)}\n`);
          return (await next()).rule as string | null;
        },
      };
    }

    beforeAll(async () => {
      await admin.flushall();
      replicas.push(await startReplica(), await startReplica());
    }, 60_000);
    afterAll(() => {
      for (const r of replicas) {
        r.child.stdin!.end();
        r.lines.close();
      }
    });

    it('catches a hijack: the session bound on replica A is refused from another address on replica B', async () => {
      const [a, b] = replicas as [Replica, Replica];
      expect(await a.ask({ session: 'shared-1', address: '203.0.113.5', tool: 'x', args: {}, id: 1, now: T0 })).toBeNull();
      expect(await b.ask({ session: 'shared-1', address: '198.51.100.7', tool: 'x', args: {}, id: 2, now: T0 + 1 })).toBe('session-binding-mismatch');
      expect(await b.ask({ session: 'shared-1', address: '203.0.113.5', tool: 'x', args: {}, id: 3, now: T0 + 2 })).toBeNull();
      // A replay across replicas too.
      expect(await a.ask({ session: 'shared-1', address: '203.0.113.5', tool: 'x', args: {}, id: 3, now: T0 + 3 })).toBe('id-replay');
    });

    it('catches a loop spread across both replicas at the policy threshold, not twice it', async () => {
      let allowed = 0;
      let rule: string | null = null;
      for (let i = 0; i < 150; i++) {
        const replica = replicas[i % 2]!;
        rule = await replica.ask({ session: 'loop-1', address: '203.0.113.5', tool: 'get_customer_list', args: { page: 1 }, id: i + 1, now: T0 + i * 6 });
        if (rule === null) allowed++;
      }
      expect(allowed).toBe(100);
      expect(rule).toBe('tool-loop');
    }, 60_000);
  });
});
