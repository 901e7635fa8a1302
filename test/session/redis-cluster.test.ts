/**
 * The Redis store on a real three-node Redis Cluster: sessions spread over slots on different
 * nodes, each check's keys on one slot (hash tag), per-principal counters on another node in
 * the same check, and `list`/`revoke` across all masters.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStatefulChecks, type StatefulChecks } from '../../authz/stages/stateful.js';
import { createStoreFromOptions } from '../../authz/state/create-store.js';
import type { StateStore } from '../../authz/state/store.js';
import type { RedisStateStore } from '../../authz/state/redis-store.js';
import { startRedisCluster, type RedisCluster } from '../support/redis.js';
import { call, policy, T0 } from './fixtures.js';

describe('Redis Cluster', () => {
  let cluster: RedisCluster;
  let store: StateStore;
  let checks: StatefulChecks;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    store = await createStoreFromOptions({ redisUrl: cluster.url, redisCluster: true, redisConnectWaitMs: 10_000 });
    checks = createStatefulChecks({ store });
  }, 60_000);
  afterAll(async () => {
    await checks?.close();
    await cluster?.close();
  });

  it('judges sessions living on every node, with per-principal counters in the same check', async () => {
    const p = policy({
      behavior: [
        { detector: 'loop', threshold: 3, window: '60s', action: 'Throttle' },
        { detector: 'rate', threshold: 17, window: '60s', action: 'Throttle', scope: 'principal' },
      ],
    });
    const alice = { sub: 'alice' };
    for (let s = 0; s < 8; s++) {
      const session = `cluster-${s}`;
      expect(await checks.check(call({ session, claims: alice, now: T0 + s }, 'x', { s }, 1, p))).toBeUndefined();
      expect(await checks.check(call({ session, claims: alice, address: '198.51.100.7', now: T0 + s }, 'x', { s }, 2, p))).toMatchObject({
        rule: 'session-binding-mismatch',
      });
    }
    // 16 requests reached stage 7 for alice (principal-scoped counters run beside the session
    // script, in the same round trip, so they count refused ones too): one more passes, then
    // the principal-wide rate applies in every session.
    expect(await checks.check(call({ session: 'cluster-0', claims: alice, now: T0 + 100 }, 'y', {}, 3, p))).toBeUndefined();
    expect(await checks.check(call({ session: 'cluster-1', claims: alice, now: T0 + 101 }, 'y', {}, 3, p))).toMatchObject({ rule: 'rate-limit' });
    expect(await checks.check(call({ session: 'cluster-bob', claims: { sub: 'bob' }, now: T0 + 102 }, 'y', {}, 1, p))).toBeUndefined();
    // The sessions really are spread over the nodes.
    const { Cluster } = await import('ioredis');
    const client = (store as RedisStateStore).client;
    expect(client).toBeInstanceOf(Cluster);
    const sizes = await Promise.all((client as InstanceType<typeof Cluster>).nodes('master').map((n) => n.dbsize()));
    expect(sizes.filter((n) => n > 0).length).toBe(3);
    const listed = await store.list({ principal: 'alice' }, T0 + 200);
    expect(listed).toHaveLength(8);
    expect(await store.revoke({ principal: 'alice' }, 3_600_000, T0 + 200)).toBe(8);
    expect(await checks.check(call({ session: 'cluster-5', claims: alice, now: T0 + 300 }, 'x', {}, 4, p))).toMatchObject({ rule: 'session-revoked' });
    // A revoked principal's new session, on whichever node its slot lives.
    expect(await checks.check(call({ session: 'cluster-new', claims: alice, now: T0 + 301 }, 'x', {}, 1, p))).toMatchObject({ rule: 'session-revoked' });
  });

  it('is listed by the CLI with --redis-cluster', async () => {
    // Revocations live under their own hash tags, on any node; the CLI reads the wall clock.
    for (const who of ['zed', 'yan', 'xia']) await store.revoke({ principal: who }, 3_600_000, Date.now());
    const cli = join(import.meta.dirname, '..', '..', 'cli.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, 'sessions', 'list', '--redis', cluster.url, '--redis-cluster', '--output', 'json']);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { principal?: string; revokedPrincipal?: string });
    expect(lines.filter((l) => l.principal === 'alice').length).toBeGreaterThanOrEqual(8);
    expect(lines.map((l) => l.revokedPrincipal).filter(Boolean).sort()).toEqual(['xia', 'yan', 'zed']);
  }, 60_000);
});
