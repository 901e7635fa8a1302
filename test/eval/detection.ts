/**
 * `npm run eval:detection`: runs every argument inspector over the evaluation corpora
 * (attacks.jsonl, benign.jsonl, tool-descriptions.jsonl; format in the corpora README) and
 * prints true-positive rates per kind and attack class, false-positive rates per kind on
 * benign values, both rates for the tool-definition scanner, and scan throughput.
 *
 *   node --import tsx test/eval/detection.ts [--corpora DIR] [--json] [--misses]
 *
 * DIR defaults to $MCP_WARDEN_CORPORA, else ../shared/corpora next to the repository. A
 * folder may hold only some of the three files (a held-out set of attacks alone, say): the
 * missing ones count as empty and are named in the output. `--misses` lists every value
 * judged wrongly under its row. Exits 2 when the folder holds none of the files or a line is
 * not a corpus entry, 0 otherwise (the targets are asserted by the vitest suites, not here).
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
  return CORPUS_FILES.every((f) => existsSync(join(dir, f)));
}

export const CORPUS_FILES = ['attacks.jsonl', 'benign.jsonl', 'tool-descriptions.jsonl'] as const;

/** A corpus line that is not JSON or lacks a field the report needs, with its place. */
export class CorpusLineError extends Error {}

/** The file's entries, or none when it does not exist; blank lines are skipped. */
function readJsonl<T>(file: string, valid: (entry: unknown) => entry is T): T[] {
  if (!existsSync(file)) return [];
  const entries: T[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch (err) {
        throw new CorpusLineError(`${file}:${i + 1}: not JSON (${(err as Error).message})`);
      }
      if (!valid(entry)) throw new CorpusLineError(`${file}:${i + 1}: not a corpus entry (see the corpora README for the fields)`);
      entries.push(entry);
    });
  return entries;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isCorpusEntry(v: unknown): v is CorpusEntry {
  return isRecord(v) && typeof v.value === 'string' && typeof v.kind === 'string' && (v.label === 'attack' || v.label === 'benign') && typeof v.class === 'string';
}

function isToolEntry(v: unknown): v is ToolEntry {
  return isRecord(v) && isRecord(v.tool) && typeof v.tool.name === 'string' && (v.label === 'poisoned' || v.label === 'clean');
}

export function loadCorpus(dir: string): { attacks: CorpusEntry[]; benign: CorpusEntry[]; tools: ToolEntry[] } {
  return {
    attacks: readJsonl(join(dir, 'attacks.jsonl'), isCorpusEntry),
    benign: readJsonl(join(dir, 'benign.jsonl'), isCorpusEntry),
    tools: readJsonl(join(dir, 'tool-descriptions.jsonl'), isToolEntry),
  };
}

export interface RateRow {
  readonly kind: string;
  readonly cls: string;
  readonly count: number;
  readonly hits: number;
  readonly rate: number;
  readonly mbPerSecond: number;
  /** False when no detector inspects the kind (`identifier`, `opaque`, or a kind this build does not know). */
  readonly inspected: boolean;
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
    rows.push({ kind, cls, count: list.length, hits, rate: hits / list.length, mbPerSecond: bytes / 1e6 / Math.max(seconds, 1e-9), inspected: inspect !== undefined, wrong });
  }
  return rows;
}

export interface ToolRates {
  readonly poisoned: number;
  readonly detected: number;
  readonly clean: number;
  readonly flagged: number;
  /** `label: name` of each tool judged wrongly. */
  readonly wrong: readonly string[];
}

export function measureTools(tools: readonly ToolEntry[]): ToolRates {
  let poisoned = 0;
  let detected = 0;
  let clean = 0;
  let flagged = 0;
  const wrong: string[] = [];
  for (const t of tools) {
    const hit = scanTool(t.tool).findings.length > 0;
    if (t.label === 'poisoned') {
      poisoned++;
      if (hit) detected++;
    } else {
      clean++;
      if (hit) flagged++;
    }
    if (hit !== (t.label === 'poisoned')) wrong.push(`${t.label}: ${t.tool.name}`);
  }
  return { poisoned, detected, clean, flagged, wrong };
}

const pct = (r: number): string => `${(r * 100).toFixed(2)} %`;

function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

/** Each wrongly judged value of each row, JSON-quoted and cut to 200 characters. */
function printMisses(title: string, rows: readonly RateRow[]): void {
  for (const r of rows) {
    if (r.wrong.length === 0) continue;
    console.log(`\n${title} ${r.kind}/${r.cls}: ${r.wrong.length}`);
    for (const v of r.wrong) console.log(`  ${JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v)}`);
  }
}

async function main(): Promise<number> {
  const dir = corporaDir();
  const missing = CORPUS_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length === CORPUS_FILES.length) {
    console.error(`eval:detection: no corpus files (${CORPUS_FILES.join(', ')}) in ${dir} (use --corpora DIR or MCP_WARDEN_CORPORA)`);
    return 2;
  }
  let corpus: ReturnType<typeof loadCorpus>;
  try {
    corpus = loadCorpus(dir);
  } catch (err) {
    if (!(err instanceof CorpusLineError)) throw err;
    console.error(`eval:detection: ${err.message}`);
    return 2;
  }
  await initSqlParser();
  const { attacks, benign, tools } = corpus;
  // One warm-up pass so the throughput column measures steady state, not JIT compilation.
  measure(attacks.slice(0, 2000));
  measure(benign.slice(0, 2000));
  const attackRows = measure(attacks);
  const benignRows = measure(benign);
  const toolRates = measureTools(tools);

  if (process.argv.includes('--json')) {
    const rates = (rows: RateRow[]): Array<Omit<RateRow, 'wrong'>> => rows.map(({ wrong: _w, ...r }) => r);
    const { wrong: _t, ...tools } = toolRates;
    console.log(JSON.stringify({ corpora: dir, attacks: rates(attackRows), benign: rates(benignRows), tools }));
    return 0;
  }
  console.log(`corpora: ${dir}`);
  if (missing.length > 0) console.log(`not in the folder, counted as empty: ${missing.join(', ')}`);
  const uninspected = [...new Set([...attackRows, ...benignRows].filter((r) => !r.inspected).map((r) => r.kind))];
  if (uninspected.length > 0) console.log(`no detector inspects these kinds, so nothing in them is flagged: ${uninspected.join(', ')}`);
  console.log('');
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
  if (process.argv.includes('--misses')) {
    printMisses('attacks not detected,', attackRows);
    printMisses('benign values flagged,', benignRows);
    if (toolRates.wrong.length > 0) console.log(`\ntool descriptions judged wrongly: ${toolRates.wrong.length}\n${toolRates.wrong.map((w) => `  ${w}`).join('\n')}`);
  }
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
