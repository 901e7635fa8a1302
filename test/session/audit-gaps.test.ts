/**
 * The gaps an audit of issue 5 found, each reproduced against the memory store and a real
 * redis-server (injected clock), with the benign direction beside it.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { MCPPolicySpec, SessionSpec } from '../../authz/api/types.js';
import { defaultPolicySpec } from '../../authz/api/defaults.js';
import type { CompiledPolicy } from '../../authz/pipeline/compiled.js';
import { createStatefulChecks, type StatefulChecks } from '../../authz/stages/stateful.js';
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
});
