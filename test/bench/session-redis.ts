/**
 * Benchmark (not a test): latency of the stateful check (stages 7 and 8, one EVALSHA) against
 * a real redis-server on loopback, at a fixed offered rate (open loop: requests are sent on
 * schedule whether or not earlier ones have answered). Default policy plus enumeration and
 * burst, 1,000 sessions, tool calls with varied arguments.
 * The store is built as the product builds it (createStoreFromOptions: scripts on the lean
 * RespScriptClient); `ioredis` as third argument runs the scripts through ioredis instead.
 * Run: node --import tsx test/bench/session-redis.ts [rate=2000] [seconds=10] [fast|ioredis]
 */
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import type { BehaviorRule } from '../../authz/api/types.js';
import { createStatefulChecks } from '../../authz/stages/stateful.js';
import { createStoreFromOptions } from '../../authz/state/create-store.js';
import { createRedisClient, RedisStateStore } from '../../authz/state/redis-store.js';
import { startRedis } from '../support/redis.js';
import { call, policy } from '../session/fixtures.js';

const rate = Number(process.argv[2] ?? 2_000);
const seconds = Number(process.argv[3] ?? 10);
const scriptClient = process.argv[4] === 'ioredis' ? 'ioredis' : 'fast';
const behavior: BehaviorRule[] = [
  { detector: 'loop', threshold: 100, window: '60s', action: 'Throttle' },
  { detector: 'enumeration', threshold: 50, window: '60s', action: 'Suspend' },
  { detector: 'bulkAccess', argument: 'path', threshold: 200, window: '60s', action: 'Suspend' },
  { detector: 'rate', threshold: 50, window: '1s', action: 'Throttle' },
  { detector: 'burst', factor: 10, action: 'Warn' },
];
const p = policy({ behavior });

const redis = await startRedis();
const store = scriptClient === 'ioredis' ? new RedisStateStore(createRedisClient({ url: redis.url })) : await createStoreFromOptions({ redisUrl: redis.url });
await (store as RedisStateStore).ready();
const checks = createStatefulChecks({ store, clock: Date.now });
const SESSIONS = 1_000;
const nextId = new Array<number>(SESSIONS).fill(1);

let storeErrors = 0;
function one(i: number): Promise<number> {
  const s = i % SESSIONS;
  const id = nextId[s]!;
  nextId[s] = id + 1;
  const ctx = call({ session: `bench-${s}`, address: `10.0.${s >> 8}.${s & 255}`, now: 0 }, 'read_file', { path: `/data/${(i * 7_919) % 50}.txt` }, id, p);
  const started = performance.now();
  return checks.check(ctx).then((denial) => {
    if (denial?.rule === 'state-store-unavailable') storeErrors++;
    return performance.now() - started;
  });
}

// Warm up (script load, JIT), then measure.
for (let i = 0; i < 2_000; i++) await one(i);
storeErrors = 0;
const admin = new Redis(redis.url);
await admin.config('RESETSTAT');
const latencies: number[] = [];
const total = rate * seconds;
const intervalMs = 1_000 / rate;
const start = performance.now();
const cpuBefore = process.cpuUsage();
let sent = 0;
const pending: Promise<void>[] = [];
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs));
    while (sent < due) pending.push(one(2_000 + sent++).then((ms) => void latencies.push(ms)));
    if (sent >= total) resolve();
    else setTimeout(tick, 1);
  };
  tick();
});
await Promise.all(pending);
const cpu = process.cpuUsage(cpuBefore);
const elapsed = (performance.now() - start) / 1_000;
latencies.sort((a, b) => a - b);
const q = (f: number): number => Number((latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? 0).toFixed(3));
const scriptUs = Number(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(await admin.info('commandstats'))?.[1] ?? Number.NaN);
admin.disconnect();
console.log(
  JSON.stringify({
    scriptClient,
    offeredPerSecond: rate,
    achievedPerSecond: Math.round(latencies.length / elapsed),
    checks: latencies.length,
    storeErrors,
    p50ms: q(0.5),
    p90ms: q(0.9),
    p99ms: q(0.99),
    p999ms: q(0.999),
    maxMs: q(1),
    scriptMicrosecondsInRedis: scriptUs,
    // This process's CPU (user + system) per check: the stateful stages plus the Redis client.
    nodeCpuMicrosecondsPerCheck: Math.round((cpu.user + cpu.system) / latencies.length),
    loadAverage: loadavg()[0],
  }),
);
await checks.close();
await redis.close();
