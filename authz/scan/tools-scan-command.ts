/**
 * `mcp-warden tools scan [FILE…|-] [--output json|table]` (ARCHITECTURE.md, Contracts):
 * scans tool definitions for poisoning. Input, auto-detected per file: a `tools/list` result
 * (`{"tools": […]}`), a JSON array of tools, a single tool, or JSON Lines with one tool (or
 * `{"tool": …}`) per line; `-` or no file reads standard input. Exit 1 when any tool has a
 * finding, 0 when none, 2 on unreadable input.
 */
import { readFile } from 'node:fs/promises';
import type { ToolDefinition } from '../api/types.js';
import { scanTool, type ToolScanResult } from './scan-tool.js';

export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<string>;
}

const PROCESS_IO: CommandIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  },
};

const USAGE = 'usage: mcp-warden tools scan [FILE…|-] [--output json|table]\n';

class InputError extends Error {}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asTool(v: unknown, where: string): ToolDefinition {
  const tool = isRecord(v) && isRecord(v.tool) ? v.tool : v;
  if (!isRecord(tool) || typeof tool.name !== 'string') {
    throw new InputError(`${where}: not a tool definition (an object with a string "name")`);
  }
  return tool as unknown as ToolDefinition;
}

/** Parses one input in any of the accepted forms. */
export function parseToolsInput(text: string, source: string): ToolDefinition[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let whole: unknown;
  let wholeOk = true;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    wholeOk = false;
  }
  if (wholeOk) {
    if (Array.isArray(whole)) return whole.map((t, i) => asTool(t, `${source}: item ${i}`));
    if (isRecord(whole) && Array.isArray(whole.tools)) return whole.tools.map((t, i) => asTool(t, `${source}: tools[${i}]`));
    // A JSON-RPC response wrapping a tools/list result.
    if (isRecord(whole) && isRecord(whole.result) && Array.isArray(whole.result.tools)) {
      return whole.result.tools.map((t, i) => asTool(t, `${source}: result.tools[${i}]`));
    }
    return [asTool(whole, source)];
  }
  const tools: ToolDefinition[] = [];
  const lines = trimmed.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new InputError(`${source}:${i + 1}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    tools.push(asTool(parsed, `${source}:${i + 1}`));
  });
  return tools;
}

function jsonLine(r: ToolScanResult): string {
  return JSON.stringify({
    name: r.name,
    digest: r.digest,
    // `span` (field, start, end) is an addition the contract allows after the three it names.
    findings: r.findings.map((f) => ({ rule: f.rule, severity: f.severity, excerpt: f.excerpt, ...(f.span !== undefined ? { span: f.span } : {}) })),
  });
}

function table(results: readonly ToolScanResult[]): string {
  const rows: string[][] = [['TOOL', 'DIGEST', 'SEVERITY', 'RULE', 'FIELD', 'FINDING']];
  for (const r of results) {
    const digest = r.digest.slice(0, 19);
    if (r.findings.length === 0) rows.push([r.name, digest, '-', 'ok', '', '']);
    for (const f of r.findings) {
      rows.push([r.name, digest, f.severity, f.rule, f.span?.field ?? '', `${f.message}: ${f.excerpt}`]);
    }
  }
  const widths = rows[0]?.map((_, col) => Math.min(40, Math.max(...rows.map((row) => (row[col] ?? '').length)))) ?? [];
  const flagged = results.filter((r) => r.findings.length > 0).length;
  const body = rows
    .map((row) => row.map((cell, col) => (col === row.length - 1 ? cell : cell.slice(0, widths[col]).padEnd(widths[col] ?? 0))).join('  ').trimEnd())
    .join('\n');
  return `${body}\n\n${results.length} tool(s) scanned, ${flagged} with findings\n`;
}

export async function runToolsScanCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  let output: 'table' | 'json' = 'table';
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--output' || arg === '-o') {
      const v = argv[++i];
      if (v !== 'json' && v !== 'table') {
        io.stderr(`mcp-warden tools scan: --output must be json or table\n${USAGE}`);
        return 2;
      }
      output = v;
    } else if (arg.startsWith('--output=')) {
      const v = arg.slice('--output='.length);
      if (v !== 'json' && v !== 'table') {
        io.stderr(`mcp-warden tools scan: --output must be json or table\n${USAGE}`);
        return 2;
      }
      output = v;
    } else if (arg === '--help' || arg === '-h') {
      io.stdout(USAGE);
      return 0;
    } else if (arg.startsWith('-') && arg !== '-') {
      io.stderr(`mcp-warden tools scan: unknown option ${arg}\n${USAGE}`);
      return 2;
    } else {
      files.push(arg);
    }
  }
  if (files.length === 0) files.push('-');

  const tools: ToolDefinition[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = file === '-' ? await io.readStdin() : await readFile(file, 'utf8');
    } catch (err) {
      io.stderr(`mcp-warden tools scan: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}\n`);
      return 2;
    }
    try {
      tools.push(...parseToolsInput(text, file === '-' ? '<stdin>' : file));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      io.stderr(`mcp-warden tools scan: ${err.message}\n`);
      return 2;
    }
  }

  const results = tools.map(scanTool);
  if (output === 'json') {
    for (const r of results) io.stdout(`${jsonLine(r)}\n`);
  } else {
    io.stdout(table(results));
  }
  return results.some((r) => r.findings.length > 0) ? 1 : 0;
}
