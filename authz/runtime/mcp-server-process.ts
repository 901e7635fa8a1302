/**
 * An MCP server running as a child process on loopback (in its own process group), for
 * `mcp-warden demo` and the tests.
 */
import { waitForPort, type ManagedProcess } from './processes.js';

export interface RunningMcpServer {
  readonly name: string;
  readonly port: number;
  /** The MCP endpoint, e.g. http://127.0.0.1:4567/mcp. */
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Waits for `proc` to listen on `port` (stopping it if it never does). */
export async function startedMcpServer(name: string, proc: ManagedProcess, port: number, path = '/mcp'): Promise<RunningMcpServer> {
  try {
    await waitForPort('127.0.0.1', port, { process: proc, timeoutMs: 60_000 });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { name, port, url: `http://127.0.0.1:${port}${path}`, process: proc, stop: () => proc.stop() };
}
