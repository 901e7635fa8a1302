/**
 * In-process verdicts per second for a ~2 KB tools/call through the real engine (every stage,
 * in-memory session state), on one core. Usage:
 *   node --import tsx test/bench/engine.ts [--seconds 5] [--no-stateful]
 */
import { parseArgs } from 'node:util';
import type { WardenRequest } from '../../authz/pipeline/request.js';
import { createDecide } from './engine-decide.js';
import { toolsCallBody } from './grpc-check.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, 'no-stateful': { type: 'boolean', default: false } } });
const seconds = Number(values.seconds);
const decide = await createDecide({ stateful: !values['no-stateful'] });
const body = toolsCallBody(2048);

function request(n: number): WardenRequest {
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

const deadline = process.hrtime.bigint() + BigInt(seconds * 1e9);
const started = process.hrtime.bigint();
let n = 0;
while (process.hrtime.bigint() < deadline) {
  for (let i = 0; i < 500; i++) await decide(request(n++));
}
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`engine: ${body.length} B tools/call, stateful=${!values['no-stateful']}: ${Math.round(n / elapsed)} verdicts/s (${((elapsed / n) * 1e6).toFixed(1)} µs each, ${n} verdicts in ${elapsed.toFixed(1)} s)`);
