/**
 * Starts a real redis-server (the Debian package, installed by scripts/install-redis.sh) on a
 * free loopback port in a temporary directory, and stops it. No persistence, no system
 * service: each test suite gets its own throwaway instance.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createCertificateAuthority, issueCertificate } from '../../operator/webhook/certificates.js';
import { freePort } from '../../authz/runtime/processes.js';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly password: string | undefined;
  /** Stops the server (SIGTERM, then SIGKILL), keeping its port and directory for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`), e.g. to test recovery. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'redis-server');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

async function waitForReady(child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (output().includes('Ready to accept connections')) return;
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not become ready in ${timeoutMs} ms:\n${output()}`);
}

export interface RedisTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** With `tls`, the server listens for TLS only (`rediss://`), clients need not present certificates. */
export async function startRedis(options: { password?: string; tls?: RedisTlsFiles } = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  if (binary === undefined) {
    throw new Error('redis-server not found on PATH or in /usr/bin: run scripts/install-redis.sh (apt-get install redis-server)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'mcpw-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const listen = options.tls === undefined
      ? ['--port', String(port)]
      : [
          '--port', '0',
          '--tls-port', String(port),
          '--tls-cert-file', options.tls.certFile,
          '--tls-key-file', options.tls.keyFile,
          '--tls-ca-cert-file', options.tls.caFile,
          '--tls-auth-clients', 'no',
        ];
    const args = [
      ...listen,
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--save', '',
      '--appendonly', 'no',
      '--daemonize', 'no',
      '--loglevel', 'notice',
      '--logfile', '',
      ...(options.password !== undefined ? ['--requirepass', options.password] : []),
    ];
    let out = '';
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child = proc;
    await waitForReady(proc, () => out, 10_000);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  const auth = options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    url: `${options.tls === undefined ? 'redis' : 'rediss'}://${auth}127.0.0.1:${port}`,
    port,
    password: options.password,
    stop,
    start: launch,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TlsRedis {
  readonly server: RedisServer;
  /** PEM of the private CA that signed the server's certificate, and a file holding it. */
  readonly caPem: string;
  readonly caFile: string;
  /** Stops the server and removes the certificate files. */
  close(): Promise<void>;
}

/** A TLS-only redis-server whose certificate (for 127.0.0.1 and localhost) a fresh private CA signed. */
export async function startTlsRedis(options: { password?: string } = {}): Promise<TlsRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'mcpw-redis-tls-'));
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 3_600_000);
  const ca = createCertificateAuthority('mcpw test CA', notBefore, notAfter);
  const cert = issueCertificate(ca, { commonName: '127.0.0.1', hosts: ['127.0.0.1', 'localhost'], usage: 'server', notBefore, notAfter });
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'ca.crt') };
  await writeFile(files.certFile, cert.certPem);
  await writeFile(files.keyFile, cert.keyPem);
  await writeFile(files.caFile, ca.certPem);
  const server = await startRedis({ tls: files, ...(options.password !== undefined ? { password: options.password } : {}) });
  return {
    server,
    caPem: ca.certPem,
    caFile: files.caFile,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  /** Seed node URL (any node serves as the entry point). */
  readonly url: string;
  readonly ports: readonly number[];
  close(): Promise<void>;
}

/**
 * A Redis Cluster of `masters` nodes on loopback (no replicas), created with
 * `redis-cli --cluster create` (Debian's redis-tools, installed with redis-server).
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const binary = findRedisServer();
  if (binary === undefined) throw new Error('redis-server not found: run scripts/install-redis.sh');
  const cli = join(binary, '..', 'redis-cli');
  const dir = await mkdtemp(join(tmpdir(), 'mcpw-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      // The cluster bus defaults to port + 10000, which may fall in the kernel's ephemeral range
      // where an outgoing connection can take it: pick it like the client port instead.
      let busPort = await freePort();
      while (busPort === port) busPort = await freePort();
      ports.push(port);
      const nodeDir = join(dir, String(port));
      await mkdir(nodeDir);
      let out = '';
      const proc = spawn(
        binary,
        ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--dir', nodeDir, '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes',
          '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--logfile', ''],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      children.push(proc);
      await waitForReady(proc, () => out, 10_000);
    }
    await run(cli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(ports.map((p) => run(cli, ['-p', String(p), 'cluster', 'info'])));
      if (states.every((s) => s.includes('cluster_state:ok'))) break;
      if (Date.now() > deadline) throw new Error(`redis cluster did not become ok:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${ports[0]}`,
    ports,
    close: async () => {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill('SIGTERM');
            }),
        ),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${command} ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}
