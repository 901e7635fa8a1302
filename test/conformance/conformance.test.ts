/**
 * Transparency: the MCP conformance suite (`@modelcontextprotocol/conformance server`) run
 * against a server directly and through Envoy + MCP Warden, with a default-deny policy that
 * approves exactly that server's tools (pins from its tools/list), gives the same result for
 * every check of every scenario. The server is target-server.ts, which implements what each
 * scenario asks for, so the direct run passes everything and a difference can only come
 * from the firewall. The firewall may refuse attacks; it must not change how a
 * conforming server looks to a conforming client.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoyForTests, repoRoot } from '../support/envoy.js';
import { startConformanceTarget, type RunningMcpServer } from '../support/mcp-servers.js';
import { startProtectedStack, type ProtectedStack } from '../e2e/stack.js';

const envoy = envoyForTests();

interface Check {
  readonly id: string;
  readonly status: string;
  readonly errorMessage?: string;
}

/** scenario → its checks, from the suite's output directory (one folder per scenario run). */
async function readResults(dir: string): Promise<Map<string, Check[]>> {
  const results = new Map<string, Check[]>();
  for (const entry of await readdir(dir)) {
    const scenario = entry.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, '');
    const checks = JSON.parse(await readFile(join(dir, entry, 'checks.json'), 'utf8')) as Check[];
    results.set(scenario, checks);
  }
  return results;
}

async function runConformance(url: string, outputDir: string): Promise<{ output: string; results: Map<string, Check[]> }> {
  const cli = join(repoRoot(), 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
  const child = spawn(process.execPath, [cli, 'server', '--url', url, '-o', outputDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  await new Promise((resolve) => child.once('close', resolve));
  return { output, results: await readResults(outputDir) };
}

function statuses(results: Map<string, Check[]>): Record<string, Record<string, string>> {
  const table: Record<string, Record<string, string>> = {};
  for (const [scenario, checks] of [...results].sort(([a], [b]) => a.localeCompare(b))) {
    table[scenario] = Object.fromEntries(checks.map((c) => [c.id, c.status]));
  }
  return table;
}

describe.skipIf(!envoy.available)('MCP conformance suite: direct vs through Envoy + MCP Warden', () => {
  let upstream: RunningMcpServer;
  let stack: ProtectedStack;
  let work: string;

  beforeAll(async () => {
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 22) throw new Error(`the conformance suite needs Node >= 22; run with node_modules/.bin on PATH (this is ${process.version})`);
    work = await mkdtemp(join(tmpdir(), 'mw-conformance-'));
    upstream = await startConformanceTarget();
    stack = await startProtectedStack({ upstream, name: 'conformance' });
  });
  afterAll(async () => {
    await stack?.stop();
    await upstream?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('every check of every scenario has the same result', async () => {
    const direct = await runConformance(stack.directUrl, join(work, 'direct'));
    const through = await runConformance(stack.protectedUrl, join(work, 'protected'));
    const a = statuses(direct.results);
    const b = statuses(through.results);
    // Not a vacuous comparison: the suite ran its scenarios and the target passes all of them.
    expect(Object.keys(a).length).toBeGreaterThanOrEqual(30);
    const failed = Object.entries(a).filter(([, checks]) => Object.values(checks).some((s) => s === 'FAILURE'));
    expect(failed, direct.output).toEqual([]);
    expect(b, `through Envoy + MCP Warden:\n${through.output}`).toEqual(a);
  }, 180_000);
});
