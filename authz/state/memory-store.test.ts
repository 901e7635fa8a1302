import { describe, expect, it } from 'vitest';
import { MemoryStateStore } from './memory-store.js';
import type { Observation } from './store.js';

const T0 = Date.UTC(2026, 7, 1);

function observation(ref: string, now: number, counters: Observation['counters'] = []): Observation {
  return {
    ref,
    policy: 'demo/p',
    nowMs: now,
    suspendMs: 15 * 60_000,
    session: {
      kind: 'mcp',
      label: ref,
      client: '',
      source: '',
      principal: '',
      maxLifetimeMs: 86_400_000,
      idleTimeoutMs: 7_200_000,
      renewOnExpiry: false,
      bind: [['sourceAddress', '203.0.113.5']],
      mismatch: 'suspend',
      country: '',
      travelMinIntervalMs: 0,
      travel: 'none',
      ids: [{ kind: 'int', id: 1 }],
      reorderWindow: 32,
      replayWindowMs: 0,
      replay: 'block',
      gap: 'none',
    },
    counters,
  };
}

describe('MemoryStateStore bounds', () => {
  it('a flood of new session ids never holds more than maxSessions, and suspended sessions outlive the flood', async () => {
    const store = new MemoryStateStore({ maxSessions: 1_000 });
    const bucket = { kind: 'bucket', id: 'rate0', capacity: 0, refillPerMs: 0, cost: 1, effect: 'suspend' } as const;
    const [suspended] = await store.observe([observation('m.victim', T0, [bucket])]);
    expect(suspended?.suspendedNow).toBeGreaterThan(T0);
    for (let i = 0; i < 20_000; i++) await store.observe([observation(`m.flood-${i}`, T0 + i)]);
    expect(store.size).toBeLessThanOrEqual(1_000);
    const [after] = await store.observe([observation('m.victim', T0 + 30_000)]);
    expect(after?.suspendedUntil).toBe(suspended?.suspendedNow);
  });

  it('drops entries after their TTL', async () => {
    const store = new MemoryStateStore();
    await store.observe([observation('m.a', T0)]);
    expect(await store.list({}, T0 + 1)).toHaveLength(1);
    // An Mcp-Session-Id record is kept for its lifetime plus one idle period, then forgotten.
    expect(await store.list({}, T0 + 86_400_000 + 7_200_000 + 1)).toHaveLength(0);
  });

  it('keeps the counters a session uses while one-off loop digests come and go', async () => {
    const store = new MemoryStateStore();
    const rate = { kind: 'bucket', id: 'rate', capacity: 5, refillPerMs: 0, cost: 1, effect: 'block' } as const;
    let exceeded = 0;
    for (let i = 0; i < 100; i++) {
      const loop = { kind: 'window', id: `loop.${i}`, windowMs: 60_000, threshold: 100, effect: 'block' } as const;
      const [r] = await store.observe([{ ...observation('m.s', T0 + i), session: undefined, counters: [rate, loop] }]);
      if (r?.counters[0]?.exceeded === true) exceeded++;
    }
    expect(exceeded).toBe(95);
  });
});

describe('MemoryStateStore byte bound', () => {
  const read = (i: number): Observation['counters'] => [
    { kind: 'distinct', id: 'bulkAccess2', windowMs: 60_000, threshold: 200, member: (0x10000000 + i * 7_919).toString(16).padStart(12, '0'), effect: 'suspend' },
    { kind: 'window', id: `loop0.${i}`, windowMs: 60_000, threshold: 100, effect: 'block' },
  ];

  it('holds heavy sessions (150 distinct files each) within memoryMaxBytes, evicting the least recently used', async () => {
    const maxBytes = 2 * 1024 * 1024;
    const store = new MemoryStateStore({ memoryMaxBytes: maxBytes });
    for (let s = 0; s < 400; s++) {
      for (let f = 0; f < 150; f++) {
        const o = observation(`m.heavy-${s}`, T0 + f * 100);
        await store.observe([{ ...o, session: { ...o.session!, ids: [{ kind: 'int', id: f + 1 }] }, counters: read(f) }]);
      }
      expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    }
    // Each holds 64 counters and a 150-member set: a few hundred fit, not all 400.
    expect(store.size).toBeGreaterThan(150);
    expect(store.size).toBeLessThan(400);
    expect((await store.list({}, T0 + 20_000)).map((r) => r.ref)).toContain('m.heavy-399');
    expect((await store.list({}, T0 + 20_000)).map((r) => r.ref)).not.toContain('m.heavy-0');
  }, 60_000);

  it('caps a distinct set at threshold + 1 members, however many values arrive', async () => {
    const store = new MemoryStateStore();
    const before = store.bytes;
    let last = 0;
    for (let i = 0; i < 5_000; i++) {
      const [r] = await store.observe([{ ...observation('m.bulk', T0 + i), session: undefined, counters: [{ ...read(i)[0]!, effect: 'none' } as const] }]);
      last = r?.counters[0]?.value ?? 0;
    }
    expect(last).toBe(201);
    // 201 members in a half-full table of 512 small integers, not 5,000 members.
    expect(store.bytes - before).toBeLessThan(6_000);
  });
});
