/**
 * What `mcp-warden demo` (and the tests) do with manifests on this machine: list a live
 * server's tools as discovery would, and write MCPServer/MCPPolicy documents where a running
 * authz service watches them.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { stringify } from 'yaml';
import type { ToolDefinition } from '../api/types.js';

/**
 * tools/list of a live server, as the official client sees it (every page). Some servers
 * list tools only to clients that declare sampling or elicitation, so discovery declares both.
 */
export async function listLiveTools(url: string): Promise<ToolDefinition[]> {
  const client = new Client({ name: 'mcp-warden-discovery', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {}, roots: {} } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const tools: ToolDefinition[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor !== undefined ? { cursor } : undefined);
      tools.push(...(page.tools as ToolDefinition[]));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  } finally {
    await client.close();
  }
}

/** Writes manifests as one multi-document YAML file, atomically (the authz service watches it). */
export async function writeManifests(dir: string, file: string, docs: readonly unknown[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, file);
  const text = docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
  const temporary = join(dir, `.${file}.${process.pid}.tmp`);
  await writeFile(temporary, text);
  await rename(temporary, path);
  return path;
}
