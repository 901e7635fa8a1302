/**
 * The deliberately vulnerable sample MCP server (`mcp-warden demo`, e2e tests): the brief's
 * five tools over a real sandbox folder and a real PostgreSQL (PGlite), served over
 * Streamable HTTP with stateful sessions. Never expose it without MCP Warden in front.
 */
import { resolve } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { hostStreamableHttp, type HostedServer } from './http-host.js';
import { openSampleDatabase } from './database.js';
import { prepareSandbox } from './sandbox.js';
import { registerSampleTools } from './tools.js';

export const SAMPLE_SERVER_NAME = 'mcp-warden-sample';
export const SAMPLE_SERVER_VERSION = '1.0.0';

export interface SampleServerOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly sandboxDir: string;
  readonly path?: string;
}

export interface RunningSampleServer extends HostedServer {
  readonly sandboxDir: string;
}

export async function startSampleServer(options: SampleServerOptions): Promise<RunningSampleServer> {
  const sandboxDir = resolve(options.sandboxDir);
  await prepareSandbox(sandboxDir);
  const db = await openSampleDatabase();
  const hosted = await hostStreamableHttp({
    host: options.host ?? '127.0.0.1',
    port: options.port,
    path: options.path ?? '/mcp',
    async createSession() {
      const server = new McpServer({ name: SAMPLE_SERVER_NAME, version: SAMPLE_SERVER_VERSION }, { capabilities: { tools: {}, logging: {} } });
      registerSampleTools(server, { sandboxDir, db });
      return {
        connect: (transport) => server.connect(transport),
        close: () => server.close(),
      };
    },
  });
  return {
    ...hosted,
    sandboxDir,
    async close() {
      await hosted.close();
      await db.close();
    },
  };
}
