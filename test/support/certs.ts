/**
 * A throwaway PKI for TLS tests (openssl CLI): a CA, a server certificate for 127.0.0.1 and
 * client certificates whose URI SAN (SPIFFE-style) is the identity Envoy reports as the
 * peer principal. Plus a fetch that presents a client certificate, for the SDK transport.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';

export interface TestPki {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate and key paths by URI SAN. */
  client(uri: string): { cert: string; key: string };
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function leaf(dir: string, name: string, subject: string, san: string, usage: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\n`);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
}

export function makeTestPki(dir: string, clientUris: readonly string[]): TestPki {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=mcp-warden test CA'], dir);
  leaf(dir, 'server', '/CN=127.0.0.1', 'IP:127.0.0.1,DNS:localhost', 'serverAuth');
  const clients = new Map<string, { cert: string; key: string }>();
  clientUris.forEach((uri, i) => {
    leaf(dir, `client${i}`, `/CN=agent-${i}`, `URI:${uri}`, 'clientAuth');
    clients.set(uri, { cert: join(dir, `client${i}.crt`), key: join(dir, `client${i}.key`) });
  });
  return {
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    client(uri) {
      const found = clients.get(uri);
      if (found === undefined) throw new Error(`no client certificate for ${uri}`);
      return found;
    },
  };
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** fetch over node:https with a client certificate (the global fetch cannot present one). */
export function fetchWithClientCertificate(tls: { ca: string; cert?: string; key?: string }): typeof fetch {
  const ca = readFileSync(tls.ca);
  const cert = tls.cert !== undefined ? readFileSync(tls.cert) : undefined;
  const key = tls.key !== undefined ? readFileSync(tls.key) : undefined;
  return ((input: string | URL | Request, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(url, { method: init.method ?? 'GET', headers, ca, cert, key, signal: init.signal ?? undefined }, (res) => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const status = res.statusCode ?? 500;
        const body = NULL_BODY_STATUSES.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        if (body === null) res.resume();
        resolve(new Response(body, { status, statusText: res.statusMessage, headers: responseHeaders }));
      });
      req.on('error', reject);
      req.end(typeof init.body === 'string' ? init.body : undefined);
    })) as typeof fetch;
}
