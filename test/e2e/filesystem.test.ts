/**
 * `@modelcontextprotocol/server-filesystem` (stdio, bridged to Streamable HTTP) behind Envoy
 * + MCP Warden with a read-only policy: reads inside the root pass, traversal and the tools
 * the policy leaves out (write_file, move_file …) are refused before the server sees them.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ArgumentRule } from '../../authz/api/types.js';
import { envoyForTests } from '../support/envoy.js';
import { startFilesystemServer, type RunningMcpServer } from '../support/mcp-servers.js';
import { connect, expectDenied, startProtectedStack, type ProtectedStack } from './stack.js';

const envoy = envoyForTests();
const READ_ONLY = new Set(['read_text_file', 'read_multiple_files', 'list_directory', 'list_allowed_directories', 'directory_tree', 'get_file_info', 'search_files']);

function textOf(result: unknown): string {
  return (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

describe.skipIf(!envoy.available)('server-filesystem behind Envoy + MCP Warden', () => {
  let root: string;
  let upstream: RunningMcpServer;
  let stack: ProtectedStack;
  let agent: Client;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mw-fs-'));
    await mkdir(join(root, 'docs'));
    await writeFile(join(root, 'docs', 'guide.md'), '# Guide\nRead me through the firewall.\n');
    upstream = await startFilesystemServer(root);
    const inRoot: ArgumentRule = { kind: 'path', allow: [`${root}/**`, root] };
    stack = await startProtectedStack({
      upstream,
      name: 'filesystem',
      approve: (t) => READ_ONLY.has(t.name),
      arguments: { read_text_file: { path: inRoot }, list_directory: { path: inRoot }, get_file_info: { path: inRoot }, directory_tree: { path: inRoot } },
    });
    ({ client: agent } = await connect(stack.protectedUrl));
  });
  afterAll(async () => {
    await agent?.close();
    await stack?.stop();
    await upstream?.stop();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('reads and lists inside the allowed root', async () => {
    expect(textOf(await agent.callTool({ name: 'read_text_file', arguments: { path: join(root, 'docs', 'guide.md') } }))).toContain('Read me through the firewall');
    expect(textOf(await agent.callTool({ name: 'list_directory', arguments: { path: join(root, 'docs') } }))).toContain('guide.md');
  });

  it('refuses traversal out of the root', async () => {
    const denial = await expectDenied(() => agent.callTool({ name: 'read_text_file', arguments: { path: `${root}/docs/../../../etc/passwd` } }));
    expect(denial).toMatchObject({ status: 403, stage: 'arguments' });
  });

  it('refuses tools the read-only policy leaves out, so nothing is written', async () => {
    const target = join(root, 'docs', 'planted.md');
    const denial = await expectDenied(() => agent.callTool({ name: 'write_file', arguments: { path: target, content: 'planted' } }));
    expect(denial).toMatchObject({ status: 403, stage: 'tool' });
    expect(denial.message).toContain('write_file');
    expect(existsSync(target)).toBe(false);
  });
});
