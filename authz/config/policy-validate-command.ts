/**
 * `mcp-warden policy validate FILE…`: checks MCPServer / MCPPolicy manifests offline (for CI
 * and pre-commit hooks) with exactly the validation the authz service and the CRDs apply.
 * Prints `ok: <file>: N resources` per good file and `file:doc N: path: message` per error.
 * Exit 0 when all are valid, 1 when any error, 2 when a file cannot be read (or bad usage).
 * All arguments form one configuration, so names must be unique across them.
 */
import { parseArgs } from 'node:util';
import { listManifestFiles, loadManifestFiles, type ConfigError } from './load.js';

const USAGE = 'usage: mcp-warden policy validate [--verbose] FILE|DIR…';

export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIO: CommandIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** One error as a line: `file:doc N: spec.x.y: message`. */
export function formatConfigError(error: ConfigError): string {
  const where = error.document > 0 ? `${error.file}:doc ${error.document}` : error.file;
  return error.path === '' ? `${where}: ${error.message}` : `${where}: ${error.path}: ${error.message}`;
}

export async function runPolicyValidateCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { verbose: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (err) {
    io.stderr(`mcp-warden policy validate: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help === true) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    io.stderr(`${USAGE}\n`);
    return 2;
  }

  let unreadable = false;
  const files: string[] = [];
  for (const path of parsed.positionals) {
    try {
      const listed = await listManifestFiles(path);
      if (listed.length === 0) io.stderr(`${path}: no *.yaml, *.yml or *.json files\n`);
      files.push(...listed.filter((f) => !files.includes(f)));
    } catch (err) {
      unreadable = true;
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
      io.stderr(`${path}: cannot read: ${code === 'ENOENT' ? 'no such file or directory' : err instanceof Error ? err.message : String(err)}\n`);
    }
  }

  const result = await loadManifestFiles(files, {
    debug: parsed.values.verbose === true ? (note) => io.stderr(`note: ${note}\n`) : undefined,
  });
  for (const error of result.errors) {
    if (error.reason === 'unreadable') unreadable = true;
    io.stderr(`${formatConfigError(error)}\n`);
  }
  for (const file of result.files) {
    if (result.errors.some((e) => e.file === file)) continue;
    const count = result.origins.filter((o) => o.file === file).length;
    const skipped = result.skipped.filter((s) => s.file === file).length;
    const others = skipped > 0 ? ` (${skipped} other document${skipped === 1 ? '' : 's'} skipped)` : '';
    io.stdout(`ok: ${file}: ${count} resource${count === 1 ? '' : 's'}${others}\n`);
  }
  if (unreadable) return 2;
  return result.errors.length > 0 ? 1 : 0;
}
