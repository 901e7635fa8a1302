/**
 * In-process verdicts per second for a ~2 KB tools/call through the real engine (every stage,
 * in-memory session state), on one core. Usage:
 *   node --import tsx test/bench/engine.ts [--seconds 5] [--no-stateful] [--vary-sql]
 *
 * Two rates are printed: by wall-clock time, and by the CPU time this process was given
 * (`process.cpuUsage`). On a machine shared with other work the CPU-time rate is the steadier
 * measure of the engine's own cost; the load average is printed with it.
 * `--vary-sql` gives every request a query text not seen in the last 4,096 requests, so
 * nothing keyed by the query (the SQL verdict cache) can answer: the cold path.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { WardenRequest } from '../../authz/pipeline/request.js';
import { createDecide } from './engine-decide.js';
import { BENCH_SQL, toolsCallBody } from './tools-call-body.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    'no-stateful': { type: 'boolean', default: false },
    'vary-sql': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const varySql = values['vary-sql'];
const decide = await createDecide({ stateful: !values['no-stateful'] });
const BODY_BYTES = 2048;
/** Distinct bodies cycled through with --vary-sql (more than any cache keyed by the query keeps). */
const VARIANTS = 4096;
const bodies: Buffer[] = varySql
  ? Array.from({ length: VARIANTS }, (_, i) => toolsCallBody(BODY_BYTES, BENCH_SQL.replace('LIMIT 50', `LIMIT ${100 + i}`)))
  : [toolsCallBody(BODY_BYTES)];

function request(n: number): WardenRequest {
  const body = bodies[n % bodies.length] as Buffer;
  return {
    requestId: `b-${n}`,
    httpMethod: 'POST',
    path: '/mcp',
    headers: {
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      'content-length': String(body.length),
      'mcp-protocol-version': '2025-06-18',
      'mcp-session-id': 'bench-session-1',
      'user-agent': 'mcp-bench/1.0',
    },
    body,
    declaredLength: body.length,
    source: { address: '10.0.3.17', port: 41000, principal: undefined, certificate: undefined },
    claims: undefined,
    serverKey: 'demo/files',
    receivedAtMs: Date.now(),
  };
}

// Warm up (JIT, schema and CEL caches), checking the path really allows.
const first = await decide(request(0));
if (!first.allowed) throw new Error(`benchmark request was denied: ${JSON.stringify(first.denial)}`);
for (let i = 1; i < 2000; i++) await decide(request(i));

const load = loadavg().map((l) => l.toFixed(2)).join(' ');
const deadline = process.hrtime.bigint() + BigInt(seconds * 1e9);
const started = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
let n = 2000;
let count = 0;
while (process.hrtime.bigint() < deadline) {
  for (let i = 0; i < 500; i++) {
    const verdict = await decide(request(n++));
    if (!verdict.allowed) throw new Error(`benchmark request was denied: ${JSON.stringify(verdict.denial)}`);
  }
  count += 500;
}
const cpu = process.cpuUsage(cpuStart);
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
console.log(
  `engine: ${bodies[0]?.length} B tools/call, stateful=${!values['no-stateful']}${varySql ? ', distinct SQL' : ''}: ` +
    `${Math.round(count / elapsed)} verdicts/s wall (${((elapsed / count) * 1e6).toFixed(1)} µs each), ` +
    `${Math.round(count / cpuSeconds)} verdicts/CPU-s (${((cpuSeconds / count) * 1e6).toFixed(1)} µs CPU each); ` +
    `${count} verdicts in ${elapsed.toFixed(1)} s; load average ${load}`,
);
