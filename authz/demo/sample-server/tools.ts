/**
 * The brief's tools, written the way careless MCP servers are: each really does what its
 * name says and each trusts its arguments. MCP Warden is what stands between an agent and
 * these flaws; the e2e tests show every attack working here directly and blocked through it.
 *
 * - run_backup: the filename is pasted into a shell command (command injection);
 * - read_file: the path is joined onto the sandbox without a containment check (traversal);
 * - query: a "read-only" transaction built by string concatenation (`COMMIT; DROP …` escapes);
 * - get_user: the id is quoted into SQL (`x' OR '1'='1`);
 * - get_customer_list: parameterised, the benign one (pagination, enumeration target).
 */
import { exec } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
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

export function registerSampleTools(server: McpServer, ctx: SampleToolsContext): void {
  server.registerTool(
    'read_file',
    {
      title: 'Read file',
      description: 'Read a text file from the shared data volume, e.g. /data/public/readme.txt.',
      inputSchema: { path: z.string().describe('Absolute path of the file on the data volume') },
    },
    async ({ path }) => {
      try {
        return text(await readFile(join(ctx.sandboxDir, path), 'utf8'));
      } catch (err) {
        return failure(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    },
  );

  server.registerTool(
    'run_backup',
    {
      title: 'Run backup',
      description: 'Archive the data volume into backups/<filename> as a gzip-compressed tarball.',
      inputSchema: { filename: z.string().describe('Name of the archive to create, e.g. backup.tar.gz') },
    },
    async ({ filename }, extra) => {
      await progress(extra, 0, 2, 'archiving data/');
      const result = await shell(`tar czf - data > backups/${filename}`, ctx.sandboxDir);
      await progress(extra, 2, 2, 'done');
      if (result.code !== 0) return failure(`backup failed (exit ${result.code}): ${result.output}`);
      return text(`backup written to backups/${filename}${result.output !== '' ? `\n${result.output}` : ''}`);
    },
  );

  server.registerTool(
    'query',
    {
      title: 'Query database',
      description: 'Run a read-only SQL query against the customer database and return the rows as JSON.',
      inputSchema: { sql: z.string().describe('A SELECT statement') },
    },
    async ({ sql }) => {
      try {
        // "Read-only" by wrapping the text in a read-only transaction: `COMMIT;` ends it.
        const results = await ctx.db.exec(`BEGIN TRANSACTION READ ONLY; ${sql}; COMMIT;`);
        const rows = results.filter((r) => r.fields.length > 0).flatMap((r) => r.rows);
        return text(rowsText(rows));
      } catch (err) {
        await ctx.db.exec('ROLLBACK;').catch(() => undefined);
        return failure(`query failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  );

  server.registerTool(
    'get_customer_list',
    {
      title: 'List customers',
      description: `List customers, ${PAGE_SIZE} per page, ordered by id.`,
      inputSchema: { page: z.number().int().min(1).max(100_000).describe('Page number, starting at 1') },
    },
    async ({ page }) => {
      const result = await ctx.db.query('SELECT id, name, country FROM customers ORDER BY id LIMIT $1 OFFSET $2', [PAGE_SIZE, (page - 1) * PAGE_SIZE]);
      return text(rowsText(result.rows));
    },
  );

  server.registerTool(
    'get_user',
    {
      title: 'Get user',
      description: 'Look up one user by id, e.g. u-1001.',
      inputSchema: { id: z.string().describe('User id') },
    },
    async ({ id }) => {
      try {
        const result = await ctx.db.query(`SELECT id, name, email FROM users WHERE id = '${id}'`);
        if (result.rows.length === 0) return failure(`no user ${id}`);
        return text(rowsText(result.rows));
      } catch (err) {
        return failure(`lookup failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  );
}
