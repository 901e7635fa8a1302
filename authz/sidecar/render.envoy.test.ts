/**
 * The rendered config against the real Envoy binary: `envoy --mode validate` accepts it,
 * and a running Envoy enforces the size limit itself, fails closed without the authz
 * service, and picks up a rewritten config in place.
 */
import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { MCPServer } from '../api/types.js';
import { envoyForTests, requireEnvoy, startEnvoy, validateEnvoyConfig, type RunningEnvoy } from '../../test/support/envoy.js';
import { freePort, spawnManaged, waitForPort } from '../../test/support/processes.js';
import { makeTestPki } from '../../test/support/certs.js';
import { renderEnvoyConfig, staticBootstrap, type JsonObject } from './render.js';
import { envoyConfigFiles } from './write.js';

const envoy = envoyForTests();

function server(listenerPort: number, upstreamPort: number, spec: Partial<MCPServer['spec']> = {}): MCPServer {
  return {
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPServer',
    metadata: { name: 'files', namespace: 'demo' },
    spec: { upstream: { port: upstreamPort, path: '/mcp' }, listener: { port: listenerPort }, trustedProxies: [], ...spec },
  };
}

describe.skipIf(!envoy.available)('rendered config on the real Envoy', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warden-validate-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function validate(doc: JsonObject, name: string): Promise<{ ok: boolean; output: string }> {
    const path = join(dir, name);
    await writeFile(path, stringify(doc));
    return validateEnvoyConfig(path);
  }

  it('envoy --mode validate accepts the config, with and without JWT, trusted proxies and mutual TLS', async () => {
    const pki = makeTestPki(dir, ['spiffe://warden.test/agent']);
    const plain = renderEnvoyConfig(server(15080, 8080), { authzAddress: { host: '127.0.0.1', port: 9191 }, maxBodyBytes: 1_048_576 });
    const full = renderEnvoyConfig(
      server(15080, 8080, {
        trustedProxies: ['10.0.0.0/8', 'fd00::/8'],
        auth: { jwt: { issuer: 'https://idp.example', audiences: ['files-mcp'], jwksUri: 'https://idp.example/jwks' } },
      }),
      {
        authzAddress: { host: 'mcp-warden-authz.mcp-warden.svc', port: 9191 },
        maxBodyBytes: 4096,
        tls: { certificateChainPath: pki.serverCert, privateKeyPath: pki.serverKey, clientCaPath: pki.caCert, requireClientCertificate: true },
      },
    );
    for (const [name, config] of [['plain', plain], ['full', full]] as const) {
      const result = await validate(staticBootstrap(config), `${name}.yaml`);
      expect(result.output).toContain('OK');
      expect(result.ok).toBe(true);
    }
  });

  it('envoy --mode validate rejects a broken config (the check can fail)', async () => {
    const config = renderEnvoyConfig(server(15080, 8080), { authzAddress: { host: '127.0.0.1', port: 9191 }, maxBodyBytes: 1024 });
    const broken = staticBootstrap(config);
    const listeners = (broken.static_resources as JsonObject).listeners as JsonObject[];
    (listeners[0] as JsonObject).per_connection_buffer_limit_bytes = 'lots';
    const result = await validate(broken, 'broken.yaml');
    expect(result.ok).toBe(false);
  });

  describe('a running sidecar', () => {
    let upstream: Server;
    let upstreamHits = 0;
    let running: RunningEnvoy;
    let current: MCPServer;
    const authzAddress = { host: '127.0.0.1', port: 0 };

    beforeAll(async () => {
      upstream = createServer((req, res) => {
        upstreamHits += 1;
        req.resume();
        res.end('{}');
      });
      upstream.listen(0, '127.0.0.1');
      await once(upstream, 'listening');
      const upstreamPort = (upstream.address() as { port: number }).port;
      // Nothing listens here: the authz service is "down" for this suite.
      authzAddress.port = await freePort();
      current = server(await freePort(), upstreamPort);
      running = await startEnvoy({ server: current, authzAddress, maxBodyBytes: 2048 });
    });
    afterAll(async () => {
      await running?.stop();
      upstream?.close();
    });

    const post = (body: string): Promise<Response> =>
      fetch(running.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body });

    it('refuses a body over maxBodyBytes with 413 and a JSON-RPC error, without reaching anyone', async () => {
      const response = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: { blob: 'a'.repeat(4000) } } }));
      expect(response.status).toBe(413);
      expect(response.headers.get('content-type')).toBe('application/json');
      const body = (await response.json()) as { jsonrpc: string; error: { code: number; data: { stage: string; rule: string } } };
      expect(body.jsonrpc).toBe('2.0');
      expect(body.error.data).toMatchObject({ stage: 'transport', rule: 'body-too-large' });
      expect(upstreamHits).toBe(0);
    });

    it('fails closed when the authz service is unreachable', async () => {
      const response = await post('{"jsonrpc":"2.0","id":2,"method":"ping"}');
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error: { data: { stage: string; rule: string } } };
      expect(body.error.data).toMatchObject({ stage: 'internal', rule: 'authz-unavailable' });
      expect(upstreamHits).toBe(0);
    });

    /** A raw HTTP/1.1 request: fetch would resolve `..` and `//` before sending. */
    function raw(method: string, path: string, body?: string): Promise<{ status: number; contentType: string | undefined; text: string }> {
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: running.port, method, path, headers: body !== undefined ? { 'content-type': 'application/json' } : {} }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    }

    it('answers 404 itself for every path but the MCP endpoint, without asking the authz service', async () => {
      const ping = '{"jsonrpc":"2.0","id":4,"method":"ping"}';
      const others: Array<[string, string, string?]> = [
        ['GET', '/'],
        ['GET', '/healthz'],
        ['POST', '/other', ping],
        ['POST', '/mcp/', ping],
        ['POST', '/mcpx', ping],
        ['POST', '/mcp/../admin', ping],
        ['DELETE', '/admin'],
      ];
      for (const [method, path, body] of others) {
        const response = await raw(method, path, body);
        expect(response.status, `${method} ${path}`).toBe(404);
        expect(response.contentType).toBe('application/json');
        const denial = JSON.parse(response.text) as { jsonrpc: string; id: null; error: { data: { stage: string; rule: string } } };
        expect(denial.jsonrpc).toBe('2.0');
        expect(denial.error.data).toMatchObject({ stage: 'transport', rule: 'path-not-mcp-endpoint' });
      }
      // The endpoint itself, with a query string or spelled with `..` or `//` (normalised by
      // Envoy), goes to ext_authz: the authz service is down in this suite, so 503.
      for (const path of ['/mcp', '/mcp?x=1', '/a/../mcp', '//mcp']) {
        expect((await raw('POST', path, ping)).status, path).toBe(503);
      }
      expect(upstreamHits).toBe(0);
    });

    it('reloads a rewritten config in place, without restarting Envoy', async () => {
      const pid = running.process.pid;
      const before = running.config.lds.version_info;
      await running.update(current, { authzAddress, maxBodyBytes: 65_536 });
      expect(running.config.lds.version_info).not.toBe(before);
      // Envoy reports the version of the LDS file it applied last.
      const applied = `listener_manager.lds.version_text: "${String(running.config.lds.version_info)}"`;
      const deadline = Date.now() + 10_000;
      let stats = '';
      while (Date.now() < deadline) {
        stats = await running.admin('/stats?filter=listener_manager.lds');
        if (stats.includes(applied)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(stats).toContain(applied);
      expect(stats).toContain('listener_manager.lds.update_rejected: 0');
      // The 4000-byte body now fits; it reaches ext_authz, which is down: fail closed.
      const response = await post(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping', params: { pad: 'a'.repeat(4000) } }));
      expect(response.status).toBe(503);
      expect(running.process.pid).toBe(pid);
      expect(running.process.hasExited()).toBe(false);
      expect(upstreamHits).toBe(0);
    });
  });

  it('reloads when the directory is swapped the way kubelet updates a mounted ConfigMap', async () => {
    // kubelet's atomic writer: files live in a timestamped folder, `..data` points at it,
    // each file name is a symlink through `..data`, and an update renames a new `..data`.
    const mount = await mkdtemp(join(tmpdir(), 'warden-configmap-'));
    let generation = 0;
    const publish = async (files: Record<string, string>): Promise<void> => {
      generation += 1;
      const folder = `..2026_${generation}`;
      await mkdir(join(mount, folder));
      for (const [name, text] of Object.entries(files)) await writeFile(join(mount, folder, name), text);
      await symlink(folder, join(mount, '..data_tmp'));
      await rename(join(mount, '..data_tmp'), join(mount, '..data'));
      for (const name of Object.keys(files)) await symlink(join('..data', name), join(mount, name)).catch(() => undefined);
    };
    const target = server(await freePort(), 8080);
    const render = (maxBodyBytes: number) => renderEnvoyConfig(target, { authzAddress: { host: '127.0.0.1', port: 9191 }, maxBodyBytes, configDir: mount, listenAddress: '127.0.0.1', adminPort: 0 });
    const first = render(1024);
    await publish(envoyConfigFiles(first));
    const adminPath = join(mount, '..admin');
    const proc = spawnManaged('envoy-configmap', requireEnvoy(), ['-c', join(mount, 'envoy.yaml'), '--admin-address-path', adminPath, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warn']);
    try {
      await waitForPort('127.0.0.1', target.spec.listener.port, { process: proc });
      const admin = (await readFile(adminPath, 'utf8')).trim();
      const applied = async (): Promise<string> => (await fetch(`http://${admin}/stats?filter=listener_manager.lds.version_text`)).text();
      expect(await applied()).toContain(String(first.lds.version_info));
      const second = render(4096);
      await publish(envoyConfigFiles(second));
      await expect.poll(applied, { timeout: 10_000 }).toContain(String(second.lds.version_info));
      expect(proc.hasExited()).toBe(false);
    } finally {
      await proc.stop();
      await rm(mount, { recursive: true, force: true });
    }
  });
});
