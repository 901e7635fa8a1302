/**
 * `node main.js --port N [--host H] [--sandbox DIR]`: runs the vulnerable sample server on
 * its own (the demo and the e2e harness start it as a child process). Prints
 * `listening on <url>` once it accepts connections.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSampleServer } from './server.js';

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '3001' },
      host: { type: 'string', default: '127.0.0.1' },
      sandbox: { type: 'string' },
      path: { type: 'string', default: '/mcp' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port: '${values.port}' is not a port number\n`);
    return 2;
  }
  const sandboxDir = values.sandbox ?? (await mkdtemp(join(tmpdir(), 'mcp-warden-sandbox-')));
  const server = await startSampleServer({ host: values.host, port, sandboxDir, path: values.path });
  process.stdout.write(`listening on ${server.url} (sandbox ${server.sandboxDir})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`sample server: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
