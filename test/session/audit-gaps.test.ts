/**
 * The gaps an audit of issue 5 found, each reproduced against the memory store and a real
 * redis-server (injected clock), with the benign direction beside it.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { MCPPolicySpec, SessionSpec } from '../../authz/api/types.js';
import { defaultPolicySpec } from '../../authz/api/defaults.js';
import type { CompiledPolicy } from '../../authz/pipeline/compiled.js';
import { createStatefulChecks, type StatefulChecks } from '../../authz/stages/stateful.js';
import { MemoryStateStore } from '../../authz/state/memory-store.js';
import type { StateStore } from '../../authz/state/store.js';
import { call, memoryKind, policy, redisKind, T0, type Req } from './fixtures.js';

const kinds = [memoryKind(), redisKind()];
afterAll(async () => {
  for (const k of kinds) await k.teardown();
});

const defaults = defaultPolicySpec([{ name: 'files' }]);
function withIds(requestIds: Partial<SessionSpec['requestIds']>, rest: Partial<Omit<MCPPolicySpec, 'protocol'>> = {}): CompiledPolicy {
  return policy({ session: { ...defaults.session, requestIds: { ...defaults.session.requestIds, ...requestIds } }, ...rest });
}

describe.each(kinds)('audit gaps on the $name store', (kind) => {
  let store: StateStore;
  let checks: StatefulChecks;
  let now: number;
  beforeEach(async () => {
    store = await kind.create();
    now = T0;
    checks = createStatefulChecks({ store, clock: () => now });
  });
  const r = (over: Partial<Req> = {}): Req => ({ session: 'audit-1', now, ...over });

  describe('ids older than the reorder window', () => {
    it('refuses an id below highest − reorderWindow (it cannot be proven fresh), twice', async () => {
      const p = policy({ behavior: [] });
      for (let id = 1; id <= 100; id++) {
        now += 100;
        expect(await checks.check(call(r(), 'get_user', { id: 7 }, id, p))).toBeUndefined();
      }
      const first = await checks.check(call(r(), 'get_user', { id: 7 }, 5, p));
      expect(first).toMatchObject({ stage: 'session', rule: 'id-too-old', code: -32040, data: { id: 5 } });
      expect(await checks.check(call(r(), 'get_user', { id: 7 }, 5, p))).toMatchObject({ rule: 'id-too-old' });
      // The owner carries on with fresh ids; ids still inside the window are fine.
      expect(await checks.check(call(r(), 'get_user', { id: 7 }, 101, p))).toBeUndefined();
      expect(await checks.check(call(r(), 'get_user', { id: 7 }, 101 - 32, p))).toMatchObject({ rule: 'id-replay' });
    });

    it('follows onReplay (Warn allows with a warning), while a forward jump stays an id-gap under onGap', async () => {
      const p = withIds({ onReplay: 'Warn', reorderWindow: 2 });
      for (const id of [23, 24]) expect(await checks.check(call(r(), 'x', {}, id, p))).toBeUndefined();
      const old = call(r(), 'x', {}, 3, p);
      expect(await checks.check(old)).toBeUndefined();
      expect(old.warnings).toMatchObject([{ rule: 'id-too-old', warnOnly: true }]);
      const jump = call(r(), 'x', {}, 40, p);
      expect(await checks.check(jump)).toBeUndefined();
      expect(jump.warnings).toMatchObject([{ rule: 'id-gap', warnOnly: true, data: { direction: 'forward' } }]);

      const denyGap = withIds({ reorderWindow: 2, onGap: 'Deny' });
      const s2 = (id: number) => call(r({ session: 'audit-2' }), 'x', {}, id, denyGap);
      expect(await checks.check(s2(23))).toBeUndefined();
      expect(await checks.check(s2(30))).toMatchObject({ rule: 'id-gap' });
      expect(await checks.check(s2(24))).toBeUndefined();
    });
  });

  describe('new sessions per source (LRU churn)', () => {
    it('refuses a source\'s 201st new session within a minute with a 429, not its existing sessions or other sources', async () => {
      const p = policy({ behavior: [] });
      const flood = (i: number, address = '198.51.100.66') => call(r({ session: `flood-${i}`, address }), 'x', {}, 1, p);
      expect(await checks.check(call(r({ session: 'owner' }), 'x', {}, 1, p))).toBeUndefined();
      let refused = 0;
      for (let i = 0; i < 260; i++) {
        now += 100;
        const d = await checks.check(flood(i));
        if (d !== undefined) {
          expect(d).toMatchObject({ stage: 'session', rule: 'session-churn', class: 'throttle', code: -32050, retryAfterSeconds: 30 });
          refused++;
        }
      }
      expect(refused).toBe(60);
      // Sessions the source already has keep working; other sources are not affected.
      expect(await checks.check(call(r({ session: 'flood-3', address: '198.51.100.66' }), 'x', {}, 2, p))).toBeUndefined();
      expect(await checks.check(call(r({ session: 'owner' }), 'x', {}, 2, p))).toBeUndefined();
      expect(await checks.check(call(r({ session: 'new-elsewhere', address: '192.0.2.44' }), 'x', {}, 1, p))).toBeUndefined();
      // A refused session was not recorded: it is still new once the window has passed.
      now += 2 * 60_000;
      expect(await checks.check(flood(250))).toBeUndefined();
      expect(await checks.check(call(r({ session: 'flood-250', address: '198.51.100.66' }), 'x', {}, 1, p))).toMatchObject({ rule: 'id-replay' });
    }, 60_000);
  });

  describe('loop detection with rotating argument sets', () => {
    it('catches 33 argument sets × 30 rounds in 50 s (threshold 20 per 60 s): 330 of 990 refused', async () => {
      const p = policy({ behavior: [{ detector: 'loop', threshold: 20, window: '60s', action: 'Throttle' }] });
      let denied = 0;
      let id = 0;
      for (let round = 0; round < 30; round++) {
        for (let set = 0; set < 33; set++) {
          now = T0 + Math.floor(((round * 33 + set) * 50_000) / 990);
          const d = await checks.check(call(r({ session: 'rotating' }), 'get_customer_list', { region: `region-${set}`, page: 1 }, ++id, p));
          if (d !== undefined) {
            expect(d).toMatchObject({ rule: 'tool-loop' });
            denied++;
          }
        }
      }
      expect(denied).toBe(330);
    }, 60_000);
  });

  describe('revoking a principal', () => {
    it('refuses the sessions the principal starts afterwards, for the revocation\'s duration', async () => {
      const p = policy({ behavior: [] });
      const alice = { sub: 'alice', iss: 'https://idp' };
      expect(await checks.check(call(r({ session: 'alice-1', claims: alice }), 'x', {}, 1, p))).toBeUndefined();
      expect(await store.revoke({ principal: 'alice' }, 3_600_000, now)).toBe(1);
      expect(await store.listRevokedPrincipals(now)).toEqual([{ principal: 'alice', until: now + 3_600_000 }]);
      now += 1_000;
      expect(await checks.check(call(r({ session: 'alice-2', claims: alice, address: '192.0.2.9' }), 'x', {}, 1, p))).toMatchObject({
        rule: 'session-revoked',
      });
      expect(await checks.check(call(r({ session: 'alice-2', claims: alice, address: '192.0.2.9' }), 'x', {}, 2, p))).toMatchObject({
        rule: 'session-revoked',
      });
      // Without Mcp-Session-Id (the stateless revision), the principal's own session too.
      const stateless = call(r({ session: undefined, protocolVersion: '2026-07-28', claims: alice }), 'x', {}, 1, p);
      expect(await checks.check(stateless)).toMatchObject({ rule: 'session-revoked' });
      expect(await checks.check(call(r({ session: 'bob-1', claims: { sub: 'bob' } }), 'x', {}, 1, p))).toBeUndefined();
      expect((await store.list({ principal: 'alice' }, now)).every((s) => s.revoked)).toBe(true);
      now += 3_600_000;
      expect(await store.listRevokedPrincipals(now)).toEqual([]);
      expect(await checks.check(call(r({ session: 'alice-3', claims: alice }), 'x', {}, 1, p))).toBeUndefined();
    });
  });
});

describe('memory store eviction cannot be used to hijack a session', () => {
  const p = policy({ behavior: [] });
  const owner = (now: number, id: number): Req => ({ session: 'victim-session', address: '203.0.113.5', now: now + id });

  it('maxSessions 1,000, 1,000 new ids from one address: the source is throttled, the hijack refused, the owner served', async () => {
    const store = new MemoryStateStore({ maxSessions: 1_000 });
    const checks = createStatefulChecks({ store });
    expect(await checks.check(call(owner(T0, 1), 'x', {}, 1, p))).toBeUndefined();
    let churned = 0;
    for (let i = 0; i < 1_000; i++) {
      const d = await checks.check(call({ session: `flood-${i}`, address: '198.51.100.66', now: T0 + 10 + i }, 'x', {}, 1, p));
      if (d?.rule === 'session-churn') churned++;
    }
    expect(churned).toBe(800);
    expect(await checks.check(call({ ...owner(T0 + 2_000, 0), address: '198.51.100.66' }, 'x', {}, 2, p))).toMatchObject({
      rule: 'session-binding-mismatch',
    });
    expect(await checks.check(call(owner(T0 + 2_000, 3), 'x', {}, 3, p))).toBeUndefined();
  });

  it('maxSessions 1,000, 1,000 new ids from 1,000 addresses: the evicted session keeps its binding (tombstone)', async () => {
    const store = new MemoryStateStore({ maxSessions: 1_000 });
    const checks = createStatefulChecks({ store });
    expect(await checks.check(call(owner(T0, 1), 'x', {}, 1, p))).toBeUndefined();
    for (let i = 0; i < 1_000; i++) {
      const address = `10.${(i >> 8) & 255}.${i & 255}.7`;
      expect(await checks.check(call({ session: `flood-${i}`, address, now: T0 + 10 + i }, 'x', {}, 1, p))).toBeUndefined();
    }
    expect(store.size).toBeLessThanOrEqual(1_000);
    // The owner's record was the least recently used: it is gone, its binding is not.
    expect(await store.list({}, T0 + 2_000)).not.toContainEqual(expect.objectContaining({ label: 'victim...' }));
    const hijack = await checks.check(call({ ...owner(T0 + 2_000, 0), address: '198.51.100.66' }, 'x', {}, 2, p));
    expect(hijack).toMatchObject({ rule: 'session-binding-mismatch', excerpt: 'bound to 203.0.113.5, request from 198.51.100.66' });
    expect(await checks.check(call({ ...owner(T0 + 2_000, 1), address: '198.51.100.66' }, 'x', {}, 3, p))).toMatchObject({
      rule: 'session-binding-mismatch',
    });
    expect(await checks.check(call(owner(T0 + 2_000, 4), 'x', {}, 4, p))).toBeUndefined();
    // Restored as it was: created at first use, listed with the owner's address.
    const ctx = call(owner(T0 + 2_000, 6), 'x', {}, 6, p);
    expect(await checks.check(ctx)).toBeUndefined();
    const [restored] = await store.list({ ref: ctx.sessionId ?? '' }, T0 + 3_000);
    expect(restored).toMatchObject({ createdAt: T0 + 1, client: '203.0.113.x claude-code/2.1 (agent)' });
    // Ids it used before eviction stay behind the restored window.
    expect(await checks.check(call(owner(T0 + 2_000, 5), 'x', {}, 1, p))).toMatchObject({ rule: 'id-replay' });
  });
});
