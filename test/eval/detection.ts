/**
 * `npm run eval:detection`: runs every argument inspector over the evaluation corpora
 * (attacks.jsonl, benign.jsonl, tool-descriptions.jsonl; format in the corpora README) and
 * prints true-positive rates per kind and attack class, false-positive rates per kind on
 * benign values, both rates for the tool-definition scanner, and scan throughput.
 *
 *   node --import tsx test/eval/detection.ts [--corpora DIR] [--json]
 *
 * DIR defaults to $MCP_WARDEN_CORPORA, else ../shared/corpora next to the repository.
 * Exits 2 when the corpus is missing, 0 otherwise (the targets are asserted by the vitest
 * suites, not here).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgumentKind, ToolDefinition } from '../../authz/api/types.js';
import { inspectorForKind } from '../../authz/detectors/index.js';
import { initSqlParser } from '../../authz/detectors/sql.js';
import { scanTool } from '../../authz/scan/scan-tool.js';

export interface CorpusEntry {
  readonly value: string;
  readonly kind: ArgumentKind;
  readonly label: 'attack' | 'benign';
  readonly class: string;
  readonly source: string;
}

export interface ToolEntry {
  readonly tool: ToolDefinition;
  readonly label: 'poisoned' | 'clean';
  readonly source: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The corpus folder from `--corpora`, `MCP_WARDEN_CORPORA`, or the default next to the repo. */
export function corporaDir(argv: readonly string[] = process.argv.slice(2)): string {
  const flag = argv.indexOf('--corpora');
  if (flag >= 0 && argv[flag + 1] !== undefined) return resolve(argv[flag + 1] as string);
  const eq = argv.find((a) => a.startsWith('--corpora='));
  if (eq !== undefined) return resolve(eq.slice('--corpora='.length));
  return resolve(process.env.MCP_WARDEN_CORPORA ?? join(REPO_ROOT, '..', 'shared', 'corpora'));
}

export function corpusPresent(dir: string): boolean {
  return ['attacks.jsonl', 'benign.jsonl', 'tool-descriptions.jsonl'].every((f) => existsSync(join(dir, f)));
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

export function loadCorpus(dir: string): { attacks: CorpusEntry[]; benign: CorpusEntry[]; tools: ToolEntry[] } {
  return {
    attacks: readJsonl<CorpusEntry>(join(dir, 'attacks.jsonl')),
    benign: readJsonl<CorpusEntry>(join(dir, 'benign.jsonl')),
    tools: readJsonl<ToolEntry>(join(dir, 'tool-descriptions.jsonl')),
  };
}

export interface RateRow {
  readonly kind: string;
  readonly cls: string;
  readonly count: number;
  readonly hits: number;
  readonly rate: number;
  readonly mbPerSecond: number;
  /** Values judged wrongly: attacks without a finding, benign values with one. */
  readonly wrong: readonly string[];
}

/** Runs the inspector of each entry's kind; `hits` counts entries with a finding. */
export function measure(entries: readonly CorpusEntry[]): RateRow[] {
  const groups = new Map<string, CorpusEntry[]>();
  for (const e of entries) {
    const key = `${e.kind}\u0000${e.class}`;
    const list = groups.get(key) ?? [];
    list.push(e);
    groups.set(key, list);
  }
  const rows: RateRow[] = [];
  for (const [key, list] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const [kind, cls] = key.split('\u0000') as [ArgumentKind, string];
    const inspect = inspectorForKind(kind);
    let hits = 0;
    let bytes = 0;
    const wrong: string[] = [];
    const started = performance.now();
    for (const e of list) {
      bytes += Buffer.byteLength(e.value, 'utf8');
      const hit = inspect?.(e.value, { kind }) !== undefined;
      if (hit) hits++;
      if (hit !== (e.label === 'attack')) wrong.push(e.value);
    }
    const seconds = (performance.now() - started) / 1000;
    rows.push({ kind, cls, count: list.length, hits, rate: hits / list.length, mbPerSecond: bytes / 1e6 / Math.max(seconds, 1e-9), wrong });
  }
  return rows;
}

export function measureTools(tools: readonly ToolEntry[]): { poisoned: number; detected: number; clean: number; flagged: number } {
  let poisoned = 0;
  let detected = 0;
  let clean = 0;
  let flagged = 0;
  for (const t of tools) {
    const hit = scanTool(t.tool).findings.length > 0;
    if (t.label === 'poisoned') {
      poisoned++;
      if (hit) detected++;
    } else {
      clean++;
      if (hit) flagged++;
    }
  }
  return { poisoned, detected, clean, flagged };
}

const pct = (r: number): string => `${(r * 100).toFixed(2)} %`;

function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<number> {
  const dir = corporaDir();
  if (!corpusPresent(dir)) {
    console.error(`eval:detection: corpus not found in ${dir} (use --corpora DIR or MCP_WARDEN_CORPORA)`);
    return 2;
  }
  await initSqlParser();
  const { attacks, benign, tools } = loadCorpus(dir);
  // One warm-up pass so the throughput column measures steady state, not JIT compilation.
  measure(attacks.slice(0, 2000));
  measure(benign.slice(0, 2000));
  const attackRows = measure(attacks);
  const benignRows = measure(benign);
  const toolRates = measureTools(tools);

  if (process.argv.includes('--json')) {
    const rates = (rows: RateRow[]): Array<Omit<RateRow, 'wrong'>> => rows.map(({ wrong: _w, ...r }) => r);
    console.log(JSON.stringify({ corpora: dir, attacks: rates(attackRows), benign: rates(benignRows), tools: toolRates }));
    return 0;
  }
  console.log(`corpora: ${dir}\n`);
  console.log('Attacks (true-positive rate per kind and class)\n');
  printTable(
    ['kind', 'class', 'count', 'detected', 'TPR', 'MB/s'],
    attackRows.map((r) => [r.kind, r.cls, String(r.count), String(r.hits), pct(r.rate), r.mbPerSecond.toFixed(1)]),
  );
  console.log('\nBenign (false-positive rate per kind)\n');
  printTable(
    ['kind', 'class', 'count', 'flagged', 'FPR', 'MB/s'],
    benignRows.map((r) => [r.kind, r.cls, String(r.count), String(r.hits), pct(r.rate), r.mbPerSecond.toFixed(1)]),
  );
  console.log('\nTool descriptions (mcp-warden tools scan)\n');
  printTable(
    ['set', 'label', 'count', 'flagged', 'rate'],
    [
      ['tool-descriptions', 'poisoned (TPR)', String(toolRates.poisoned), String(toolRates.detected), pct(toolRates.detected / Math.max(1, toolRates.poisoned))],
      ['tool-descriptions', 'clean (FPR)', String(toolRates.clean), String(toolRates.flagged), pct(toolRates.flagged / Math.max(1, toolRates.clean))],
    ],
  );
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
