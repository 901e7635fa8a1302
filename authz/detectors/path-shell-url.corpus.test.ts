/**
 * The path, shell and url detectors on the DEV corpus (../shared/corpora, see its README):
 * TPR ≥ 99 % per attack class and FPR ≤ 0.5 % on the benign values of each kind. The corpus
 * is a development set; nothing here special-cases its lines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArgumentKind } from '../api/types.js';
import { inspectPath } from './path.js';
import { inspectShell } from './shell.js';
import { inspectUrl } from './ssrf.js';
import type { KindInspector } from './types.js';

const CORPORA = process.env.MCP_WARDEN_CORPORA ?? resolve(import.meta.dirname, '../../../shared/corpora');
const present = existsSync(resolve(CORPORA, 'attacks.jsonl')) && existsSync(resolve(CORPORA, 'benign.jsonl'));

interface Row {
  readonly value: string;
  readonly kind: ArgumentKind;
  readonly class: string;
}

const INSPECTORS: Partial<Record<ArgumentKind, KindInspector>> = { path: inspectPath, shell: inspectShell, url: inspectUrl };

function load(file: string): Row[] {
  return readFileSync(resolve(CORPORA, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row)
    .filter((r) => INSPECTORS[r.kind] !== undefined);
}

function rate(rows: readonly Row[]): { flagged: number; total: number; pct: number } {
  let flagged = 0;
  for (const r of rows) if ((INSPECTORS[r.kind] as KindInspector)(r.value, undefined) !== undefined) flagged++;
  return { flagged, total: rows.length, pct: rows.length === 0 ? 0 : (100 * flagged) / rows.length };
}

describe.skipIf(!present)('DEV corpus: path, shell, url', () => {
  const attacks = present ? load('attacks.jsonl') : [];
  const benign = present ? load('benign.jsonl') : [];
  const classes = [...new Set(attacks.map((r) => `${r.kind}/${r.class}`))].sort();

  it.each(classes)('TPR at least 99 percent: %s', (key) => {
    const rows = attacks.filter((r) => `${r.kind}/${r.class}` === key);
    const { flagged, total, pct } = rate(rows);
    console.log(`TPR ${key}: ${flagged}/${total} = ${pct.toFixed(2)} %`);
    expect(total).toBeGreaterThan(0);
    expect(pct).toBeGreaterThanOrEqual(99);
  });

  it.each(['path', 'shell', 'url'])('FPR at most 0.5 percent: benign %s', (kind) => {
    const rows = benign.filter((r) => r.kind === kind);
    const { flagged, total, pct } = rate(rows);
    console.log(`FPR ${kind}: ${flagged}/${total} = ${pct.toFixed(2)} %`);
    expect(total).toBeGreaterThan(0);
    expect(pct).toBeLessThanOrEqual(0.5);
  });
});
