/**
 * A running Envoy sidecar on this machine (`mcp-warden demo`, the tests): the config from
 * `renderEnvoyConfig` written to a watched directory, the binary started on it, and the
 * config rewritten in place on update.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MCPServer } from '../api/types.js';
import { renderEnvoyConfig, type EnvoySidecarConfig, type RenderOptions } from '../sidecar/render.js';
import { writeEnvoyConfig } from '../sidecar/write.js';
import { requireEnvoy } from './envoy-binary.js';
import { spawnManaged, waitForPort, type ManagedProcess } from './processes.js';

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
