/**
 * Real MCP servers on loopback for e2e tests, each a child process in its own process group:
 * the vulnerable sample server (started as the demo starts it),
 * `@modelcontextprotocol/server-everything` (its own Streamable HTTP mode) and
 * `@modelcontextprotocol/server-filesystem` (stdio only, put on HTTP by stdio-bridge).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../authz/runtime/package-root.js';
import { startedMcpServer, type RunningMcpServer } from '../../authz/runtime/mcp-server-process.js';
import { freePort, nodeModuleCommand, spawnManaged } from '../../authz/runtime/processes.js';

export type { RunningMcpServer } from '../../authz/runtime/mcp-server-process.js';
export { startSampleServerProcess } from '../../authz/demo/sample-server-process.js';

/** A sibling module of this file in the same form (.ts from source, .js when built). */
function sibling(relative: string): string {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`${relative}${ext}`, import.meta.url));
}

export interface ServerStartOptions {
  readonly port?: number;
  readonly echo?: (line: string) => void;
}

/** @modelcontextprotocol/server-everything in its streamableHttp mode. */
export async function startEverythingServer(options: ServerStartOptions = {}): Promise<RunningMcpServer> {
  const port = options.port ?? (await freePort());
  const entry = join(packageRoot(), 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
  const proc = spawnManaged('server-everything', process.execPath, [entry, 'streamableHttp'], { env: { ...process.env, PORT: String(port) } });
  return startedMcpServer('server-everything', proc, port);
}

/** @modelcontextprotocol/server-filesystem on `root`, over the stdio → HTTP bridge. */
export async function startFilesystemServer(root: string, options: ServerStartOptions = {}): Promise<RunningMcpServer> {
  const port = options.port ?? (await freePort());
  const entry = join(packageRoot(), 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js');
  const { command, args } = nodeModuleCommand(sibling('./stdio-bridge'), ['--port', String(port), '--', process.execPath, entry, root]);
  const proc = spawnManaged('server-filesystem', command, args);
  return startedMcpServer('server-filesystem', proc, port);
}

/** The conformance target (test/conformance/target-server): what the conformance suite expects. */
export async function startConformanceTarget(options: ServerStartOptions = {}): Promise<RunningMcpServer> {
  const port = options.port ?? (await freePort());
  const { command, args } = nodeModuleCommand(sibling('../conformance/target-server'), ['--port', String(port)]);
  const proc = spawnManaged('conformance-target', command, args);
  return startedMcpServer('conformance-target', proc, port);
}
