/**
 * Accuracy on the DEV corpus (../shared/corpora, see its README) for the kinds sql,
 * sql-fragment and text, and for the tool-definition scanner: the targets of issue 4
 * (TPR ≥ 99 % per attack class, FPR ≤ 0.5 % per kind). Skipped, with a message, only when
 * the corpus folder is absent.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { corporaDir, corpusPresent, loadCorpus, measure, measureTools, type CorpusEntry, type ToolEntry } from '../../test/eval/detection.js';
import { initSqlParser } from './sql.js';

const dir = corporaDir([]);
const present = corpusPresent(dir);
if (!present) console.warn(`sql/prompt corpus tests skipped: no corpus in ${dir} (set MCP_WARDEN_CORPORA)`);

describe.skipIf(!present)('DEV corpus: sql, sql-fragment, text, tool descriptions', () => {
  let attacks: CorpusEntry[] = [];
  let benign: CorpusEntry[] = [];
  let tools: ToolEntry[] = [];

  beforeAll(async () => {
    await initSqlParser();
    ({ attacks, benign, tools } = loadCorpus(dir));
  });

  for (const kind of ['sql', 'sql-fragment'] as const) {
    it(`${kind}: TPR ≥ 99 % for every attack class`, () => {
      const rows = measure(attacks.filter((e) => e.kind === kind));
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(r.rate, `${r.kind}/${r.cls}: ${r.hits}/${r.count}`).toBeGreaterThanOrEqual(0.99);
    });
  }

  for (const kind of ['sql', 'sql-fragment', 'text'] as const) {
    it(`${kind}: FPR ≤ 0.5 % on benign values`, () => {
      const rows = measure(benign.filter((e) => e.kind === kind));
      expect(rows.length).toBe(1);
      for (const r of rows) expect(r.rate, `${r.kind}: ${r.hits}/${r.count} flagged`).toBeLessThanOrEqual(0.005);
    });
  }

  it('tool descriptions: ≥ 95 % of poisoned tools flagged, ≤ 5 % of clean ones', () => {
    const r = measureTools(tools);
    console.log(`tool descriptions: poisoned ${r.detected}/${r.poisoned}, clean flagged ${r.flagged}/${r.clean}`);
    expect(r.detected / r.poisoned).toBeGreaterThanOrEqual(0.95);
    expect(r.flagged / r.clean).toBeLessThanOrEqual(0.05);
    const fetch = tools.find((t) => t.tool.name === 'fetch' && t.label === 'clean');
    expect(fetch, 'the fetch hard negative is in the corpus').toBeDefined();
  });
});
