/**
 * `mcp-warden policy test --config PATH TRAFFIC.jsonl [--server NS/NAME] [--output json]`:
 * offline evaluation of recorded traffic. Each line is
 * `{"name"?, "request": {…}, "expect"?: "allow" | "deny" | "<rule-name>", "at"?: ISO time}`
 * (the request as `explain --request` reads it; blank lines and `#` comments are skipped).
 * The lines run in order through one engine with in-memory session and behaviour state; the
 * clock is each line's `at`, else 100 ms after the previous line, so behaviour rules (rate,
 * loops, enumeration) can be tested without waiting. A rule-name expectation passes only when
 * the request is denied by that rule (an audited finding does not count: it was allowed).
 * Prints `PASS|FAIL|-  name  allowed|denied stage/rule` per line and a summary.
 * Exit 1 when any expectation fails, 0 otherwise, 2 on unreadable input or configuration.
 */
import type { Verdict } from '../pipeline/verdict.js';
import { type CommandIO, InputError, isRecord, parseOutputFormat, PROCESS_IO, readInput, runOfflineCommand, UsageError } from './command-io.js';
import { loadConfigSnapshot } from './load-config.js';
import { createOfflineEngine } from './offline-engine.js';
import { parseRequestSpec, toWardenRequest, type RequestSpec } from './request-spec.js';
import { verdictRecord, verdictSummary } from './verdict-report.js';

const USAGE = 'usage: mcp-warden policy test --config PATH TRAFFIC.jsonl|- [--server NS/NAME] [--output json|text]';
const LINE_KEYS = ['name', 'request', 'expect', 'at'];
/** Time between lines that carry no `at`. */
export const DEFAULT_STEP_MS = 100;

export interface TrafficCase {
  /** 1-based line number in the traffic file. */
  readonly line: number;
  readonly name: string;
  readonly request: RequestSpec;
  readonly expect: string | undefined;
  readonly atMs: number | undefined;
}

export type CaseResult = 'pass' | 'fail' | 'none';

/** Parses the whole file first, so a bad line stops the run before anything is judged. */
export function parseTraffic(text: string, source: string): TrafficCase[] {
  const cases: TrafficCase[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const where = `${source}:${line}`;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw new InputError(`${where}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!isRecord(value)) throw new InputError(`${where}: each line is an object {"name"?, "request", "expect"?, "at"?}`);
    const extra = Object.keys(value).find((key) => !LINE_KEYS.includes(key));
    if (extra !== undefined) throw new InputError(`${where}: unknown field "${extra}" (a line has ${LINE_KEYS.join(', ')})`);
    if (value.request === undefined) throw new InputError(`${where}: missing "request"`);
    const { name, expect, at } = value;
    if (name !== undefined && typeof name !== 'string') throw new InputError(`${where}: "name" must be a string`);
    if (expect !== undefined && (typeof expect !== 'string' || expect.trim() === '')) {
      throw new InputError(`${where}: "expect" must be "allow", "deny" or a rule name`);
    }
    let atMs: number | undefined;
    if (at !== undefined) {
      atMs = typeof at === 'string' ? Date.parse(at) : Number.NaN;
      if (Number.isNaN(atMs)) throw new InputError(`${where}: "at" must be an ISO 8601 timestamp (2026-08-01T10:00:00Z)`);
    }
    cases.push({ line, name: name ?? `line ${line}`, request: parseRequestSpec(value.request, where), expect: expect?.trim(), atMs });
  });
  return cases;
}

export function judgeExpectation(expect: string | undefined, verdict: Verdict): CaseResult {
  if (expect === undefined) return 'none';
  if (expect === 'allow') return verdict.allowed ? 'pass' : 'fail';
  if (expect === 'deny') return verdict.allowed ? 'fail' : 'pass';
  return verdict.denial?.rule === expect ? 'pass' : 'fail';
}

const RESULT_TEXT: Record<CaseResult, string> = { pass: 'PASS', fail: 'FAIL', none: '-   ' };

export async function runPolicyTestCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  return runOfflineCommand(
    {
      name: 'policy test',
      usage: USAGE,
      options: {
        config: { type: 'string', short: 'c' },
        server: { type: 'string' },
        output: { type: 'string', short: 'o' },
      },
      run: async ({ values, positionals }) => {
        if (values.config === undefined) throw new UsageError('--config PATH is required');
        if (positionals.length !== 1) throw new UsageError('give exactly one traffic file (or - for standard input)');
        const output = parseOutputFormat(values.output);
        const file = positionals[0] as string;
        const cases = parseTraffic(await readInput(file, io), file === '-' ? '<stdin>' : file);
        const config = await loadConfigSnapshot(values.config, io);
        if (config === undefined) return 2;
        if (values.server !== undefined && !config.snapshot.servers.has(values.server)) {
          throw new InputError(`no MCPServer ${values.server} in the configuration`);
        }

        const offline = await createOfflineEngine(config.snapshot);
        const counts: Record<CaseResult, number> = { pass: 0, fail: 0, none: 0 };
        const width = Math.min(40, Math.max(4, ...cases.map((c) => c.name.length)));
        try {
          let clock: number | undefined;
          for (const c of cases) {
            clock = c.atMs ?? (clock === undefined ? Date.now() : clock + DEFAULT_STEP_MS);
            const request = toWardenRequest(c.request, { requestId: `${file}:${c.line}`, receivedAtMs: clock, serverKey: values.server });
            const verdict = await offline.engine.decide(request);
            const result = judgeExpectation(c.expect, verdict);
            counts[result] += 1;
            if (output === 'json') {
              io.stdout(`${JSON.stringify({ line: c.line, name: c.name, result, expect: c.expect ?? null, ...verdictRecord(verdict) })}\n`);
            } else {
              const why = result === 'fail' ? `  (expected ${c.expect}${verdict.denial !== undefined ? `: ${verdict.denial.message}` : ''})` : '';
              io.stdout(`${RESULT_TEXT[result]}  ${c.name.padEnd(width)}  ${verdictSummary(verdict)}${why}\n`);
            }
          }
        } finally {
          await offline.close();
        }
        const total = cases.length;
        if (output === 'json') {
          io.stdout(`${JSON.stringify({ summary: { total, passed: counts.pass, failed: counts.fail, unchecked: counts.none } })}\n`);
        } else {
          io.stdout(`\n${total} request${total === 1 ? '' : 's'}: ${counts.pass} passed, ${counts.fail} failed, ${counts.none} without expectation\n`);
        }
        return counts.fail > 0 ? 1 : 0;
      },
    },
    argv,
    io,
  );
}
