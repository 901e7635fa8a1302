/**
 * Puts a stdio-only MCP server (e.g. @modelcontextprotocol/server-filesystem) on Streamable
 * HTTP: every HTTP session gets its own child process, and JSON-RPC messages are relayed
 * unchanged both ways. Run: `node stdio-bridge.js --port N [--host H] -- COMMAND ARGS…`;
 * prints `listening on <url>`.
 */
import { parseArgs } from 'node:util';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { hostStreamableHttp } from '../../authz/demo/sample-server/http-host.js';

function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: string | number } {
  return 'id' in message && !('method' in message);
}

async function main(argv: string[]): Promise<void> {
  const dashes = argv.indexOf('--');
  if (dashes < 0 || dashes === argv.length - 1) throw new Error('usage: stdio-bridge --port N [--host H] -- COMMAND ARGS…');
  const { values } = parseArgs({ args: argv.slice(0, dashes), options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } } });
  const [command = '', ...args] = argv.slice(dashes + 1);
  const hosted = await hostStreamableHttp({
    host: values.host,
    port: Number(values.port),
    async createSession() {
      const stdio = new StdioClientTransport({ command, args, stderr: 'inherit' });
      return {
        async connect(http) {
          http.onmessage = (message) => void stdio.send(message);
          http.onclose = () => void stdio.close();
          // Responses go back on the POST stream of their request; the server's own requests
          // and notifications go on the session's GET stream.
          stdio.onmessage = (message) => void http.send(message, isResponse(message) ? { relatedRequestId: message.id } : undefined).catch(() => undefined);
          stdio.onclose = () => void http.close();
          await stdio.start();
          await http.start();
        },
        close: () => stdio.close(),
      };
    },
  });
  process.stdout.write(`listening on ${hosted.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await hosted.close();
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`stdio-bridge: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
