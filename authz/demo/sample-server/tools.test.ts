/**
 * The sample server really is vulnerable (each flaw works when called directly, which is
 * what the demo and the e2e tests rely on), benign calls do what they say, and its
 * tools/list is exactly what examples/demo.yaml pins.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { toolDigest } from '../../api/digest.js';
import type { MCPPolicy } from '../../api/types.js';
import { startSampleServer, type RunningSampleServer } from './server.js';

function textOf(result: unknown): string {
  return (result as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

describe('sample MCP server', () => {
  let root: string;
  let server: RunningSampleServer;
  let client: Client;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mw-'));
    server = await startSampleServer({ port: 0, sandboxDir: join(root, 's') });
    client = new Client({ name: 'sample-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('lists exactly the tool definitions pinned in examples/demo.yaml', async () => {
    const text = await readFile(new URL('../../../examples/demo.yaml', import.meta.url), 'utf8');
    const policy = parseAllDocuments(text)
      .map((d) => d.toJS() as { kind?: string })
      .find((d): d is MCPPolicy => d.kind === 'MCPPolicy');
    expect(policy).toBeDefined();
    const pins = new Map((policy?.spec.tools.rules ?? []).map((r) => [r.name, toolDigest({ ...r.definition, name: r.name })]));
    const live = (await client.listTools()).tools;
    expect(live.map((t) => t.name).sort()).toEqual([...pins.keys()].sort());
    for (const tool of live) expect({ tool: tool.name, digest: toolDigest(tool) }).toEqual({ tool: tool.name, digest: pins.get(tool.name) });
  });

  it('benign calls: read a file, page customers, SELECT, look up a user, back up', async () => {
    expect(textOf(await client.callTool({ name: 'read_file', arguments: { path: 'public/readme.txt' } }))).toContain('This file is public');
    const page = JSON.parse(textOf(await client.callTool({ name: 'get_customer_list', arguments: { page: 4 } }))) as Array<{ id: number }>;
    expect(page.map((c) => c.id)).toEqual([31, 32, 33, 34, 35]);
    expect(textOf(await client.callTool({ name: 'query', arguments: { sql: "SELECT name FROM customers WHERE id = 7" } }))).toContain('Customer 7');
    expect(textOf(await client.callTool({ name: 'get_user', arguments: { id: 3 } }))).toContain('Alan Turing');
    expect(textOf(await client.callTool({ name: 'run_backup', arguments: { filename: 'ok.tar.gz' } }))).toContain('backups/ok.tar.gz');
    expect(await readdir(join(server.sandboxDir, 'backups'))).toContain('ok.tar.gz');
  });

  it('the read-only query tool refuses a plain write', async () => {
    const result = await client.callTool({ name: 'query', arguments: { sql: 'DELETE FROM customers' } });
    expect(textOf(result)).toMatch(/read-only transaction/);
  });

  it('command injection in run_backup really runs the attacker\'s command', async () => {
    expect(existsSync(join(server.sandboxDir, 'PWNED'))).toBe(false);
    await client.callTool({ name: 'run_backup', arguments: { filename: 'backup.tar; touch PWNED' } });
    expect(existsSync(join(server.sandboxDir, 'PWNED'))).toBe(true);
  });

  it('path traversal in read_file really reads outside the sandbox', async () => {
    const depth = server.sandboxDir.split('/').length;
    const text = textOf(await client.callTool({ name: 'read_file', arguments: { path: `${'../'.repeat(depth)}etc/passwd` } }));
    expect(text).toMatch(/^root:/m);
  });

  it('SQL injection in get_user really dumps every user', async () => {
    const rows = JSON.parse(textOf(await client.callTool({ name: 'get_user', arguments: { id: "x' OR '1'='1" } }))) as unknown[];
    expect(rows).toHaveLength(4);
  });

  it('`COMMIT; DROP TABLE customers` really escapes the read-only transaction', async () => {
    await client.callTool({ name: 'query', arguments: { sql: 'COMMIT; DROP TABLE customers' } });
    expect(textOf(await client.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) FROM customers' } }))).toMatch(/does not exist/);
  });
});
