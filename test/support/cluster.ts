/**
 * A real Kubernetes control plane for integration tests: etcd and kube-apiserver (built by
 * scripts/install-kube.sh into .cache/kube/bin) on loopback, with freshly generated
 * certificates, static bearer tokens and a kubeconfig. No controller manager, scheduler or
 * kubelet: Pods are stored (and admission webhooks run) but never scheduled.
 *
 *   const cluster = await startCluster();
 *   … new KubeConfig().loadFromFile(cluster.kubeconfigPath) …
 *   await cluster.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { freePort } from '../../authz/runtime/processes.js';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCertificateAuthority, issueCertificate } from '../../operator/webhook/certificates.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const KUBE_BIN_DIR = process.env.MCP_WARDEN_KUBE_BIN ?? join(repoRoot, '.cache/kube/bin');

/** A user known to the API server through its static token file. */
export interface ClusterUser {
  name: string;
  groups: string[];
}

export interface ClusterOptions {
  /** Users besides `admin` (group system:masters), e.g. to test least-privilege RBAC. */
  users?: ClusterUser[];
  /** How long to wait for /readyz. */
  readyTimeoutMs?: number;
}

export interface TestCluster {
  /** https://127.0.0.1:PORT */
  server: string;
  /** Kubeconfig for `admin` (system:masters). */
  kubeconfigPath: string;
  /** PEM of the CA that signed the API server's serving certificate. */
  caPem: string;
  /** Folder holding certificates, kubeconfigs, data and logs (removed by stop()). */
  dir: string;
  /** Process ids of the two binaries, for tests that check nothing is left behind. */
  pids: { etcd: number; apiserver: number };
  /** Writes a kubeconfig for one of the users passed in `options.users` and returns its path. */
  kubeconfigFor(user: string): Promise<string>;
  /** GET a path on the API server as admin; resolves with status and body. */
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

export function kubeBinariesPresent(): boolean {
  return existsSync(join(KUBE_BIN_DIR, 'kube-apiserver')) && existsSync(join(KUBE_BIN_DIR, 'etcd'));
}

/**
 * A started binary plus a watchdog: a shell that reads our end of a pipe and kills the
 * binary when the pipe closes, so a test runner that dies without calling stop() leaves no
 * etcd or apiserver behind.
 */
interface Supervised {
  name: string;
  child: ChildProcess;
  watchdog: ChildProcess;
  exited: Promise<number | null>;
  logPath: string;
}

function supervise(name: string, binary: string, args: string[], logPath: string): Supervised {
  const log = createWriteStream(logPath);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolveExit) => {
    child.once('exit', (code) => resolveExit(code));
    child.once('error', () => resolveExit(-1));
  });
  const watchdog = spawn('sh', ['-c', 'read -r _ || true; kill -KILL "$1" 2>/dev/null', 'watchdog', String(child.pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  return { name, child, watchdog, exited, logPath };
}

async function stopSupervised(proc: Supervised, graceMs: number): Promise<void> {
  // Disarm the watchdog first: once the binary has exited its pid may be reused.
  proc.watchdog.kill('SIGKILL');
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
    await proc.exited;
    clearTimeout(timer);
  }
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(url: string, caPem: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request(url, { ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  exited: Array<Supervised>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const proc of exited) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${what}:\n${await tail(proc.logPath)}`);
      }
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      const logs = await Promise.all(exited.map(async (p) => `--- ${p.name}\n${await tail(p.logPath)}`));
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}\n${logs.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function kubeconfigYaml(server: string, caPath: string, user: string, token: string): string {
  // JSON is valid YAML and needs no quoting rules.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'mcp-warden-test', cluster: { server, 'certificate-authority': caPath } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: user, context: { cluster: 'mcp-warden-test', user, namespace: 'default' } }],
      'current-context': user,
    },
    null,
    2,
  );
}

/** A port picked by freePort can be taken by another process before etcd or the API server binds it. */
const PORT_ATTEMPTS = 4;

export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  if (!kubeBinariesPresent()) {
    throw new Error(`kube-apiserver and etcd not found in ${KUBE_BIN_DIR}: run scripts/install-kube.sh`);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (err) {
      const lostPort = err instanceof Error && /address already in use/.test(err.message);
      if (!lostPort || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-warden-cluster-'));
  const started: Supervised[] = [];
  try {
    const now = Date.now();
    const notBefore = new Date(now - 60_000);
    const notAfter = new Date(now + 24 * 3600_000);
    const ca = createCertificateAuthority('mcp-warden-test-ca', notBefore, notAfter);
    const serving = issueCertificate(ca, {
      commonName: 'kube-apiserver',
      hosts: ['127.0.0.1', 'localhost', 'kubernetes', 'kubernetes.default.svc'],
      usage: 'server',
      notBefore,
      notAfter,
    });
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const path = (name: string): string => join(dir, name);
    await writeFile(path('ca.crt'), ca.certPem);
    await writeFile(path('apiserver.crt'), serving.certPem);
    await writeFile(path('apiserver.key'), serving.keyPem, { mode: 0o600 });
    await writeFile(path('sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    await writeFile(path('sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });

    const users = [{ name: 'admin', groups: ['system:masters'] }, ...(options.users ?? [])];
    const tokens = new Map(users.map((u) => [u.name, randomBytes(24).toString('hex')]));
    // Static token file: token,user,uid,"group1,group2" (kube-apiserver --token-auth-file).
    const tokenLines = users.map((u) => `${tokens.get(u.name)},${u.name},${u.name},"${u.groups.join(',')}"`);
    await writeFile(path('tokens.csv'), `${tokenLines.join('\n')}\n`, { mode: 0o600 });

    const [etcdClient, etcdPeer, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = supervise(
      'etcd',
      join(KUBE_BIN_DIR, 'etcd'),
      [
        '--name=test',
        `--data-dir=${path('etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
        // Throwaway data: durability is not worth the fsyncs on a shared disk.
        '--unsafe-no-fsync',
        '--log-level=warn',
      ],
      path('etcd.log'),
    );
    started.push(etcd);
    const timeoutMs = options.readyTimeoutMs ?? 90_000;
    await waitFor('etcd /health', async () => (await httpGet(`${etcdUrl}/health`)).status === 200, timeoutMs, [etcd]);

    const apiserver = supervise(
      'kube-apiserver',
      join(KUBE_BIN_DIR, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${securePort}`,
        `--cert-dir=${path('certs')}`,
        `--tls-cert-file=${path('apiserver.crt')}`,
        `--tls-private-key-file=${path('apiserver.key')}`,
        `--client-ca-file=${path('ca.crt')}`,
        `--token-auth-file=${path('tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${path('sa.pub')}`,
        `--service-account-signing-key-file=${path('sa.key')}`,
        '--service-cluster-ip-range=10.96.0.0/24',
        // No controller manager runs to create ServiceAccount token Secrets or default SAs.
        '--disable-admission-plugins=ServiceAccount',
        '--enable-priority-and-fairness=false',
        '--endpoint-reconciler-type=none',
        '--v=1',
      ],
      path('apiserver.log'),
    );
    started.push(apiserver);
    const server = `https://127.0.0.1:${securePort}`;
    const adminToken = tokens.get('admin') ?? '';
    await waitFor(
      'kube-apiserver /readyz',
      async () => (await httpsGet(`${server}/readyz`, ca.certPem, adminToken)).status === 200,
      timeoutMs,
      [etcd, apiserver],
    );

    const kubeconfigPath = path('admin.kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(server, path('ca.crt'), 'admin', adminToken), { mode: 0o600 });
    let stopped = false;
    return {
      server,
      kubeconfigPath,
      caPem: ca.certPem,
      dir,
      pids: { etcd: etcd.child.pid ?? -1, apiserver: apiserver.child.pid ?? -1 },
      async kubeconfigFor(user: string): Promise<string> {
        const token = tokens.get(user);
        if (token === undefined) throw new Error(`no test cluster user '${user}': pass it in options.users`);
        const file = path(`${user}.kubeconfig`);
        await writeFile(file, kubeconfigYaml(server, path('ca.crt'), user, token), { mode: 0o600 });
        return file;
      },
      get: (p: string) => httpsGet(`${server}${p}`, ca.certPem, adminToken),
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        await stopSupervised(apiserver, 15_000);
        await stopSupervised(etcd, 10_000);
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const proc of started.reverse()) await stopSupervised(proc, 5_000);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
