/**
 * Real MCP servers on loopback for e2e tests and the demo, each a child process in its own
 * process group: the vulnerable sample server, `@modelcontextprotocol/server-everything`
 * (its own Streamable HTTP mode) and `@modelcontextprotocol/server-filesystem` (stdio only,
 * put on HTTP by stdio-bridge).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './envoy.js';
import { freePort, nodeModuleCommand, spawnManaged, waitForPort, type ManagedProcess } from './processes.js';

export interface RunningMcpServer {
  readonly name: string;
  readonly port: number;
  /** The MCP endpoint, e.g. http://127.0.0.1:4567/mcp. */
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** A sibling module of this file in the same form (.ts from source, .js when built). */
function sibling(relative: string): string {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`${relative}${ext}`, import.meta.url));
}

async function started(name: string, proc: ManagedProcess, port: number): Promise<RunningMcpServer> {
  try {
    await waitForPort('127.0.0.1', port, { process: proc, timeoutMs: 60_000 });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { name, port, url: `http://127.0.0.1:${port}/mcp`, process: proc, stop: () => proc.stop() };
}

export interface ServerStartOptions {
  readonly port?: number;
  readonly echo?: (line: string) => void;
}

/** The vulnerable sample server (authz/demo/sample-server) on `sandboxDir`. */
export async function startSampleServerProcess(sandboxDir: string, options: ServerStartOptions = {}): Promise<RunningMcpServer> {
  const port = options.port ?? (await freePort());
  const { command, args } = nodeModuleCommand(sibling('../../authz/demo/sample-server/main'), ['--port', String(port), '--host', '127.0.0.1', '--sandbox', sandboxDir]);
  const proc = spawnManaged('sample-server', command, args, options.echo !== undefined ? { echo: options.echo } : {});
  return started('sample-server', proc, port);
}

/** @modelcontextprotocol/server-everything in its streamableHttp mode. */
export async function startEverythingServer(options: ServerStartOptions = {}): Promise<RunningMcpServer> {
  const port = options.port ?? (await freePort());
  const entry = join(repoRoot(), 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
  const proc = spawnManaged('server-everything', process.execPath, [entry, 'streamableHttp'], { env: { ...process.env, PORT: String(port) } });
  return started('server-everything', proc, port);
}

/** @modelcontextprotocol/server-filesystem on `root`, over the stdio → HTTP bridge. */
export async function startFilesystemServer(root: string, options: ServerStartOptions = {}): Promise<RunningMcpServer> {
  const port = options.port ?? (await freePort());
  const entry = join(repoRoot(), 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js');
  const { command, args } = nodeModuleCommand(sibling('./stdio-bridge'), ['--port', String(port), '--', process.execPath, entry, root]);
  const proc = spawnManaged('server-filesystem', command, args);
  return started('server-filesystem', proc, port);
}

/** The conformance target (test/conformance/target-server): what the conformance suite expects. */
export async function startConformanceTarget(options: ServerStartOptions = {}): Promise<RunningMcpServer> {
  const port = options.port ?? (await freePort());
  const { command, args } = nodeModuleCommand(sibling('../conformance/target-server'), ['--port', String(port)]);
  const proc = spawnManaged('conformance-target', command, args);
  return started('conformance-target', proc, port);
}
