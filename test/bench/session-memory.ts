/**
 * Benchmark (not a test): heap bytes per tracked session in the memory store, through the
 * real check path with the default policy (session binding, id window, loop/rate/bulk-access
 * counters). Each session makes three requests (initialize-like, a tool call, a read).
 * Run: node --expose-gc --import tsx test/bench/session-memory.ts [sessions=100000] [default|none]
 * (`none`: the session record alone, without behaviour counters).
 */
import { createStatefulChecks } from '../../authz/stages/stateful.js';
import { MemoryStateStore } from '../../authz/state/memory-store.js';
import { call, policy, T0 } from '../session/fixtures.js';

const sessions = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const behaviour = process.argv[3] ?? 'default';
const p = behaviour === 'none' ? policy({ behavior: [] }) : policy();
const store = new MemoryStateStore({ maxSessions: sessions });
const checks = createStatefulChecks({ store });

async function heap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

// Warm up code paths (compiled policy, geo not used by default) before measuring.
await checks.check(call({ session: 'warm', now: T0 }, 'read_file', { path: '/data/a' }, 1, p));
const before = await heap();
const started = performance.now();
for (let i = 0; i < sessions; i++) {
  const r = { session: `sess-${i.toString(36)}-${(i * 2654435761) % 1e9}`, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now: T0 + i };
  await checks.check(call(r, 'search', { q: 'quarterly report' }, 1, p));
  await checks.check(call(r, 'read_file', { path: `/data/reports/q${i % 4}.pdf` }, 2, p));
  await checks.check(call(r, 'get_customer_list', { page: 1 }, 3, p));
}
const elapsed = performance.now() - started;
const after = await heap();
const perSession = (after - before) / sessions;
console.log(
  JSON.stringify({
    sessions: store.size,
    behaviour,
    heapDeltaMB: Number(((after - before) / 1_048_576).toFixed(1)),
    bytesPerSession: Math.round(perSession),
    checksPerSecond: Math.round((sessions * 3) / (elapsed / 1_000)),
  }),
);
