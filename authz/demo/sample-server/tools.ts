/**
 * The brief's tools, written the way careless MCP servers are: each really does what its
 * name says and each trusts its arguments. MCP Warden is what stands between an agent and
 * these flaws; the e2e tests show every attack working here directly and blocked through it.
 *
 * - run_backup: the filename is pasted into a shell command (command injection);
 * - read_file: the path is joined onto the sandbox without a containment check (traversal);
 * - query: a "read-only" transaction built by string concatenation (`COMMIT; DROP …` escapes);
 * - get_user: advertises an integer id but never checks it, and quotes it into SQL
 *   (`x' OR '1'='1`);
 * - get_customer_list: parameterised, the benign one (pagination, enumeration target).
 *
 * tools/list serves SAMPLE_TOOL_DEFINITIONS verbatim: they are the pins in examples/demo.yaml
 * (the digest covers every byte of them), so they are written out rather than derived from
 * the zod schemas, which only parse the arguments (loosely, where the flaw needs it).
 */
import { exec } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ListToolsRequestSchema, type CallToolResult, type ServerNotification, type ServerRequest, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import { PAGE_SIZE } from './database.js';

export interface SampleToolsContext {
  /** Absolute sandbox directory (data/ and backups/ live inside). */
  readonly sandboxDir: string;
  readonly db: PGlite;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function failure(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

async function progress(extra: Extra, done: number, total: number, message: string): Promise<void> {
  const token = extra._meta?.progressToken;
  if (token === undefined) return;
  await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: done, total, message } });
}

function shell(command: string, cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // Deliberately a shell (/bin/sh -c): this is the flaw run_backup demonstrates.
    exec(command, { cwd, shell: '/bin/sh', timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

function rowsText(rows: readonly unknown[]): string {
  return JSON.stringify(rows, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2);
}

/** What tools/list returns; must stay identical to the definitions in examples/demo.yaml. */
export const SAMPLE_TOOL_DEFINITIONS: readonly Tool[] = [
  {
    name: 'read_file',
    description: 'Read a text file from the demo sandbox folder.',
    inputSchema: {
      type: 'object',
      properties: { path: { type: 'string', description: 'Path of the file, relative to the sandbox folder.' } },
      required: ['path'],
      additionalProperties: false,
    },
  },
  {
    name: 'run_backup',
    description: 'Create a compressed backup of the sandbox folder under the given file name.',
    inputSchema: {
      type: 'object',
      properties: { filename: { type: 'string', description: 'File name of the backup archive, e.g. backup.tar.gz.' } },
      required: ['filename'],
      additionalProperties: false,
    },
  },
  {
    name: 'query',
    description: 'Run a read-only SQL query against the demo customer database.',
    inputSchema: {
      type: 'object',
      properties: { sql: { type: 'string', description: 'A single SELECT statement.' } },
      required: ['sql'],
      additionalProperties: false,
    },
  },
  {
    name: 'get_customer_list',
    description: 'List customers, one page at a time.',
    inputSchema: {
      type: 'object',
      properties: { page: { type: 'integer', minimum: 1, description: 'Page number, starting at 1.' } },
      additionalProperties: false,
    },
  },
  {
    name: 'get_user',
    description: 'Get one user by id.',
    inputSchema: {
      type: 'object',
      properties: { id: { type: 'integer', minimum: 1, description: 'The user id.' } },
      required: ['id'],
      additionalProperties: false,
    },
  },
];

export function registerSampleTools(server: McpServer, ctx: SampleToolsContext): void {
  server.registerTool('read_file', { inputSchema: { path: z.string() } }, async ({ path }) => {
    try {
      return text(await readFile(join(ctx.sandboxDir, path), 'utf8'));
    } catch (err) {
      return failure(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  });

  server.registerTool('run_backup', { inputSchema: { filename: z.string() } }, async ({ filename }, extra) => {
    await progress(extra, 0, 2, 'archiving the sandbox');
    const result = await shell(`tar czf - --exclude=./backups . > backups/${filename}`, ctx.sandboxDir);
    await progress(extra, 2, 2, 'done');
    if (result.code !== 0) return failure(`backup failed (exit ${result.code}): ${result.output}`);
    return text(`backup written to backups/${filename}${result.output !== '' ? `\n${result.output}` : ''}`);
  });

  server.registerTool('query', { inputSchema: { sql: z.string() } }, async ({ sql }) => {
    try {
      // "Read-only" by wrapping the text in a read-only transaction: `COMMIT;` ends it.
      const results = await ctx.db.exec(`BEGIN TRANSACTION READ ONLY; ${sql}; COMMIT;`);
      const rows = results.filter((r) => r.fields.length > 0).flatMap((r) => r.rows);
      return text(rowsText(rows));
    } catch (err) {
      await ctx.db.exec('ROLLBACK;').catch(() => undefined);
      return failure(`query failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  });

  server.registerTool('get_customer_list', { inputSchema: { page: z.number().int().min(1).optional() } }, async ({ page = 1 }) => {
    const result = await ctx.db.query('SELECT id, name, country FROM customers ORDER BY id LIMIT $1 OFFSET $2', [PAGE_SIZE, (page - 1) * PAGE_SIZE]);
    return text(rowsText(result.rows));
  });

  // The schema above says integer; the code takes whatever comes and splices it into SQL.
  server.registerTool('get_user', { inputSchema: { id: z.union([z.number(), z.string()]) } }, async ({ id }) => {
    try {
      const result = await ctx.db.query(`SELECT id, name, email FROM users WHERE id::text = '${id}'`);
      if (result.rows.length === 0) return failure(`no user ${id}`);
      return text(rowsText(result.rows));
    } catch (err) {
      return failure(`lookup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  });

  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [...SAMPLE_TOOL_DEFINITIONS] }));
}
