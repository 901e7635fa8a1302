/**
 * `mcp-warden sessions list|revoke` as an operator runs it (the real CLI in a child process),
 * against Redis directly and against a running service's admin endpoints (memory store).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionsAdminHandler } from '../../authz/session/sessions-command.js';
import { createStatefulChecks } from '../../authz/stages/stateful.js';
import { createStoreFromOptions } from '../../authz/state/create-store.js';
import { MemoryStateStore } from '../../authz/state/memory-store.js';
import type { StateStore } from '../../authz/state/store.js';
import { startMetricsServer, type MetricsServer } from '../../authz/telemetry/metrics.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { call, policy } from './fixtures.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'cli.ts');

async function warden(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return wardenWith({}, ...args);
}

async function wardenWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, MCP_WARDEN_ADMIN_TOKEN: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const p = policy();
const alice = { sub: 'alice', iss: 'https://idp' };

describe('mcp-warden sessions with --redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis.close());

  it('lists the sessions the service tracks and revokes them by principal and by session', async () => {
    const store = await createStoreFromOptions({ redisUrl: redis.url });
    const checks = createStatefulChecks({ store, clock: Date.now });
    const a = call({ session: 'alice-laptop-0001', claims: alice, now: 0 }, 'x', {}, 1, p);
    await checks.check(a);
    await checks.check(call({ session: 'alice-phone-0002', claims: alice, now: 0 }, 'x', {}, 1, p));
    const b = call({ session: 'bob-0003', claims: { sub: 'bob' }, now: 0 }, 'x', {}, 1, p);
    await checks.check(b);

    const listed = await warden('sessions', 'list', '--redis', redis.url, '--output', 'json');
    expect(listed.code).toBe(0);
    const sessions = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ref: string; principal: string; revoked: boolean });
    expect(sessions.map((s) => s.principal).sort()).toEqual(['alice', 'alice', 'bob']);
    expect(sessions.map((s) => s.ref)).toContain(a.sessionId);

    const table = await warden('sessions', 'list', '--redis', redis.url, '--principal', 'bob');
    expect(table.stdout).toMatch(/^SESSION\s+KIND\s+POLICY/);
    expect(table.stdout).toContain(b.sessionId);
    expect(table.stdout).not.toContain(a.sessionId);

    const revoked = await warden('sessions', 'revoke', '--redis', redis.url, '--principal', 'alice');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked 2 sessions\nprincipal alice refused until \S+Z, new sessions included\n$/);
    expect(await checks.check(call({ session: 'alice-laptop-0001', claims: alice, now: 0 }, 'x', {}, 2, p))).toMatchObject({ rule: 'session-revoked' });
    expect(await checks.check(call({ session: 'bob-0003', claims: { sub: 'bob' }, now: 0 }, 'x', {}, 2, p))).toBeUndefined();

    expect(await warden('sessions', 'revoke', '--redis', redis.url, '--session', b.sessionId ?? '')).toMatchObject({ code: 0 });
    expect(await checks.check(call({ session: 'bob-0003', claims: { sub: 'bob' }, now: 0 }, 'x', {}, 3, p))).toMatchObject({ rule: 'session-revoked' });

    // A principal with no session yet is still refused from now on (its future sessions).
    const nobody = await warden('sessions', 'revoke', '--redis', redis.url, '--principal', 'nobody', '--for', '2h');
    expect(nobody.code).toBe(0);
    expect(nobody.stdout).toMatch(/^revoked 0 sessions\nprincipal nobody refused until \d{4}-\d\d-\d\dT[\d:]+Z, new sessions included\n$/);
    expect((await warden('sessions', 'revoke', '--redis', redis.url)).code).toBe(2);
    await checks.close();
  }, 60_000);
});

describe('mcp-warden sessions with --admin (in-memory store)', () => {
  let metrics: MetricsServer;
  const store = new MemoryStateStore();
  const checks = createStatefulChecks({ store, clock: Date.now });
  beforeAll(async () => {
    metrics = await startMetricsServer('127.0.0.1:0', new Registry(), createSessionsAdminHandler(store, { token: '' }));
  });
  afterAll(async () => metrics.close());

  it('lists and revokes through the running service', async () => {
    const ctx = call({ session: 'mem-0001', claims: alice, now: 0 }, 'x', {}, 1, p);
    await checks.check(ctx);
    const admin = `http://127.0.0.1:${metrics.port}`;
    const listed = await warden('sessions', 'list', '--admin', admin);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(ctx.sessionId);
    expect(listed.stdout).toContain('active');
    expect(await warden('sessions', 'revoke', '--admin', admin, '--session', ctx.sessionId ?? '')).toMatchObject({ code: 0, stdout: 'revoked 1 session\n' });
    expect(await checks.check(call({ session: 'mem-0001', claims: alice, now: 0 }, 'x', {}, 2, p))).toMatchObject({ rule: 'session-revoked' });
    expect((await warden('sessions', 'list', '--admin', admin)).stdout).toContain('revoked');

    // By principal: the sessions it has, and the ones it starts afterwards.
    const frank = { sub: 'frank' };
    expect(await checks.check(call({ session: 'frank-1', claims: frank, now: 0 }, 'x', {}, 1, p))).toBeUndefined();
    const byPrincipal = await warden('sessions', 'revoke', '--admin', admin, '--principal', 'frank', '--for', '30m');
    expect(byPrincipal.stdout).toContain('revoked 1 session\nprincipal frank refused until ');
    expect(await checks.check(call({ session: 'frank-1', claims: frank, now: 0 }, 'x', {}, 2, p))).toMatchObject({ rule: 'session-revoked' });
    expect(await checks.check(call({ session: 'frank-2', claims: frank, now: 0 }, 'x', {}, 1, p))).toMatchObject({ rule: 'session-revoked' });
    const table = (await warden('sessions', 'list', '--admin', admin)).stdout;
    expect(table).toMatch(/REVOKED PRINCIPAL\s+UNTIL\nfrank\s/);
    // The Mcp-Session-Id session's row names where it came from.
    expect(table).toContain('mem-00... 203.0.113.x claude-code/2.1 (agent)');
  }, 60_000);

  it('serves only callers with the admin token when one is set', async () => {
    const guarded = await startMetricsServer('127.0.0.1:0', new Registry(), createSessionsAdminHandler(store, { token: 't0ken' }));
    const url = `http://127.0.0.1:${guarded.port}/sessions`;
    expect((await fetch(url)).status).toBe(403);
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
    const ok = await fetch(url, { headers: { authorization: 'Bearer t0ken' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ store: 'memory' });
    const bad = await fetch(`${url}/revoke`, { method: 'POST', headers: { authorization: 'Bearer t0ken' }, body: '{}' });
    expect(bad.status).toBe(400);
    await guarded.close();
  });
});

describe('mcp-warden sessions: principal revocation, readable listing, Redis flags', () => {
  let redis: RedisServer;
  let dir: string;
  beforeAll(async () => {
    redis = await startRedis({ password: 's3cret-pw' });
    dir = await mkdtemp(join(tmpdir(), 'mcpw-sessions-'));
    await writeFile(join(dir, 'redis-password'), 's3cret-pw\n');
  });
  afterAll(async () => {
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('through Redis (password file or MCP_WARDEN_REDIS_PASSWORD): a revoked principal\'s new sessions are refused, and the listing says so', async () => {
    const plain = redis.url.replace(/\/\/[^@]*@/, '//');
    const store = await createStoreFromOptions({ redisUrl: plain, redisPassword: 's3cret-pw' });
    const checks = createStatefulChecks({ store, clock: Date.now });
    const carol = { sub: 'carol', iss: 'https://idp' };
    expect(await checks.check(call({ session: 'carol-1', claims: carol, now: 0 }, 'x', {}, 1, p))).toBeUndefined();

    const noPassword = await warden('sessions', 'list', '--redis', plain);
    expect(noPassword.code).toBe(2);
    const revoked = await warden('sessions', 'revoke', '--redis', plain, '--redis-password-file', join(dir, 'redis-password'), '--principal', 'carol', '--for', '1h');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('revoked 1 session\nprincipal carol refused until ');
    expect(await checks.check(call({ session: 'carol-2', claims: carol, address: '192.0.2.30', now: 0 }, 'x', {}, 1, p))).toMatchObject({ rule: 'session-revoked' });
    expect(await checks.check(call({ session: 'dave-1', claims: { sub: 'dave' }, now: 0 }, 'x', {}, 1, p))).toBeUndefined();

    const listed = await wardenWith({ MCP_WARDEN_REDIS_PASSWORD: 's3cret-pw' }, 'sessions', 'list', '--redis', plain);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/\nREVOKED PRINCIPAL\s+UNTIL\ncarol\s+\d{4}-/);
    const json = await wardenWith({ MCP_WARDEN_REDIS_PASSWORD: 's3cret-pw' }, 'sessions', 'list', '--redis', plain, '--output', 'json');
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ revokedPrincipal: 'carol' }));
    expect(lines.filter((l) => l.principal === 'carol').every((l) => l.revoked === true)).toBe(true);
    await checks.close();
  }, 60_000);

  it('lists Mcp-Session-Id sessions with their redacted address and user agent, and suspensions by rule name', async () => {
    const plain = redis.url.replace(/\/\/[^@]*@/, '//');
    const store = await createStoreFromOptions({ redisUrl: plain, redisPassword: 's3cret-pw' });
    const checks = createStatefulChecks({ store, clock: Date.now });
    const looping = policy({ behavior: [{ detector: 'loop', threshold: 2, window: '60s', action: 'Suspend' }] });
    for (let id = 1; id <= 4; id++) {
      await checks.check(call({ session: 'looper-7f3a', address: '198.51.100.23', userAgent: 'agent-x/3.1 (linux; a very long build string 0123456789)', now: 0 }, 'get_report', { q: 1 }, id, looping));
    }
    const listed = await wardenWith({ MCP_WARDEN_REDIS_PASSWORD: 's3cret-pw' }, 'sessions', 'list', '--redis', plain);
    const row = listed.stdout.split('\n').find((l) => l.includes('looper...'));
    // The user agent cut to 40 characters.
    expect(row).toContain('looper... 198.51.100.x agent-x/3.1 (linux; a very long build s…  -  ');
    expect(row).toMatch(/suspended until \S+ \(tool-loop\)$/);
    expect(listed.stdout).not.toContain('loop0.');
    await checks.close();
  }, 60_000);
});

describe('mcp-warden sessions --admin with a Redis store', () => {
  let redis: RedisServer;
  let metrics: MetricsServer;
  let store: StateStore;
  beforeAll(async () => {
    redis = await startRedis();
    store = await createStoreFromOptions({ redisUrl: redis.url });
    metrics = await startMetricsServer('127.0.0.1:0', new Registry(), createSessionsAdminHandler(store, { token: '' }));
  });
  afterAll(async () => {
    await metrics.close();
    await store.close();
    await redis.close();
  });

  it('revokes a principal through the running service, which then refuses its new sessions', async () => {
    const checks = createStatefulChecks({ store, clock: Date.now });
    const erin = { sub: 'erin' };
    expect(await checks.check(call({ session: 'erin-1', claims: erin, now: 0 }, 'x', {}, 1, p))).toBeUndefined();
    const admin = `http://127.0.0.1:${metrics.port}`;
    const revoked = await warden('sessions', 'revoke', '--admin', admin, '--principal', 'erin');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('revoked 1 session\nprincipal erin refused until ');
    expect(await checks.check(call({ session: 'erin-2', claims: erin, now: 0 }, 'x', {}, 1, p))).toMatchObject({ rule: 'session-revoked' });
    expect((await warden('sessions', 'list', '--admin', admin)).stdout).toMatch(/REVOKED PRINCIPAL\s+UNTIL\nerin\s/);
  }, 60_000);
});

