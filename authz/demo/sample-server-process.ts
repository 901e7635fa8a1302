/** The deliberately vulnerable sample server (./sample-server/main) as a child process. */
import { fileURLToPath } from 'node:url';
import { startedMcpServer, type RunningMcpServer } from '../runtime/mcp-server-process.js';
import { freePort, nodeModuleCommand, spawnManaged } from '../runtime/processes.js';

export interface SampleServerStartOptions {
  readonly port?: number;
  readonly echo?: (line: string) => void;
}

/** Its entry in the same form as this module (.ts from source, .js when built). */
function sampleServerEntry(): string {
  const ext = fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./sample-server/main${ext}`, import.meta.url));
}

/** Starts the sample server on `sandboxDir` (loopback only) and waits until it listens. */
export async function startSampleServerProcess(sandboxDir: string, options: SampleServerStartOptions = {}): Promise<RunningMcpServer> {
  const port = options.port ?? (await freePort());
  const { command, args } = nodeModuleCommand(sampleServerEntry(), ['--port', String(port), '--host', '127.0.0.1', '--sandbox', sandboxDir]);
  const proc = spawnManaged('sample-server', command, args, options.echo !== undefined ? { echo: options.echo } : {});
  return startedMcpServer('sample-server', proc, port);
}
