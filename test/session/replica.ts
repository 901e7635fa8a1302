/**
 * One authz replica for the two-process tests: its own StateStore on the shared Redis
 * (REDIS_URL) and its own stateful checks. Reads one JSON request per stdin line
 * (`{session, address, tool, args, id, now}`) and writes one line per answer:
 * `{"rule": <denial rule or null>}`.
 */
import { createInterface } from 'node:readline';
import { createStatefulChecks } from '../../authz/stages/stateful.js';
import { createStoreFromOptions } from '../../authz/state/create-store.js';
import type { BehaviorRule } from '../../authz/api/types.js';
import { call, policy } from './fixtures.js';

interface Line {
  session: string;
  address: string;
  tool: string;
  args: Record<string, unknown>;
  id: number;
  now: number;
}

const behavior: BehaviorRule[] = [{ detector: 'loop', threshold: 100, window: '60s', action: 'Throttle' }];
const p = policy({ behavior });
const store = await createStoreFromOptions({ redisUrl: process.env.REDIS_URL ?? '', redisCommandTimeoutMs: 2_000 });
const checks = createStatefulChecks({ store });
process.stdout.write(`${JSON.stringify({ ready: process.pid })}\n`);
const lines = createInterface({ input: process.stdin });
for await (const text of lines) {
  const l = JSON.parse(text) as Line;
  const denial = await checks.check(call({ session: l.session, address: l.address, now: l.now }, l.tool, l.args, l.id, p));
  process.stdout.write(`${JSON.stringify({ rule: denial?.rule ?? null })}\n`);
}
await checks.close();
