/**
 * The brief's attacks on the real wire: the official SDK client → Envoy → MCP Warden →
 * the deliberately vulnerable sample server. Each attack is refused at Envoy with a
 * JSON-RPC error naming the stage and rule, and has no effect on the server; the very same
 * attack sent straight to an unprotected twin of the server really works. Benign calls pass.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
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

function textOf(result: unknown): string {
  const content = (result as CallToolResult).content;
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

describe.skipIf(!envoy.available)('sample server behind Envoy + MCP Warden', () => {
  let root: string;
  let protectedSandbox: string;
  let twinSandbox: string;
  let upstream: RunningMcpServer;
  let twin: RunningMcpServer;
  let stack: ProtectedStack;
  let agent: Client;
  let direct: Client;

  beforeAll(async () => {
    // Shallow sandboxes (/tmp/x/…) so the brief's four `../` really reach /etc/passwd.
    root = await mkdtemp(join(tmpdir(), 'mw-'));
    protectedSandbox = join(root, 'p');
    twinSandbox = join(root, 't');
    [upstream, twin] = await Promise.all([startSampleServerProcess(protectedSandbox), startSampleServerProcess(twinSandbox)]);
    stack = await startProtectedStack({ upstream, name: 'sample', arguments: SAMPLE_ARGUMENT_RULES, maxBodyBytes: 16_384 });
    ({ client: agent } = await connect(stack.protectedUrl));
    ({ client: direct } = await connect(twin.url));
  });

  afterAll(async () => {
    await agent?.close();
    await direct?.close();
    await stack?.stop();
    await upstream?.stop();
    await twin?.stop();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  describe('benign traffic passes unchanged', () => {
    it('initialize and tools/list through Envoy match the server itself', async () => {
      expect(agent.getServerVersion()?.name).toBe('mcp-warden-sample');
      const through = await agent.listTools();
      const straight = await direct.listTools();
      expect(through.tools.map((t) => t.name)).toEqual(['read_file', 'run_backup', 'query', 'get_customer_list', 'get_user']);
      expect(through).toEqual(straight);
    });

    it('tools/call reads a public file, lists customers, runs a SELECT and looks up a user', async () => {
      expect(textOf(await agent.callTool({ name: 'read_file', arguments: { path: 'public/readme.txt' } }))).toContain('This file is public');
      const page = JSON.parse(textOf(await agent.callTool({ name: 'get_customer_list', arguments: { page: 2 } }))) as Array<{ id: number }>;
      expect(page.map((c) => c.id)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      const count = JSON.parse(textOf(await agent.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) AS n FROM customers' } }))) as Array<{ n: number }>;
      expect(count[0]?.n).toBe(35);
      expect(textOf(await agent.callTool({ name: 'get_user', arguments: { id: 2 } }))).toContain('Grace Hopper');
    });

    it('streams progress notifications over SSE while a backup runs', async () => {
      const progress: number[] = [];
      const result = await agent.callTool({ name: 'run_backup', arguments: { filename: 'nightly.tar.gz' } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      });
      expect(textOf(result)).toContain('backup written to backups/nightly.tar.gz');
      expect(progress).toEqual([0, 2]);
      expect(await readdir(join(protectedSandbox, 'backups'))).toContain('nightly.tar.gz');
    });
  });

  describe('the brief\'s attacks are refused at Envoy', () => {
    it('command injection in run_backup: `backup.tar; rm -rf / ;`', async () => {
      const denial = await expectDenied(() => agent.callTool({ name: 'run_backup', arguments: { filename: 'backup.tar; rm -rf / ;' } }));
      expect(denial).toMatchObject({ status: 403, stage: 'arguments' });
      expect(denial.rule).toMatch(/^[a-z0-9-]+$/);
      expect(typeof denial.id).toBe('number');
      expect(denial.message).toMatch(/filename/);
    });

    it('command injection that would leave a mark does not reach the server', async () => {
      await expectDenied(() => agent.callTool({ name: 'run_backup', arguments: { filename: 'backup.tar; touch PWNED' } }));
      expect(existsSync(join(protectedSandbox, 'PWNED'))).toBe(false);
      // The same call straight to the unprotected twin runs the attacker's command.
      await direct.callTool({ name: 'run_backup', arguments: { filename: 'backup.tar; touch PWNED' } });
      expect(existsSync(join(twinSandbox, 'PWNED'))).toBe(true);
    });

    it('path traversal in read_file: `../../../../etc/passwd`', async () => {
      const denial = await expectDenied(() => agent.callTool({ name: 'read_file', arguments: { path: '../../../../etc/passwd' } }));
      expect(denial).toMatchObject({ status: 403, stage: 'arguments' });
      expect(typeof denial.id).toBe('number');
      const leaked = textOf(await direct.callTool({ name: 'read_file', arguments: { path: '../../../../etc/passwd' } }));
      expect(leaked).toMatch(/^root:/m);
    });

    it('a path outside the allowed roots is refused even without ../', async () => {
      const denial = await expectDenied(() => agent.callTool({ name: 'read_file', arguments: { path: 'private/salaries.csv' } }));
      expect(denial).toMatchObject({ status: 403, stage: 'arguments' });
      expect(textOf(await direct.callTool({ name: 'read_file', arguments: { path: 'private/salaries.csv' } }))).toContain('salary');
    });

    it('SQL injection in get_user: `x\' OR \'1\'=\'1`', async () => {
      const denial = await expectDenied(() => agent.callTool({ name: 'get_user', arguments: { id: "x' OR '1'='1" } }));
      // The pinned schema says the id is an integer; the server never checks.
      expect(denial).toMatchObject({ stage: 'schema' });
      expect([400, 403]).toContain(denial.status);
      const dumped = JSON.parse(textOf(await direct.callTool({ name: 'get_user', arguments: { id: "x' OR '1'='1" } }))) as unknown[];
      expect(dumped).toHaveLength(4);
    });

    it('read-only bypass in query: `COMMIT; DROP SCHEMA public CASCADE;`', async () => {
      const denial = await expectDenied(() => agent.callTool({ name: 'query', arguments: { sql: 'COMMIT; DROP SCHEMA public CASCADE;' } }));
      expect(denial).toMatchObject({ status: 403, stage: 'arguments' });
      // The protected database still has its tables.
      expect(textOf(await agent.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) AS n FROM customers' } }))).toContain('35');
      // Straight to the twin, the "read-only" tool drops the schema.
      await direct.callTool({ name: 'query', arguments: { sql: 'COMMIT; DROP SCHEMA public CASCADE;' } });
      const after = await direct.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) FROM customers' } });
      expect(textOf(after)).toMatch(/does not exist/);
    });

    it('a tools/call to a tool the policy does not list', async () => {
      const denial = await expectDenied(() => agent.callTool({ name: 'drop_database', arguments: {} }));
      expect(denial).toMatchObject({ status: 403, stage: 'tool' });
      expect(denial.message).toContain('drop_database');
    });

    it('an oversized body gets 413 from Envoy itself', async () => {
      const denial = await expectDenied(() => agent.callTool({ name: 'read_file', arguments: { path: `public/${'a'.repeat(20_000)}` } }));
      expect(denial).toMatchObject({ status: 413, stage: 'transport', rule: 'body-too-large' });
      // Envoy answered: its access log says the payload was too large, no upstream involved.
      await expect.poll(() => stack.envoy.accessLog().some((l) => l.details === 'request_payload_too_large' && l.status === 413), { timeout: 5_000 }).toBe(true);
    });
  });

  it('DELETE ends the session through Envoy', async () => {
    const { client, transport } = await connect(stack.protectedUrl);
    const sessionId = transport.sessionId;
    expect(sessionId).toBeDefined();
    await transport.terminateSession();
    expect(transport.sessionId).toBeUndefined();
    // The old session id is gone on the server.
    const response = await fetch(stack.protectedUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId ?? '', 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
    });
    expect([403, 404]).toContain(response.status);
    await client.close();
  });
});
