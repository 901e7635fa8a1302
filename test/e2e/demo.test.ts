/**
 * `mcp-warden demo` as a person runs it: it prints the protected endpoint and a command
 * that, pasted into a shell, shows an attack being blocked; an MCP client gets through
 * with benign calls (examples/demo.yaml's pins match the sample server); Ctrl-C stops every
 * process it started, and even a SIGKILLed demo leaves no Envoy behind.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { envoyForTests } from '../support/envoy.js';
import { freePort, nodeModuleCommand, spawnManaged, waitForPortClosed, type ManagedProcess } from '../support/processes.js';
import { connect } from './stack.js';

const envoy = envoyForTests();
const CLI = fileURLToPath(new URL('../../cli.ts', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startDemo(port: number): Promise<{ demo: ManagedProcess; envoyPid: number; samplePid: number; attack: string; endpoint: string }> {
  const { command, args } = nodeModuleCommand(CLI, ['demo', '--listen', `127.0.0.1:${port}`, '--config', EXAMPLES]);
  const demo = spawnManaged('demo', command, args);
  await demo.waitForLine(/^Press Ctrl-C to stop\./, 90_000);
  const output = demo.output();
  const endpoint = /^protected endpoint: .*$/m.exec(output)?.[0] ?? '';
  const envoyPid = Number(/demo: envoy pid (\d+)/.exec(output)?.[1]);
  const samplePid = Number(/sample MCP server pid (\d+)/.exec(output)?.[1]);
  const attack = /^ {2}(sid=.*)$/m.exec(output)?.[1] ?? '';
  return { demo, envoyPid, samplePid, attack, endpoint };
}

describe.skipIf(!envoy.available)('mcp-warden demo', () => {
  const started: ManagedProcess[] = [];
  afterAll(async () => {
    for (const p of started) await p.stop('SIGKILL');
  });

  it('prints the endpoint and a working blocked-attack command, serves benign calls, and stops everything on SIGINT', async () => {
    const port = await freePort();
    const { demo, envoyPid, samplePid, attack, endpoint } = await startDemo(port);
    started.push(demo);
    expect(endpoint).toBe(`protected endpoint: http://127.0.0.1:${port}/mcp`);
    expect(alive(envoyPid)).toBe(true);
    expect(alive(samplePid)).toBe(true);

    // The printed command, pasted into a shell, shows the attack refused by MCP Warden.
    const shell = spawnSync('bash', ['-c', attack], { encoding: 'utf8', timeout: 30_000 });
    expect(shell.stdout).toContain('HTTP 403');
    const denial = JSON.parse(shell.stdout.slice(0, shell.stdout.indexOf('\nHTTP'))) as { id: number; error: { data: { stage: string; rule: string } } };
    expect(denial.id).toBe(2);
    expect(denial.error.data).toMatchObject({ stage: 'arguments', rule: 'shell-separator' });

    // An MCP client gets through with a benign call: the example pins match the sample server.
    const { client } = await connect(`http://127.0.0.1:${port}/mcp`);
    const result = (await client.callTool({ name: 'read_file', arguments: { path: 'public/readme.txt' } })) as CallToolResult;
    expect(result.content[0]).toMatchObject({ type: 'text' });
    expect(JSON.stringify(result.content)).toContain('This file is public');
    await client.close();

    // Ctrl-C reaches the demo alone (its children run in their own process groups).
    demo.child.kill('SIGINT');
    const { code } = await demo.exited;
    expect(code).toBe(0);
    expect(demo.output()).toContain('demo: stopped');
    expect(alive(envoyPid)).toBe(false);
    expect(alive(samplePid)).toBe(false);
    await waitForPortClosed('127.0.0.1', port, 5_000);
  }, 180_000);

  it('leaves no orphaned Envoy even when the demo itself is killed with SIGKILL', async () => {
    const port = await freePort();
    const { demo, envoyPid, samplePid } = await startDemo(port);
    started.push(demo);
    expect(alive(envoyPid)).toBe(true);
    demo.child.kill('SIGKILL');
    await demo.exited;
    await expect.poll(() => alive(envoyPid), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => alive(samplePid), { timeout: 10_000 }).toBe(false);
    await waitForPortClosed('127.0.0.1', port, 5_000);
  }, 180_000);
});
