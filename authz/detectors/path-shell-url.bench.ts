/**
 * Throughput of the path, shell, command and url inspectors, in CPU time (the machine may be
 * shared): `node --import tsx authz/detectors/path-shell-url.bench.ts`.
 *  - corpus: every DEV corpus value of the kind (../shared/corpora), MB/s;
 *  - adversarial: hostile strings at the largest accepted size (full scan) and at 1 MB.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inspectPath, MAX_PATH_LENGTH } from './path.js';
import { inspectCommand, inspectShell, MAX_SHELL_VALUE_LENGTH } from './shell.js';
import { inspectUrl } from './ssrf.js';
import type { KindInspector } from './types.js';

const MB = 1 << 20;
const fill = (unit: string, size: number): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
const INSPECTORS: Record<string, KindInspector> = { path: inspectPath, shell: inspectShell, command: inspectCommand, url: inspectUrl };

function cpuMs(fn: () => void, repeat: number): number {
  fn();
  const start = process.cpuUsage();
  for (let i = 0; i < repeat; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / repeat;
}

const corpora = process.env.MCP_WARDEN_CORPORA ?? resolve(import.meta.dirname, '../../../shared/corpora');
if (existsSync(resolve(corpora, 'attacks.jsonl'))) {
  const values: Record<string, string[]> = { path: [], shell: [], url: [] };
  for (const file of ['attacks.jsonl', 'benign.jsonl']) {
    for (const line of readFileSync(resolve(corpora, file), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const row = JSON.parse(line) as { value: string; kind: string };
      values[row.kind]?.push(row.value);
    }
  }
  for (const [kind, list] of Object.entries(values)) {
    const inspect = INSPECTORS[kind] as KindInspector;
    const bytes = list.reduce((n, v) => n + Buffer.byteLength(v), 0);
    const ms = cpuMs(() => {
      for (const v of list) inspect(v, undefined);
    }, 5);
    console.log(`corpus ${kind.padEnd(7)} ${list.length} values, ${(bytes / 1024).toFixed(0)} KiB: ${(bytes / MB / (ms / 1000)).toFixed(1)} MB/s, ${((ms * 1000) / list.length).toFixed(2)} µs/value`);
  }
}

const HOSTILE = ['%25', '%2525', '%c0%ae', '../', '$(', `'"\\'"`, '\\', '\\$', '{a,', '()', 'a/', '.?', '．'];
const LIMITS: Record<string, number> = { path: MAX_PATH_LENGTH, shell: MAX_SHELL_VALUE_LENGTH, command: MAX_SHELL_VALUE_LENGTH };
for (const [kind, inspect] of Object.entries(INSPECTORS)) {
  let worstFull = 0;
  let worstFullUnit = '';
  let worstMb = 0;
  let worstMbUnit = '';
  for (const unit of HOSTILE) {
    const limit = LIMITS[kind];
    if (limit !== undefined) {
      const value = fill(unit, limit);
      const ms = cpuMs(() => inspect(value, undefined), 20);
      const perMb = ms * (MB / limit);
      if (perMb > worstFull) [worstFull, worstFullUnit] = [perMb, unit];
    }
    const big = fill(unit, MB);
    const ms = cpuMs(() => inspect(big, undefined), 5);
    if (ms > worstMb) [worstMb, worstMbUnit] = [ms, unit];
  }
  const full = LIMITS[kind] !== undefined ? `full scan worst ${worstFull.toFixed(1)} ms/MB (${JSON.stringify(worstFullUnit)}, ${(1000 / worstFull).toFixed(0)} MB/s); ` : '';
  console.log(`adversarial ${kind.padEnd(7)} ${full}1 MB worst ${worstMb.toFixed(2)} ms (${JSON.stringify(worstMbUnit)})`);
}
