/**
 * `mcp-warden policy test` over the demo policy and recorded traffic, run in-process: the
 * brief's attacks are denied and benign calls pass, expectations fail loudly, the clock from
 * `at` drives behaviour rules, and bad input exits 2.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runPolicyTestCommand } from './policy-test-command.js';
import { captureIO, tempInputs } from '../../test/support/command-io.js';

const DEMO = 'examples/demo.yaml';
const TRAFFIC = 'examples/traffic/demo-traffic.jsonl';
const { write, path: inputPath } = tempInputs('warden-policy-test-');

const call = (id: number, name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
const line = (value: Record<string, unknown>) => JSON.stringify(value);

describe('mcp-warden policy test', () => {
  it('passes the demo traffic: benign calls allowed, every attack denied by the expected rule', async () => {
    const io = captureIO();
    expect(await runPolicyTestCommand(['--config', DEMO, TRAFFIC], io)).toBe(0);
    const rows = io.out.split('\n').filter((l) => /^(PASS|FAIL|-)\s/.test(l));
    const lines = (await readFile(TRAFFIC, 'utf8')).split('\n').filter((l) => l.startsWith('{'));
    expect(rows).toHaveLength(lines.length);
    expect(rows.every((r) => r.startsWith('PASS'))).toBe(true);
    expect(io.out).toMatch(/PASS {2}read a public file\s+allowed/);
    expect(io.out).toMatch(/PASS {2}command injection in a backup name\s+denied arguments\/shell-separator/);
    expect(io.out).toMatch(/PASS {2}path traversal\s+denied arguments\/path-traversal/);
    expect(io.out).toMatch(/PASS {2}read-only bypass: COMMIT then DROP\s+denied arguments\/sql-multiple-statements/);
    expect(io.out).toMatch(/PASS {2}SQL tautology as an integer id\s+denied schema\/schema-violation/);
    expect(io.out).toMatch(/PASS {2}unlisted tool\s+denied tool\/tool-not-allowed/);
    expect(io.out).toMatch(/PASS {2}walk user id 22\s+denied behavior\/enumeration/);
    expect(io.out).toContain(`\n${lines.length} requests: ${lines.length} passed, 0 failed, 0 without expectation\n`);
    expect(io.err).toBe('');
  });

  it('fails (exit 1) when a request does not get the expected verdict, saying why', async () => {
    const traffic = await write('wrong.jsonl', [
      line({ name: 'traversal expected to pass', request: call(1, 'read_file', { path: '../../../../etc/passwd' }), expect: 'allow' }),
      line({ name: 'benign expected denied', request: call(2, 'read_file', { path: 'public/readme.txt' }), expect: 'deny' }),
      line({ name: 'wrong rule', request: call(3, 'run_backup', { filename: 'x; rm -rf /' }), expect: 'path-traversal' }),
      line({ request: call(4, 'get_user', { id: 3 }) }),
    ].join('\n'));
    const io = captureIO();
    expect(await runPolicyTestCommand(['--config', DEMO, traffic], io)).toBe(1);
    expect(io.out).toMatch(/FAIL {2}traversal expected to pass\s+denied arguments\/path-traversal {2}\(expected allow: tool "read_file"/);
    expect(io.out).toMatch(/FAIL {2}benign expected denied\s+allowed {2}\(expected deny\)/);
    expect(io.out).toMatch(/FAIL {2}wrong rule\s+denied arguments\/shell-separator/);
    expect(io.out).toMatch(/- {5}line 4\s+allowed/);
    expect(io.out).toContain('4 requests: 0 passed, 3 failed, 1 without expectation');
  });

  it('a rule expectation needs an enforced denial: an Audit policy that only records the attack fails it', async () => {
    const audit = await write('audit.yaml', (await readFile(DEMO, 'utf8')).replace('mode: Enforce', 'mode: Audit'));
    const traffic = await write('audit.jsonl', line({ name: 'traversal', request: call(1, 'read_file', { path: '../../etc/passwd' }), expect: 'path-traversal' }));
    const io = captureIO();
    expect(await runPolicyTestCommand(['--config', audit, traffic, '--output', 'json'], io)).toBe(1);
    const [row, summary] = io.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(row).toMatchObject({ line: 1, name: 'traversal', result: 'fail', expect: 'path-traversal', allowed: true });
    expect(row?.audited).toEqual([expect.objectContaining({ stage: 'arguments', rule: 'path-traversal', status: 403 })]);
    expect(summary).toEqual({ summary: { total: 1, passed: 0, failed: 1, unchecked: 0 } });
  });

  it('takes the clock from "at": the same id walk is enumeration when fast, and allowed when spread over minutes', async () => {
    const walk = (spacingMs: number) =>
      Array.from({ length: 25 }, (_, i) =>
        line({
          name: `id ${i + 1}`,
          ...(spacingMs > 0 ? { at: new Date(Date.UTC(2026, 7, 1) + i * spacingMs).toISOString() } : {}),
          request: { body: call(i + 1, 'get_user', { id: i + 1 }), headers: { 'user-agent': 'walker' } },
          expect: 'allow',
        }),
      ).join('\n');
    const fast = captureIO();
    expect(await runPolicyTestCommand(['--config', DEMO, await write('fast.jsonl', walk(0))], fast)).toBe(1);
    expect(fast.out).toMatch(/FAIL {2}id 22\s+denied behavior\/enumeration/);
    const slow = captureIO();
    expect(await runPolicyTestCommand(['--config', DEMO, await write('slow.jsonl', walk(10_000))], slow)).toBe(0);
    expect(slow.out).toContain('25 requests: 25 passed');
  });

  it('sends each line with its own source, so a session moved to another address is refused', async () => {
    const session = { 'mcp-session-id': 'abc-123', 'mcp-protocol-version': '2025-11-25' };
    const traffic = await write('hijack.jsonl', [
      line({ name: 'owner', request: { body: call(1, 'get_user', { id: 1 }), headers: session, source: '203.0.113.7' }, expect: 'allow' }),
      line({ name: 'owner again', request: { body: call(2, 'get_user', { id: 2 }), headers: session, source: '203.0.113.7' }, expect: 'allow' }),
      line({ name: 'hijacker', request: { body: call(3, 'get_user', { id: 3 }), headers: session, source: { address: '198.51.100.9' } }, expect: 'session-binding-mismatch' }),
    ].join('\n'));
    const io = captureIO();
    expect(await runPolicyTestCommand(['--config', DEMO, traffic], io)).toBe(0);
  });

  it('exits 2 on unreadable traffic, a bad line or a bad configuration, judging nothing', async () => {
    const missing = captureIO();
    expect(await runPolicyTestCommand(['--config', DEMO, inputPath('none.jsonl')], missing)).toBe(2);
    expect(missing.err).toContain('no such file or directory');

    const bad = await write('bad.jsonl', `${line({ request: call(1, 'get_user', { id: 1 }) })}\n{"request": \n`);
    const io = captureIO();
    expect(await runPolicyTestCommand(['--config', DEMO, bad], io)).toBe(2);
    expect(io.err).toContain(`${bad}:2: invalid JSON`);
    expect(io.out).toBe('');

    const badAt = await write('bad-at.jsonl', line({ at: 'yesterday', request: call(1, 'get_user', { id: 1 }) }));
    const atIo = captureIO();
    expect(await runPolicyTestCommand(['--config', DEMO, badAt], atIo)).toBe(2);
    expect(atIo.err).toContain('"at" must be an ISO 8601 timestamp');

    const config = await write('bad.yaml', (await readFile(DEMO, 'utf8')).replace('default: Deny', 'default: Maybe'));
    const cfg = captureIO();
    expect(await runPolicyTestCommand(['--config', config, TRAFFIC], cfg)).toBe(2);
    expect(cfg.err).toContain(`${config}:doc 2: spec.tools.default:`);

    expect(await runPolicyTestCommand([TRAFFIC], captureIO())).toBe(2);
  });

  it('reads traffic from standard input', async () => {
    const io = captureIO(line({ request: call(1, 'query', { sql: 'COMMIT; DROP SCHEMA public CASCADE;' }), expect: 'deny' }));
    expect(await runPolicyTestCommand(['--config', DEMO, '-'], io)).toBe(0);
    expect(io.out).toMatch(/PASS {2}line 1\s+denied arguments\/sql-multiple-statements/);
  });
});
