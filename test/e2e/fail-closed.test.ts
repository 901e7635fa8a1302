/**
 * Fail closed on the real wire: with the authz service stopped, or frozen so it answers too
 * late, Envoy denies every request (JSON-RPC error, nothing reaches the MCP server); once the
 * service is back on the same address, traffic resumes with no restart of Envoy or client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { envoyForTests } from '../support/envoy.js';
import { SAMPLE_ARGUMENT_RULES } from '../support/manifests.js';
import { startSampleServerProcess, type RunningMcpServer } from '../support/mcp-servers.js';
import { connect, expectDenied, startProtectedStack, type ProtectedStack } from './stack.js';

const envoy = envoyForTests();
const AUTHZ_TIMEOUT_MS = 400;

function textOf(result: unknown): string {
  return (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

describe.skipIf(!envoy.available)('fail closed', () => {
  let sandbox: string;
  let upstream: RunningMcpServer;
  let stack: ProtectedStack;
  let agent: Client;

  const readme = (): Promise<unknown> => agent.callTool({ name: 'read_file', arguments: { path: 'public/readme.txt' } });

  beforeAll(async () => {
    sandbox = await mkdtemp(join(tmpdir(), 'mw-fail-'));
    upstream = await startSampleServerProcess(sandbox);
    stack = await startProtectedStack({ upstream, name: 'failclosed', arguments: SAMPLE_ARGUMENT_RULES, authzTimeoutMs: AUTHZ_TIMEOUT_MS });
    ({ client: agent } = await connect(stack.protectedUrl));
  });
  afterAll(async () => {
    await agent?.close();
    await stack?.stop();
    await upstream?.stop();
    if (sandbox !== undefined) await rm(sandbox, { recursive: true, force: true });
  });

  it('denies while the authz service is down and resumes when it is back, without restarting Envoy', async () => {
    const envoyPid = stack.envoy.process.pid;
    expect(textOf(await readme())).toContain('public');

    await stack.authz.stop();
    const denial = await expectDenied(readme);
    expect(denial).toMatchObject({ status: 503, stage: 'internal', rule: 'authz-unavailable' });

    await stack.authz.start();
    await expect.poll(async () => textOf(await readme()), { timeout: 10_000, interval: 200 }).toContain('public');
    expect(stack.envoy.process.pid).toBe(envoyPid);
    expect(stack.envoy.process.hasExited()).toBe(false);
  });

  it('denies when the authz service is too slow to answer, and recovers when it answers again', async () => {
    stack.authz.process().signal('SIGSTOP');
    try {
      const started = Date.now();
      const denial = await expectDenied(readme);
      const elapsed = Date.now() - started;
      expect(denial).toMatchObject({ status: 503, stage: 'internal', rule: 'authz-unavailable' });
      // Refused at the ext_authz deadline, not after the client gave up.
      expect(elapsed).toBeGreaterThanOrEqual(AUTHZ_TIMEOUT_MS - 50);
      expect(elapsed).toBeLessThan(AUTHZ_TIMEOUT_MS + 2_000);
    } finally {
      stack.authz.process().signal('SIGCONT');
    }
    await expect.poll(async () => textOf(await readme()), { timeout: 10_000, interval: 200 }).toContain('public');
  });
});
