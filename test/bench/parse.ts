/**
 * Benchmark (not a test): parses per second of a ~2 KB tools/call body with `parseBody`
 * (limit checks + validating scan + JSON.parse) against bare JSON.parse.
 * Run: node --import tsx test/bench/parse.ts
 */
import { parseBody } from '../../authz/jsonrpc/parse.js';

function toolsCall(): Uint8Array {
  const message = {
    jsonrpc: '2.0',
    id: 42,
    method: 'tools/call',
    params: {
      name: 'query',
      arguments: {
        sql: 'SELECT id, name, email, created_at FROM customers WHERE region = $1 AND status = $2 ORDER BY created_at DESC LIMIT 50',
        params: ['emea', 'active'],
        options: { timeoutMs: 5000, readOnly: true, explain: false, labels: { team: 'analytics', ticket: 'ANL-1234' } },
        note: 'Quarterly review of active EMEA customers. '.repeat(38),
      },
      _meta: { progressToken: 'p-42' },
    },
  };
  return new TextEncoder().encode(JSON.stringify(message));
}

function rate(label: string, iterations: number, fn: () => unknown): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const perSecond = iterations / seconds;
  console.log(`${label.padEnd(36)} ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} parses/s  (${((seconds / iterations) * 1e6).toFixed(2)} µs each)`);
  return perSecond;
}

const body = toolsCall();
const text = new TextDecoder().decode(body);
const limits = { maxBytes: 1024 * 1024, maxDepth: 64, maxWidth: 1000 };
const n = 100_000;
console.log(`tools/call body: ${body.byteLength} bytes`);
rate('JSON.parse(text)', n, () => JSON.parse(text));
rate('JSON.parse(TextDecoder(bytes))', n, () => JSON.parse(new TextDecoder().decode(body)));
const ours = rate('parseBody(bytes)', n, () => parseBody(body, limits));
rate('parseBody(text)', n, () => parseBody(text, limits));
console.log(ours >= 30_000 ? 'target ≥ 30 000 parses/s: met' : 'target ≥ 30 000 parses/s: NOT met');

// Worst cases the limits must keep cheap.
function timeOnce(label: string, fn: () => unknown): void {
  const start = process.hrtime.bigint();
  const result = fn() as { error?: { rule: string } };
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${label.padEnd(36)} ${ms.toFixed(2).padStart(10)} ms  → ${result.error?.rule ?? 'ok'}`);
}
const item = '{"path":"/data/public/file-0001.txt","size":12345,"tags":["a","b"]},';
const oneMb = new TextEncoder().encode(`{"items":[${item.repeat(Math.floor((1024 * 1024 - 40) / item.length)).slice(0, -1)}]}`);
const wideLimits = { maxBytes: 1024 * 1024, maxDepth: 64, maxWidth: 100_000 };
timeOnce('1 MB body at the limit', () => parseBody(oneMb, wideLimits));
timeOnce('JSON.parse of the same 1 MB', () => ({ value: JSON.parse(new TextDecoder().decode(oneMb)) }));
timeOnce('10 MB body, 1 MB limit', () => parseBody(new Uint8Array(10 * 1024 * 1024), limits));
timeOnce('20 000-deep nesting', () => parseBody('['.repeat(20_000) + ']'.repeat(20_000), limits));
