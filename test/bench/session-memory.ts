/**
 * Benchmark (not a test): memory per tracked session in the memory store, through the real
 * check path with the default policy (session binding, id window, loop/rate/bulk-access
 * counters), for two kinds of session:
 *   light  three requests (a search, a read, a list)
 *   heavy  150 requests reading 150 distinct files (bulk-access set and 150 loop digests)
 * Memory is the V8 heap plus array buffers (typed arrays live outside the heap).
 * Run: node --expose-gc --import tsx test/bench/session-memory.ts [sessions=100000] [light|heavy|none]
 * (`none`: light sessions, the session record alone, without behaviour counters).
 */
import { createStatefulChecks } from '../../authz/stages/stateful.js';
import { MemoryStateStore } from '../../authz/state/memory-store.js';
import { call, policy, T0 } from '../session/fixtures.js';

const sessions = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const shape = process.argv[3] ?? 'light';
const p = shape === 'none' ? policy({ behavior: [] }) : policy();
// Large enough that neither cap evicts anything: this measures what one session costs.
const store = new MemoryStateStore({ maxSessions: sessions, memoryMaxBytes: 64 * 1024 ** 3 });
const checks = createStatefulChecks({ store });

async function used(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

// Warm up code paths (compiled policy, geo not used by default) before measuring.
await checks.check(call({ session: 'warm', now: T0 }, 'read_file', { path: '/data/a' }, 1, p));
const before = await used();
const started = performance.now();
let requests = 0;
for (let i = 0; i < sessions; i++) {
  const r = { session: `sess-${i.toString(36)}-${(i * 2654435761) % 1e9}`, address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now: T0 + i };
  if (shape === 'heavy') {
    // 150 reads spread over 60 s (under the rate limit), each of another file.
    for (let f = 0; f < 150; f++) {
      await checks.check(call({ ...r, now: T0 + f * 400 }, 'read_file', { path: `/data/reports/${(f * 7_919 + i) % 100_000}.pdf` }, f + 1, p));
    }
    requests += 150;
  } else {
    await checks.check(call(r, 'search', { q: 'quarterly report' }, 1, p));
    await checks.check(call(r, 'read_file', { path: `/data/reports/q${i % 4}.pdf` }, 2, p));
    await checks.check(call(r, 'get_customer_list', { page: 1 }, 3, p));
    requests += 3;
  }
}
const elapsed = performance.now() - started;
const after = await used();
console.log(
  JSON.stringify({
    sessions: store.size,
    shape,
    memoryDeltaMB: Number(((after - before) / 1_048_576).toFixed(1)),
    bytesPerSession: Math.round((after - before) / sessions),
    accountedBytesPerSession: Math.round(store.bytes / Math.max(1, store.size)),
    checksPerSecond: Math.round(requests / (elapsed / 1_000)),
  }),
);
