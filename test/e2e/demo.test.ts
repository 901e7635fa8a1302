/**
 * `mcp-warden demo` as a person runs it: it prints the protected endpoint and a command
 * that, pasted into a shell, shows an attack being blocked, on a stdout free of log lines;
 * without --config it runs the shipped examples/demo.yaml (pins match the sample server, so
 * benign calls pass; its enumeration rule suspends a session walking user ids); Ctrl-C stops
 * every process it started, and even a SIGKILLed demo leaves no Envoy behind.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { envoyForTests } from '../support/envoy.js';
import { freePort, nodeModuleCommand, spawnManaged, waitForPortClosed, type ManagedProcess } from '../support/processes.js';
import { connect, expectDenied, surfacedDenial } from './stack.js';

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

interface StartedDemo {
  demo: ManagedProcess;
  envoyPid: number;
  samplePid: number;
  attack: string;
  endpoint: string;
  /** What the demo wrote on stdout alone, and on stderr alone. */
  stdout(): string;
  stderr(): string;
}

async function startDemo(port: number, extraArgs: readonly string[] = []): Promise<StartedDemo> {
  const { command, args } = nodeModuleCommand(CLI, ['demo', '--listen', `127.0.0.1:${port}`, ...extraArgs]);
  const demo = spawnManaged('demo', command, args);
  let stdout = '';
  let stderr = '';
  demo.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  demo.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  await demo.waitForLine(/^Press Ctrl-C to stop\./, 90_000);
  const output = demo.output();
  const endpoint = /^protected endpoint: .*$/m.exec(output)?.[0] ?? '';
  const envoyPid = Number(/demo: envoy pid (\d+)/.exec(output)?.[1]);
  const samplePid = Number(/sample MCP server pid (\d+)/.exec(output)?.[1]);
  const attack = /^ {2}(sid=.*)$/m.exec(output)?.[1] ?? '';
  return { demo, envoyPid, samplePid, attack, endpoint, stdout: () => stdout, stderr: () => stderr };
}

describe.skipIf(!envoy.available)('mcp-warden demo', () => {
  const started: ManagedProcess[] = [];
  afterAll(async () => {
    for (const p of started) await p.stop('SIGKILL');
  });

  it('prints the endpoint and a working blocked-attack command, serves benign calls, and stops everything on SIGINT', async () => {
    const port = await freePort();
    // No --config: the shipped examples/demo.yaml.
    const { demo, envoyPid, samplePid, attack, endpoint, stdout, stderr } = await startDemo(port);
    started.push(demo);
    expect(endpoint).toBe(`protected endpoint: http://127.0.0.1:${port}/mcp`);
    expect(stdout()).toContain(`manifests from ${EXAMPLES}demo.yaml`);

    // The instructions on stdout are exactly these lines; the authz service's JSON log (and
    // every other component's) is on stderr.
    const instructions = stdout().slice(stdout().indexOf('\nprotected endpoint:') + 1).split('\n');
    expect(instructions.slice(0, 7)).toEqual([
      `protected endpoint: http://127.0.0.1:${port}/mcp`,
      '',
      'Point an MCP client (Streamable HTTP) at it. To watch an attack being blocked, paste:',
      '',
      `  ${attack}`,
      '',
      'Press Ctrl-C to stop.',
    ]);
    expect(stdout().split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    expect(stderr()).toMatch(/^\{.*"name":"mcp-warden-authz".*config generation 1 loaded/m);
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

    // The example policy's enumeration rule: walking get_user ids suspends the session.
    const refusals: Array<{ id: number; rule: string }> = [];
    for (let id = 1; id <= 30 && refusals.length < 2; id += 1) {
      try {
        await client.callTool({ name: 'get_user', arguments: { id } });
      } catch (err) {
        refusals.push({ id, rule: surfacedDenial(err).rule });
      }
    }
    expect(refusals.map((r) => r.rule)).toEqual(['enumeration', 'session-suspended']);
    expect(refusals[0]!.id).toBeGreaterThan(15);
    // Suspended: even a benign call of the session is refused now.
    const after = await expectDenied(() => client.callTool({ name: 'read_file', arguments: { path: 'public/readme.txt' } }));
    expect(after).toMatchObject({ status: 403, rule: 'session-suspended' });
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
    const { demo, envoyPid, samplePid } = await startDemo(port, ['--config', EXAMPLES]);
    started.push(demo);
    expect(alive(envoyPid)).toBe(true);
    demo.child.kill('SIGKILL');
    await demo.exited;
    await expect.poll(() => alive(envoyPid), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => alive(samplePid), { timeout: 10_000 }).toBe(false);
    await waitForPortClosed('127.0.0.1', port, 5_000);
  }, 180_000);
});
