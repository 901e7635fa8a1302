/**
 * The brief's session and behaviour scenarios, each in both directions, against the memory
 * store and a real redis-server, with an injected clock (no sleeping).
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { BehaviorRule, MCPPolicySpec, SessionSpec } from '../../authz/api/types.js';
import type { CompiledPolicy } from '../../authz/pipeline/compiled.js';
import type { Denial } from '../../authz/pipeline/verdict.js';
import { staticGeoLookup } from '../../authz/session/geo.js';
import { createStatefulChecks, type StatefulChecks } from '../../authz/stages/stateful.js';
import type { StateStore } from '../../authz/state/store.js';
import { defaultPolicySpec } from '../../authz/api/defaults.js';
import { call, memoryKind, policy, redisKind, request, serverWith, T0, type Req } from './fixtures.js';

const kinds = [memoryKind(), redisKind()];
afterAll(async () => {
  for (const k of kinds) await k.teardown();
});

const defaults = defaultPolicySpec([{ name: 'files' }]);
function sessionSpec(over: Partial<SessionSpec>): SessionSpec {
  return { ...defaults.session, ...over, requestIds: { ...defaults.session.requestIds, ...over.requestIds } };
}
function withSession(over: Partial<SessionSpec>, rest: Partial<Omit<MCPPolicySpec, 'protocol'>> = {}): CompiledPolicy {
  return policy({ session: sessionSpec(over), ...rest });
}
const EXAMPLE_BEHAVIOR: BehaviorRule[] = [
  { detector: 'loop', threshold: 100, window: '60s', action: 'Throttle' },
  { detector: 'enumeration', threshold: 50, window: '60s', action: 'Suspend' },
  { detector: 'bulkAccess', argument: 'path', threshold: 200, window: '60s', action: 'Suspend' },
  { detector: 'rate', threshold: 50, window: '1s', action: 'Throttle' },
  { detector: 'burst', factor: 10, action: 'Warn' },
];
const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

describe.each(kinds)('session and behaviour on the $name store', (kind) => {
  let store: StateStore;
  let checks: StatefulChecks;
  let now: number;
  beforeEach(async () => {
    store = await kind.create();
    now = T0;
    checks = createStatefulChecks({ store, clock: () => now, geo: staticGeoLookup({ '81.2.69.160': 'GB', '175.16.199.1': 'CN', '81.2.69.161': 'GB' }) });
  });

  const r = (over: Partial<Req> = {}): Req => ({ session: 'sess-1', now, ...over });

  describe('one session from two addresses (hijack)', () => {
    it('denies the second address and keeps serving the first (onMismatch Deny)', async () => {
      const p = policy();
      expect(await checks.check(call(r(), 'read_file', { path: '/data/a' }, 1, p))).toBeUndefined();
      const hijack = await checks.check(call(r({ address: '198.51.100.7' }), 'read_file', { path: '/data/a' }, 2, p));
      expect(hijack).toMatchObject({ stage: 'session', rule: 'session-binding-mismatch', class: 'policy', code: -32040 });
      expect(hijack?.data).toEqual({ binding: 'sourceAddress', action: 'Deny' });
      expect(hijack?.excerpt).toBe('bound to 203.0.113.5, request from 198.51.100.7');
      expect(await checks.check(call(r(), 'read_file', { path: '/data/b' }, 3, p))).toBeUndefined();
    });

    it('suspends the session for actions.suspend.duration with onMismatch Suspend', async () => {
      const p = withSession({ onMismatch: 'Suspend' });
      expect(await checks.check(call(r(), 'read_file', { path: '/data/a' }, 1, p))).toBeUndefined();
      const hijack = await checks.check(call(r({ address: '198.51.100.7' }), 'read_file', { path: '/data/a' }, 2, p));
      expect(hijack).toMatchObject({ rule: 'session-binding-mismatch', code: -32051 });
      now += 10 * MINUTE;
      expect(await checks.check(call(r(), 'read_file', { path: '/data/b' }, 3, p))).toMatchObject({
        rule: 'session-suspended',
        code: -32051,
        data: { reason: 'session-binding-mismatch' },
      });
      now += 6 * MINUTE;
      expect(await checks.check(call(r(), 'read_file', { path: '/data/b' }, 4, p))).toBeUndefined();
    });

    it('does not let a hijacker spend the owner\'s behaviour budget or get the owner suspended', async () => {
      const p = policy({ behavior: [{ detector: 'rate', threshold: 5, window: '60s', action: 'Throttle' }, ...EXAMPLE_BEHAVIOR.slice(1, 2)] });
      expect(await checks.check(call(r(), 'get_user', { id: 1 }, 1, p))).toBeUndefined();
      for (let i = 2; i < 80; i++) {
        expect(await checks.check(call(r({ address: '198.51.100.7' }), 'get_user', { id: i }, i, p))).toMatchObject({ rule: 'session-binding-mismatch' });
      }
      for (let i = 0; i < 4; i++) expect(await checks.check(call(r(), 'search', { q: `q${i}` }, 100 + i, p))).toBeUndefined();
      expect(await checks.check(call(r(), 'search', { q: 'q5' }, 200, p))).toMatchObject({ rule: 'rate-limit' });
    });

    it('binds a token: a stolen session id used with another principal is refused; a refreshed token of the same one is not', async () => {
      const p = withSession({ bind: ['token'] });
      const alice = { sub: 'alice', iss: 'https://idp', client_id: 'agent', exp: 1 };
      expect(await checks.check(call(r({ claims: alice }), 'read_file', { path: '/data/a' }, 1, p))).toBeUndefined();
      expect(await checks.check(call(r({ claims: { ...alice, exp: 2 }, address: '198.51.100.9' }), 'read_file', { path: '/a' }, 2, p))).toBeUndefined();
      const mallory = await checks.check(call(r({ claims: { ...alice, sub: 'mallory' } }), 'read_file', { path: '/a' }, 3, p));
      expect(mallory).toMatchObject({ rule: 'session-binding-mismatch', data: { binding: 'token' } });
      const noToken = await checks.check(call(r(), 'read_file', { path: '/a' }, 4, p));
      expect(noToken).toMatchObject({ rule: 'session-binding-mismatch', data: { binding: 'token' } });
    });

    it('allows moves inside the bound prefix (sourcePrefix) and refuses moves outside it', async () => {
      const p = withSession({ sourcePrefix: { ipv4: 24, ipv6: 64 } });
      expect(await checks.check(call(r(), 'read_file', { path: '/a' }, 1, p))).toBeUndefined();
      expect(await checks.check(call(r({ address: '203.0.113.77' }), 'read_file', { path: '/a' }, 2, p))).toBeUndefined();
      expect(await checks.check(call(r({ address: '203.0.114.5' }), 'read_file', { path: '/a' }, 3, p))).toMatchObject({ rule: 'session-binding-mismatch' });
    });

    it('believes x-forwarded-for only from trusted proxies', async () => {
      const p = policy();
      const server = serverWith(p, ['10.0.0.0/8']);
      const viaProxy = (client: string, peer = '10.0.0.9'): Req => r({ address: peer, headers: { 'x-forwarded-for': `${client}, 10.0.0.3` } });
      expect(await checks.check(call(viaProxy('198.51.100.7', '10.0.0.9'), 'read_file', { path: '/a' }, 1, p, server))).toBeUndefined();
      // Same client through another trusted proxy hop: same session.
      expect(await checks.check(call(r({ address: '10.9.9.9', headers: { 'x-forwarded-for': '198.51.100.7' } }), 'read_file', { path: '/a' }, 2, p, server))).toBeUndefined();
      // An attacker connecting directly and claiming the victim's address is not believed.
      const spoof = await checks.check(call(r({ address: '192.0.2.66', headers: { 'x-forwarded-for': '198.51.100.7' } }), 'read_file', { path: '/a' }, 3, p, server));
      expect(spoof).toMatchObject({ rule: 'session-binding-mismatch', excerpt: 'bound to 198.51.100.7, request from 192.0.2.66' });
      // A client behind the proxy that forges an entry: the right-most untrusted entry wins.
      const forged = await checks.check(
        call(r({ address: '10.0.0.9', headers: { 'x-forwarded-for': '198.51.100.7, 192.0.2.66' } }), 'read_file', { path: '/a' }, 4, p, server),
      );
      expect(forged).toMatchObject({ rule: 'session-binding-mismatch', excerpt: 'bound to 198.51.100.7, request from 192.0.2.66' });
    });

    it('sees impossible travel as a mismatch, and a plausible journey as none', async () => {
      const p = withSession({ bind: ['token'], idleTimeout: '6h', impossibleTravel: { minInterval: '2h' } });
      expect(await checks.check(call(r({ address: '81.2.69.160' }), 'read_file', { path: '/a' }, 1, p))).toBeUndefined();
      now += 5 * MINUTE;
      expect(await checks.check(call(r({ address: '81.2.69.161' }), 'read_file', { path: '/a' }, 2, p))).toBeUndefined();
      now += 30 * MINUTE;
      const jump = await checks.check(call(r({ address: '175.16.199.1' }), 'read_file', { path: '/a' }, 3, p));
      expect(jump).toMatchObject({ rule: 'impossible-travel', excerpt: 'from GB to CN' });
      now += 3 * HOUR;
      expect(await checks.check(call(r({ address: '175.16.199.1' }), 'read_file', { path: '/a' }, 4, p))).toBeUndefined();
    });
  });

  describe('request ids', () => {
    it('accepts 23, 24, 27, 28 (gaps and concurrency are normal) and refuses a replayed 24', async () => {
      const p = policy();
      for (const id of [23, 24, 27, 28, 26, 25]) {
        const ctx = call(r(), 'get_user', { id: 7 }, id, p);
        expect(await checks.check(ctx)).toBeUndefined();
        expect(ctx.warnings).toEqual([]);
      }
      const replay = await checks.check(call(r(), 'get_user', { id: 7 }, 24, p));
      expect(replay).toMatchObject({ stage: 'session', rule: 'id-replay', code: -32040, data: { id: 24 } });
    });

    it('warns (or denies, per onGap) on ids jumping ahead of reorderWindow, and refuses ids behind it (onReplay)', async () => {
      const warnPolicy = withSession({ requestIds: { onReplay: 'Deny', reorderWindow: 2 } });
      const ctx1 = call(r(), 'x', {}, 23, warnPolicy);
      await checks.check(ctx1);
      await checks.check(call(r(), 'x', {}, 24, warnPolicy));
      const jump = call(r(), 'x', {}, 27, warnPolicy);
      expect(await checks.check(jump)).toBeUndefined();
      expect(jump.warnings).toMatchObject([{ rule: 'id-gap', warnOnly: true, data: { direction: 'forward' } }]);
      // Behind the window an id cannot be proven fresh: a replay, not a gap.
      const back = call(r(), 'x', {}, 3, warnPolicy);
      expect(await checks.check(back)).toMatchObject({ rule: 'id-too-old', data: { id: 3 } });
      expect(back.warnings).toEqual([]);

      const denyPolicy = withSession({ requestIds: { onReplay: 'Deny', reorderWindow: 2, onGap: 'Deny' } }, {});
      const other = (id: number) => call(r({ session: 'sess-2' }), 'x', {}, id, denyPolicy);
      expect(await checks.check(other(23))).toBeUndefined();
      expect(await checks.check(other(27))).toMatchObject({ rule: 'id-gap' });
      // The refused id was not recorded: the client continues from where it was.
      expect(await checks.check(other(24))).toBeUndefined();
    });

    it('detects replayed string ids and duplicates inside one batch', async () => {
      const p = policy();
      expect(await checks.check(call(r(), 'x', {}, 'req-a1', p))).toBeUndefined();
      expect(await checks.check(call(r(), 'x', {}, 'req-a2', p))).toBeUndefined();
      expect(await checks.check(call(r(), 'x', {}, 'req-a1', p))).toMatchObject({ rule: 'id-replay' });
      const batch = request(r(), [['x', {}, 9], ['y', {}, 9]], p);
      expect(await checks.check(batch)).toMatchObject({ rule: 'id-replay' });
    });

    it('does not record the id of a throttled request, so its retry is not a replay', async () => {
      const p = policy({ behavior: [{ detector: 'rate', threshold: 2, window: '1s', action: 'Throttle' }] });
      expect(await checks.check(call(r(), 'x', {}, 1, p))).toBeUndefined();
      expect(await checks.check(call(r(), 'x', {}, 2, p))).toBeUndefined();
      expect(await checks.check(call(r(), 'x', {}, 3, p))).toMatchObject({ rule: 'rate-limit', class: 'throttle', retryAfterSeconds: 30 });
      now += 2 * SECOND;
      expect(await checks.check(call(r(), 'x', {}, 3, p))).toBeUndefined();
    });
  });

  describe('lifetime, idle timeout and revocation', () => {
    it('refuses a session past maxLifetime and one idle past idleTimeout', async () => {
      const p = policy();
      for (let h = 0; h < 24; h++) {
        expect(await checks.check(call(r(), 'x', {}, h + 1, p))).toBeUndefined();
        now += HOUR - MINUTE;
      }
      now = T0 + 24 * HOUR + 1;
      expect(await checks.check(call(r(), 'x', {}, 100, p))).toMatchObject({ rule: 'session-expired' });

      expect(await checks.check(call(r({ session: 'idle' }), 'x', {}, 1, p))).toBeUndefined();
      now += 2 * HOUR - 1;
      expect(await checks.check(call(r({ session: 'idle' }), 'x', {}, 2, p))).toBeUndefined();
      now += 2 * HOUR + 1;
      expect(await checks.check(call(r({ session: 'idle' }), 'x', {}, 3, p))).toMatchObject({ rule: 'session-idle-timeout' });
    });

    it('revokes by session and by principal', async () => {
      const p = policy();
      const alice = { sub: 'alice', iss: 'https://idp' };
      const a1 = call(r({ session: 'a1-3f9c2e7d55b0', claims: alice }), 'x', {}, 1, p);
      await checks.check(a1);
      await checks.check(call(r({ session: 'a2', claims: alice }), 'x', {}, 1, p));
      const b1 = call(r({ session: 'b1', claims: { sub: 'bob' } }), 'x', {}, 1, p);
      await checks.check(b1);
      const c1 = call(r({ session: 'c1' }), 'x', {}, 1, p);
      await checks.check(c1);

      expect(await store.revoke({ ref: c1.sessionId ?? '' }, HOUR, now)).toBe(1);
      expect(await checks.check(call(r({ session: 'c1' }), 'x', {}, 2, p))).toMatchObject({ rule: 'session-revoked' });

      expect(await store.revoke({ principal: 'alice' }, HOUR, now)).toBe(2);
      expect(await checks.check(call(r({ session: 'a1-3f9c2e7d55b0', claims: alice }), 'x', {}, 2, p))).toMatchObject({ rule: 'session-revoked' });
      expect(await checks.check(call(r({ session: 'a2', claims: alice }), 'x', {}, 2, p))).toMatchObject({ rule: 'session-revoked' });
      expect(await checks.check(call(r({ session: 'b1', claims: { sub: 'bob' } }), 'x', {}, 2, p))).toBeUndefined();
      const listed = await store.list({ principal: 'alice' }, now);
      expect(listed.map((s) => s.revoked)).toEqual([true, true]);
      expect(listed.map((s) => [s.kind, s.label]).sort()).toEqual([['mcp', 'a1-3f9...'], ['mcp', 'a2...']]);
    });
  });

  describe('behaviour', () => {
    it('throttles 5,000 calls of get_customer_list in 30 s (loop), with 429 and Retry-After', async () => {
      const p = policy({ behavior: [{ detector: 'loop', threshold: 100, window: '60s', action: 'Throttle' }] });
      const denials: Denial[] = [];
      let allowed = 0;
      for (let i = 0; i < 5_000; i++) {
        now = T0 + i * 6;
        const d = await checks.check(call(r(), 'get_customer_list', { page: 1 }, i + 1, p));
        if (d === undefined) allowed++;
        else denials.push(d);
      }
      expect(allowed).toBe(100);
      expect(denials[0]).toMatchObject({ stage: 'behavior', rule: 'tool-loop', class: 'throttle', code: -32050, retryAfterSeconds: 30 });
    }, 60_000);

    it('rate-limits the same flood by the default rate rule, and near-identical arguments still count as a loop', async () => {
      const p = policy({ behavior: [{ detector: 'rate', threshold: 50, window: '1s', action: 'Throttle' }] });
      let allowed = 0;
      for (let i = 0; i < 1_000; i++) {
        now = T0 + i * 6;
        if ((await checks.check(call(r(), 'get_customer_list', { page: 1 }, i + 1, p))) === undefined) allowed++;
      }
      // 50 at once, then 50 per second over 6 s.
      expect(allowed).toBeGreaterThanOrEqual(340);
      expect(allowed).toBeLessThanOrEqual(352);

      const loop = policy({ behavior: [{ detector: 'loop', threshold: 3, window: '60s', action: 'Throttle' }] });
      const variants = [{ q: 'Open  invoices' }, { q: 'open invoices ' }, { q: 'OPEN INVOICES' }, { q: 'open invoices', nonce: undefined }];
      const results = [];
      for (const [i, args] of variants.entries()) results.push(await checks.check(call(r({ session: 'near' }), 'query', args, i + 1, loop)));
      expect(results.slice(0, 3)).toEqual([undefined, undefined, undefined]);
      expect(results[3]).toMatchObject({ rule: 'tool-loop' });
    }, 60_000);

    it('suspends get_user(1) … get_user(9999) (enumeration) and lets random lookups through', async () => {
      const p = policy({ behavior: EXAMPLE_BEHAVIOR });
      let first: Denial | undefined;
      let calls = 0;
      for (let id = 1; id <= 9_999 && first === undefined; id++) {
        now = T0 + id * 200;
        first = await checks.check(call(r(), 'get_user', { id }, id, p));
        calls = id;
      }
      expect(calls).toBe(52);
      expect(first).toMatchObject({ stage: 'behavior', rule: 'enumeration', code: -32051, data: { tool: 'get_user', argument: 'id' } });
      now += MINUTE;
      expect(await checks.check(call(r(), 'get_user', { id: 4242 }, 10_000, p))).toMatchObject({ rule: 'session-suspended', data: { reason: 'enumeration' } });

      // Benign: lookups of ids an agent found in search results, 200 of them in 10 minutes.
      let seed = 7;
      for (let i = 0; i < 200; i++) {
        seed = (seed * 7_919 + 13) % 100_003;
        now = T0 + 20 * MINUTE + i * 3 * SECOND;
        expect(await checks.check(call(r({ session: 'benign' }), 'get_user', { id: seed }, i + 1, p))).toBeUndefined();
      }
      // Also the user_1, user_2 … form.
      let named: Denial | undefined;
      for (let i = 1; i <= 60 && named === undefined; i++) {
        now = T0 + HOUR + i * 100;
        named = await checks.check(call(r({ session: 'named' }), 'get_user', { id: `user_${i}` }, i, p));
      }
      expect(named).toMatchObject({ rule: 'enumeration' });
    }, 60_000);

    it('suspends read_file on 1,000 distinct files in 60 s (bulk access), not re-reading a working set', async () => {
      const p = policy({ behavior: EXAMPLE_BEHAVIOR });
      let first: Denial | undefined;
      let n = 0;
      for (let i = 0; i < 1_000 && first === undefined; i++) {
        now = T0 + i * 60;
        first = await checks.check(call(r(), 'read_file', { path: `/data/${(i * 7_919) % 100_000}-report.txt` }, i + 1, p));
        n = i + 1;
      }
      expect(n).toBe(201);
      expect(first).toMatchObject({ rule: 'bulk-access', code: -32051, data: { argument: 'path', threshold: 200 } });

      const files = ['/data/a.md', '/data/b.md', '/data/src/main.ts', '/data/src/util.ts', '/data/README'];
      for (let i = 0; i < 600; i++) {
        now = T0 + HOUR + i * SECOND;
        expect(await checks.check(call(r({ session: 'ws' }), 'read_file', { path: files[i % files.length] }, i + 1, p))).toBeUndefined();
      }
    }, 60_000);

    it('warns when a calm session suddenly bursts, and not on its steady pace', async () => {
      const p = policy({ behavior: [{ detector: 'burst', factor: 10, action: 'Warn' }] });
      let id = 0;
      for (let i = 0; i < 30; i++) {
        now = T0 + i * 10 * SECOND;
        const ctx = call(r(), 'search', { q: `topic ${i}` }, ++id, p);
        expect(await checks.check(ctx)).toBeUndefined();
        expect(ctx.warnings).toEqual([]);
      }
      const warned: Denial[] = [];
      for (let i = 0; i < 60; i++) {
        now = T0 + 300 * SECOND + i * 50;
        const ctx = call(r(), 'search', { q: `x${i}` }, ++id, p);
        expect(await checks.check(ctx)).toBeUndefined();
        warned.push(...ctx.warnings);
      }
      expect(warned.length).toBeGreaterThan(0);
      expect(warned[0]).toMatchObject({ stage: 'behavior', rule: 'burst', warnOnly: true });
    });

    it('throttles one session sending 100 requests in parallel (50 pass), but not 10', async () => {
      const p = policy({ behavior: EXAMPLE_BEHAVIOR });
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => checks.check(call(r(), 'search', { q: `q${i}` }, i + 1, p))));
      expect(results.filter((d) => d === undefined)).toHaveLength(50);
      expect(results.find((d) => d !== undefined)).toMatchObject({ rule: 'rate-limit', class: 'throttle', retryAfterSeconds: 30 });
      const calm = await Promise.all(Array.from({ length: 10 }, (_, i) => checks.check(call(r({ session: 'ten' }), 'search', { q: `q${i}` }, i + 1, p))));
      expect(calm).toEqual(Array(10).fill(undefined));
    });

    it('counts principal-scoped rules across the principal\'s sessions', async () => {
      const p = policy({ behavior: [{ detector: 'rate', threshold: 10, window: '60s', action: 'Throttle', scope: 'principal' }] });
      const alice = { sub: 'alice' };
      let allowed = 0;
      for (let i = 0; i < 20; i++) {
        if ((await checks.check(call(r({ session: `s${i % 4}`, claims: alice }), 'x', {}, i + 1, p))) === undefined) allowed++;
      }
      expect(allowed).toBe(10);
      expect(await checks.check(call(r({ session: 'bob', claims: { sub: 'bob' } }), 'x', {}, 1, p))).toBeUndefined();
    });
  });

  describe('a normal agent is never flagged', () => {
    it('initialize, list, concurrent calls out of order, retries after errors, pagination', async () => {
      const p = policy({ behavior: EXAMPLE_BEHAVIOR, session: sessionSpec({ bind: ['sourceAddress', 'userAgent', 'token'] }) });
      const claims = { sub: 'dev-42', iss: 'https://idp', client_id: 'ide' };
      const flagged: Denial[] = [];
      const check = async (calls: Parameters<typeof request>[1], method?: string): Promise<void> => {
        const ctx = request(r({ claims, session: 'good-agent' }), calls, p, undefined, method);
        const d = await checks.check(ctx);
        if (d !== undefined) flagged.push(d);
        flagged.push(...ctx.warnings);
      };
      let id = 0;
      await check([['', { protocolVersion: '2025-11-25' }, id++]], 'initialize');
      await check([['', {}, null]], 'notifications/initialized');
      await check([['', {}, id++]], 'tools/list');
      for (let round = 0; round < 40; round++) {
        now = T0 + round * 20 * SECOND;
        // Four concurrent calls, arriving out of order.
        const ids = [id + 2, id, id + 3, id + 1];
        id += 4;
        await Promise.all(ids.map((n, k) => check([[k % 2 === 0 ? 'read_file' : 'search', k % 2 === 0 ? { path: `/data/src/f${round % 7}.ts` } : { q: `symbol ${round}` }, n]])));
        // A failing call retried once with a new id.
        await check([['query', { sql: 'select count(*) from orders' }, id++]]);
        await check([['query', { sql: 'select count(*) from orders' }, id++]]);
        // Pagination of a customer list, five pages.
        if (round % 10 === 0) for (let page = 1; page <= 5; page++) await check([['get_customer_list', { page }, id++]]);
        await check([['', { cursor: `c${round}` }, id++]], 'resources/list');
      }
      expect(flagged).toEqual([]);
    }, 60_000);
  });

  describe('audit mode and warnings', () => {
    it('returns the denial in Audit mode without suspending or rebinding', async () => {
      const p = withSession({ onMismatch: 'Suspend' }, { mode: 'Audit' });
      await checks.check(call(r(), 'x', {}, 1, p));
      const audited = await checks.check(call(r({ address: '198.51.100.7' }), 'x', {}, 2, p));
      expect(audited).toMatchObject({ rule: 'session-binding-mismatch' });
      expect(await checks.check(call(r(), 'x', {}, 3, p))).toBeUndefined();
    });

    it('Warn actions allow with a warning', async () => {
      const p = policy({ behavior: [{ detector: 'loop', threshold: 2, window: '60s', action: 'Warn' }] });
      const contexts = [1, 2, 3].map((i) => call(r(), 'x', { a: 1 }, i, p));
      for (const ctx of contexts) expect(await checks.check(ctx)).toBeUndefined();
      expect(contexts[2]?.warnings).toMatchObject([{ rule: 'tool-loop', warnOnly: true }]);
      expect(contexts[1]?.warnings).toEqual([]);
    });
  });

  describe('stateless 2026-07-28 revision', () => {
    const v = '2026-07-28';
    it('keys sessions by principal (ignoring Mcp-Session-Id), without address binding', async () => {
      const p = policy();
      const claims = { sub: 'alice', iss: 'https://idp', client_id: 'cli' };
      const a = call(r({ protocolVersion: v, claims, session: undefined }), 'x', {}, 1, p);
      expect(await checks.check(a)).toBeUndefined();
      expect(a.sessionId).toMatch(/^p\./);
      const phone = call(r({ protocolVersion: v, claims, session: 'invented', address: '198.51.100.7' }), 'x', { from: 'phone' }, 1, p);
      expect(await checks.check(phone)).toBeUndefined();
      expect(phone.sessionId).toBe(a.sessionId);
      const anon = call(r({ protocolVersion: v, session: undefined, userAgent: 'evil\u001b[2J agent' }), 'x', {}, 1, p);
      await checks.check(anon);
      expect(anon.sessionId).toMatch(/^a\./);
      const [listed] = await store.list({ ref: anon.sessionId ?? '' }, now);
      expect(listed?.label).toBe('203.0.113.5 evil?[2J agent');
    });

    it('refuses the same id with the same message within replayWindow; other messages may reuse ids', async () => {
      const p = policy();
      const claims = { sub: 'alice' };
      const req = (id: number, q: string) => call(r({ protocolVersion: v, claims, session: undefined }), 'search', { q }, id, p);
      expect(await checks.check(req(1, 'a'))).toBeUndefined();
      expect(await checks.check(req(1, 'b'))).toBeUndefined();
      expect(await checks.check(req(1, 'a'))).toMatchObject({ rule: 'id-replay' });
      now += 6 * MINUTE;
      expect(await checks.check(req(1, 'a'))).toBeUndefined();
    });

    it('lets every client instance of a principal start with the same discovery request', async () => {
      const p = policy();
      const claims = { sub: 'alice' };
      for (const address of ['198.51.100.7', '203.0.113.5', '203.0.113.5']) {
        const ctx = request(r({ protocolVersion: v, claims, session: undefined, address }), [['', {}, 1]], p, undefined, 'server/discover');
        expect(await checks.check(ctx)).toBeUndefined();
      }
    });

    it('starts a fresh session after idle expiry instead of refusing the principal', async () => {
      const p = policy();
      const claims = { sub: 'alice' };
      expect(await checks.check(call(r({ protocolVersion: v, claims, session: undefined }), 'x', {}, 1, p))).toBeUndefined();
      now += 3 * HOUR;
      expect(await checks.check(call(r({ protocolVersion: v, claims, session: undefined }), 'x', {}, 2, p))).toBeUndefined();
    });
  });
});
