/**
 * Benchmark (not a test): CPU time of the prompt-injection `text` inspector on 1 MB strings
 * made of one repeated adversarial unit each (best of five after warm-up), worst first, plus
 * plain prose. The shapes (authz/detectors/adversarial-shapes.ts) are those the linear-time
 * test authz/detectors/sql-prompt.linear.test.ts bounds and more aimed at each marker path:
 * every rule's first characters, mixed case, case-folding and non-ASCII letters, surrogates,
 * and invisible characters every other character.
 * Run: node --import tsx test/bench/text-detector.ts [filter]
 */
import { ADVERSARIAL, cpuMs, fill, MB, TEXT_ADVERSARIAL, TEXT_BENCH_MORE } from '../../authz/detectors/adversarial-shapes.js';
import { inspectText } from '../../authz/detectors/prompt.js';

const PROSE =
  'The quarterly report covers revenue, churn and the hiring plan for the platform team. ' +
  'Please summarise the key risks, list the open questions for finance, and draft a reply to the customer about the delayed invoice. ' +
  'Numbers are in EUR; see https://example.com/q3 and mail ops@example.com if anything is missing.\n';

const filter = process.argv[2];
const units = [...new Set([...ADVERSARIAL, ...TEXT_ADVERSARIAL, ...TEXT_BENCH_MORE])].filter((u) => filter === undefined || u.includes(filter));
const rows: Array<[string, number, string]> = [];
for (const unit of units) {
  const value = fill(unit, MB);
  const rule = inspectText(value, undefined)?.rule ?? '-';
  rows.push([JSON.stringify(unit), cpuMs(() => inspectText(value, undefined)), rule]);
}
rows.sort((a, b) => b[1] - a[1]);
const prose = fill(PROSE, MB);
console.log(`1 MB strings, best of 5 CPU ms after warm-up, ${units.length} shapes, worst first`);
console.log(`${'plain prose'.padEnd(36)} ${cpuMs(() => inspectText(prose, undefined)).toFixed(2).padStart(7)} ms  ${inspectText(prose, undefined)?.rule ?? '-'}`);
for (const [unit, ms, rule] of rows) console.log(`${unit.padEnd(36)} ${ms.toFixed(2).padStart(7)} ms  ${rule}`);
