/**
 * The authz service as a real child process (`mcp-warden authz --config … --listen …`), so
 * tests can stop it, freeze it (SIGSTOP) and start it again on the same port.
 */
import { fileURLToPath } from 'node:url';
import { freePort, nodeModuleCommand, spawnManaged, waitForPort, waitForPortClosed, type ManagedProcess } from '../../authz/runtime/processes.js';

export interface AuthzProcess {
  readonly port: number;
  readonly address: { host: string; port: number };
  /** The current process (changes on restart). */
  process(): ManagedProcess;
  output(): string;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop()). */
  start(): Promise<void>;
}

export interface AuthzProcessOptions {
  /** A YAML file or a directory of MCPServer/MCPPolicy manifests. */
  readonly configPath: string;
  readonly port?: number;
  readonly metricsPort?: number;
  readonly logLevel?: string;
  readonly echo?: (line: string) => void;
}

function cliPath(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`../../cli${self.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
}

export async function startAuthzProcess(options: AuthzProcessOptions): Promise<AuthzProcess> {
  const port = options.port ?? (await freePort());
  let current: ManagedProcess | undefined;
  let previousOutput = '';

  async function start(): Promise<void> {
    const extra = options.metricsPort !== undefined ? ['--metrics-listen', `127.0.0.1:${options.metricsPort}`] : [];
    const { command, args } = nodeModuleCommand(cliPath(), [
      'authz',
      '--config', options.configPath,
      '--listen', `127.0.0.1:${port}`,
      '--log-level', options.logLevel ?? 'warn',
      ...extra,
    ]);
    current = spawnManaged('authz', command, args, options.echo !== undefined ? { echo: options.echo } : {});
    try {
      await waitForPort('127.0.0.1', port, { process: current, timeoutMs: 60_000 });
    } catch (err) {
      await current.stop();
      throw err;
    }
  }

  await start();
  return {
    port,
    address: { host: '127.0.0.1', port },
    process() {
      if (current === undefined) throw new Error('authz is not running');
      return current;
    },
    output: () => previousOutput + (current?.output() ?? ''),
    async stop() {
      if (current === undefined) return;
      await current.stop();
      previousOutput += current.output();
      current = undefined;
      await waitForPortClosed('127.0.0.1', port);
    },
    start,
  };
}
