/**
 * The real Envoy binary for tests and the demo: where it is, how to install it, and a
 * running sidecar built from `renderEnvoyConfig` with its files in a watched directory.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MCPServer } from '../../authz/api/types.js';
import { renderEnvoyConfig, type EnvoySidecarConfig, type RenderOptions } from '../../authz/sidecar/render.js';
import { writeEnvoyConfig } from '../../authz/sidecar/write.js';
import { spawnManaged, waitForPort, type ManagedProcess } from './processes.js';

/** The checkout (or installed package) root: the nearest package.json named mcp-warden. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'mcp-warden') return dir;
      } catch {
        // Not ours; keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the mcp-warden package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Envoy binary: `MCP_WARDEN_ENVOY`, else `.cache/bin/envoy` (scripts/install-envoy.sh),
 * else `envoy` on PATH. Undefined when there is none.
 */
export function findEnvoy(): string | undefined {
  const override = process.env.MCP_WARDEN_ENVOY;
  if (override !== undefined && override !== '') return executable(override) ? override : undefined;
  const cached = join(repoRoot(), '.cache', 'bin', 'envoy');
  if (executable(cached)) return cached;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, 'envoy'))) return join(dir, 'envoy');
  }
  return undefined;
}

export const ENVOY_MISSING = 'Envoy not found: run `bash scripts/install-envoy.sh` (or set MCP_WARDEN_ENVOY to an envoy binary)';

/**
 * For test files: whether Envoy suites can run here. Under CI they must: a missing binary
 * is an error there, never a skip.
 */
export function envoyForTests(): { available: boolean; path: string | undefined } {
  const path = findEnvoy();
  if (path === undefined && process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(`${ENVOY_MISSING} (CI=true: Envoy tests must not be skipped; scripts/install-deps.sh installs it)`);
  }
  return { available: path !== undefined, path };
}

export function requireEnvoy(): string {
  const path = findEnvoy();
  if (path === undefined) throw new Error(ENVOY_MISSING);
  return path;
}

/** Runs scripts/install-envoy.sh (idempotent), showing its progress on `echo`. */
export async function installEnvoy(echo: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<string> {
  const script = join(repoRoot(), 'scripts', 'install-envoy.sh');
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const forward = (chunk: Buffer): void => {
    // pip redraws its progress bar with \r; show each state as a line.
    for (const line of chunk.toString('utf8').split(/[\r\n]+/)) if (line.trim() !== '') echo(line);
  };
  child.stdout.on('data', forward);
  child.stderr.on('data', forward);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`scripts/install-envoy.sh failed (exit ${code})`);
  return requireEnvoy();
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

export interface RunningEnvoy {
  readonly process: ManagedProcess;
  /** The listener port (MCPServer spec.listener.port). */
  readonly port: number;
  readonly adminPort: number;
  readonly dir: string;
  readonly url: string;
  config: EnvoySidecarConfig;
  /** Re-renders and writes the files in place; Envoy reloads them without a restart. */
  update(server: MCPServer, options: Omit<RenderOptions, 'configDir' | 'adminPort' | 'listenAddress'>): Promise<void>;
  /** GET on the admin interface (`/config_dump`, `/stats?filter=…`, `/ready`). */
  admin(path: string): Promise<string>;
  /** Access log lines (JSON) Envoy wrote so far. */
  accessLog(): Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface StartEnvoyOptions extends Omit<RenderOptions, 'configDir' | 'adminPort'> {
  readonly server: MCPServer;
  /** Directory for the config files (default: a new temp dir, removed on stop). */
  readonly dir?: string;
  readonly logLevel?: string;
  readonly echo?: (line: string) => void;
  /** Rewrites the rendered config before it is written (benchmarks: a baseline without ext_authz). */
  readonly transform?: (config: EnvoySidecarConfig) => EnvoySidecarConfig;
}

/** Starts Envoy with the rendered config and waits until its listener accepts connections. */
export async function startEnvoy(options: StartEnvoyOptions): Promise<RunningEnvoy> {
  const binary = requireEnvoy();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'mcp-warden-envoy-')));
  const listenAddress = options.listenAddress ?? '127.0.0.1';
  const { server, dir: _dir, logLevel, echo, transform, ...renderOptions } = options;
  // Admin on an ephemeral port, reported through --admin-address-path.
  let config = renderEnvoyConfig(server, { ...renderOptions, listenAddress, configDir: dir, adminPort: 0 });
  if (transform !== undefined) config = transform(config);
  const { bootstrapPath } = await writeEnvoyConfig(dir, config);
  const adminAddressPath = join(dir, 'admin-address');
  const proc = spawnManaged(
    'envoy',
    binary,
    [
      '-c', bootstrapPath,
      '--admin-address-path', adminAddressPath,
      // Several Envoys share this machine (parallel test files, a demo): no shared memory.
      '--disable-hot-restart',
      '--concurrency', '1',
      // Access log lines show up promptly (Envoy's default is to flush every 10 s).
      '--file-flush-interval-msec', '250',
      '--log-level', logLevel ?? 'warn',
    ],
    echo !== undefined ? { echo } : {},
  );
  const port = server.spec.listener.port;
  try {
    await waitForPort(listenAddress, port, { process: proc, timeoutMs: 30_000 });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const adminAddress = (await readFile(adminAddressPath, 'utf8')).trim();
  const adminPort = Number(adminAddress.slice(adminAddress.lastIndexOf(':') + 1));
  const host = listenAddress.includes(':') ? `[${listenAddress}]` : listenAddress;

  return {
    process: proc,
    port,
    adminPort,
    dir,
    url: `${options.tls !== undefined ? 'https' : 'http'}://${host}:${port}${server.spec.upstream.path}`,
    get config() {
      return config;
    },
    set config(c) {
      config = c;
    },
    async update(next, nextOptions) {
      config = renderEnvoyConfig(next, { ...nextOptions, listenAddress, configDir: dir, adminPort: 0 });
      await writeEnvoyConfig(dir, config);
    },
    async admin(path) {
      const response = await fetch(`http://127.0.0.1:${adminPort}${path}`);
      return response.text();
    },
    accessLog() {
      const lines: Array<Record<string, unknown>> = [];
      for (const line of proc.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.logger === 'mcp-warden-envoy') lines.push(entry);
        } catch {
          // A partial line at the edge of the kept output.
        }
      }
      return lines;
    },
    async stop() {
      await proc.stop();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
