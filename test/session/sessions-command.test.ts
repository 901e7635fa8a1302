/**
 * `mcp-warden sessions list|revoke` as an operator runs it (the real CLI in a child process),
 * against Redis directly and against a running service's admin endpoints (memory store).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionsAdminHandler } from '../../authz/session/sessions-command.js';
import { createStatefulChecks } from '../../authz/stages/stateful.js';
import { createStoreFromOptions } from '../../authz/state/create-store.js';
import { MemoryStateStore } from '../../authz/state/memory-store.js';
import { startMetricsServer, type MetricsServer } from '../../authz/telemetry/metrics.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { call, policy } from './fixtures.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'cli.ts');

async function warden(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, MCP_WARDEN_ADMIN_TOKEN: '' } });
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
    expect(revoked).toMatchObject({ code: 0, stdout: 'revoked 2 sessions\n' });
    expect(await checks.check(call({ session: 'alice-laptop-0001', claims: alice, now: 0 }, 'x', {}, 2, p))).toMatchObject({ rule: 'session-revoked' });
    expect(await checks.check(call({ session: 'bob-0003', claims: { sub: 'bob' }, now: 0 }, 'x', {}, 2, p))).toBeUndefined();

    expect(await warden('sessions', 'revoke', '--redis', redis.url, '--session', b.sessionId ?? '')).toMatchObject({ code: 0 });
    expect(await checks.check(call({ session: 'bob-0003', claims: { sub: 'bob' }, now: 0 }, 'x', {}, 3, p))).toMatchObject({ rule: 'session-revoked' });

    expect(await warden('sessions', 'revoke', '--redis', redis.url, '--principal', 'nobody')).toMatchObject({ code: 1, stdout: 'revoked 0 sessions\n' });
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
