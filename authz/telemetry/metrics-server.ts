/**
 * Plain node:http endpoint for Prometheus scrapes (GET /metrics) and liveness (GET /healthz),
 * optionally with an admin handler for other paths. Kept apart from the gRPC port so
 * scraping never competes with checks for a connection.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseListenAddress } from './listen-address.js';

/**
 * Gets every request whose path is not /metrics or /healthz. Returns true when it has
 * taken the request (it then owns the response, and may answer asynchronously).
 */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(
  listen: string,
  registry: Registry,
  admin?: AdminHandler,
): Promise<MetricsServer> {
  const { host, port } = parseListenAddress(listen, '--metrics-listen');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics' && path !== '/healthz') {
      if (admin?.(req, res) !== true) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${String(err)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
}
