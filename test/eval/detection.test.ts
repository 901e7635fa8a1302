/**
 * `npm run eval:detection` on folders other than the DEV corpus (a held-out set may hold only
 * some of the files): rates per row, the files it lacks and the kinds nothing inspects named,
 * `--misses` listing wrong verdicts, and exit 2 with file:line for a line that is not an entry.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, 'detection.ts');

async function evaluate(dir: string, ...flags: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', SCRIPT, '--corpora', dir, ...flags]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const line = (value: string, kind: string, label: string, cls: string): string => JSON.stringify({ value, kind, label, class: cls, source: 'test' });

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eval-detection-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('eval:detection on a partial folder', () => {
  it('measures the attacks it has, names the missing files and the uninspected kinds, and lists misses', async () => {
    await writeFile(
      join(dir, 'attacks.jsonl'),
      [
        line('../../../../etc/passwd', 'path', 'attack', 'traversal'),
        line('reports/q3.pdf', 'path', 'attack', 'traversal'),
        line("x' OR '1'='1", 'sql-fragment', 'attack', 'sqli'),
        line('abc', 'identifier', 'attack', 'odd'),
        '',
      ].join('\n'),
    );
    const { code, stdout } = await evaluate(dir, '--misses');
    expect(code).toBe(0);
    expect(stdout).toContain('not in the folder, counted as empty: benign.jsonl, tool-descriptions.jsonl');
    expect(stdout).toContain('no detector inspects these kinds, so nothing in them is flagged: identifier');
    expect(stdout).toMatch(/\| path\s+\| traversal \|\s+2 \|\s+1 \|\s+50\.00 % \|/);
    expect(stdout).toMatch(/\| sql-fragment \| sqli\s+\|\s+1 \|\s+1 \| 100\.00 % \|/);
    expect(stdout).toContain('attacks not detected, path/traversal: 1\n  "reports/q3.pdf"');
  });

  it('refuses a line that is not a corpus entry with its file and line number', async () => {
    await writeFile(join(dir, 'benign.jsonl'), `${line('hello', 'text', 'benign', 'none')}\n{"value": 3}\n`);
    const { code, stderr } = await evaluate(dir);
    expect(code).toBe(2);
    expect(stderr).toContain(`${join(dir, 'benign.jsonl')}:2: not a corpus entry`);
  });

  it('exits 2 when the folder holds no corpus file', async () => {
    const { code, stderr } = await evaluate(join(dir, 'nowhere'));
    expect(code).toBe(2);
    expect(stderr).toContain('no corpus files');
  });
});
