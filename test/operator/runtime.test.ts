/**
 * The operator runtime against a real API server: leader election on a Lease (hand-over on
 * release, take-over only after a silent holder's lease expires), the informer's restart
 * with back-off (it starts before its CRD exists and catches up once it does), and the
 * webhook certificate kept in a Secret and rotated on schedule.
 */
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../operator/runtime/informer.js';
import { KubeClient, loadKubeConfig, type KubeObject } from '../../operator/runtime/kube-client.js';
import { LeaderElector } from '../../operator/runtime/leader-election.js';
import { silentLogger } from '../../operator/runtime/logger.js';
import { LEASES, MCPSERVERS, NAMESPACES, SECRETS } from '../../operator/runtime/resources.js';
import { ensureWebhookTls } from '../../operator/webhook/tls.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { installCrds } from './crd-install.js';

type Lease = KubeObject & { spec: { holderIdentity?: string; leaseTransitions?: number } };

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('operator runtime on a real API server', () => {
  let cluster: TestCluster;
  let client: KubeClient;

  beforeAll(async () => {
    cluster = await startCluster();
    client = new KubeClient(loadKubeConfig(cluster.kubeconfigPath));
    await client.create(NAMESPACES, undefined, { metadata: { name: 'ops' } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  describe('leader election', () => {
    const timings = { leaseDurationSeconds: 2, renewDeadlineMs: 1000, retryPeriodMs: 100 };
    const elector = (identity: string, name: string): LeaderElector =>
      new LeaderElector(client, { namespace: 'ops', name, identity, logger: silentLogger, ...timings });

    it('elects one leader and hands over at once when it steps down', async () => {
      const a = elector('a', 'handover');
      const b = elector('b', 'handover');
      let aLeads = false;
      let bLeads = false;
      void a.run(() => (aLeads = true), () => (aLeads = false));
      await until('a leads', () => aLeads);
      void b.run(() => (bLeads = true), () => (bLeads = false));
      await new Promise((r) => setTimeout(r, 2500));
      expect(bLeads).toBe(false);
      expect((await client.get<Lease>(LEASES, 'ops', 'handover')).spec.holderIdentity).toBe('a');

      await a.stop();
      // Released: b need not wait out the lease duration.
      const waited = await until('b leads', () => bLeads);
      expect(waited).toBeLessThan(1500);
      const lease = await client.get<Lease>(LEASES, 'ops', 'handover');
      expect(lease.spec.holderIdentity).toBe('b');
      await b.stop();
    });

    it('takes over from a holder that stopped renewing only after its lease expires', async () => {
      const now = new Date().toISOString().replace('Z', '000Z');
      await client.create(LEASES, 'ops', {
        metadata: { name: 'crashed', namespace: 'ops' },
        spec: { holderIdentity: 'ghost', leaseDurationSeconds: 2, acquireTime: now, renewTime: now, leaseTransitions: 3 },
      });
      const b = elector('b', 'crashed');
      let bLeads = false;
      const started = Date.now();
      void b.run(() => (bLeads = true), () => undefined);
      await until('b leads', () => bLeads);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      const lease = await client.get<Lease>(LEASES, 'ops', 'crashed');
      expect(lease.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 4 });
      await b.stop();
    });
  });

  it('an informer started before its CRD exists retries with back-off and then syncs', async () => {
    const informer = new Informer<KubeObject>(client, MCPSERVERS, { logger: silentLogger, backoff: { baseMs: 100, maxMs: 400 }, resyncMs: 300 });
    const events: string[] = [];
    informer.on((event, obj) => events.push(`${event} ${obj.metadata?.name ?? ''}`));
    let synced = false;
    void informer.start().then(() => (synced = true));
    await new Promise((r) => setTimeout(r, 800));
    expect(synced).toBe(false);

    await installCrds(client);
    await client.create(MCPSERVERS, 'ops', { metadata: { name: 'late', namespace: 'ops' }, spec: { selector: { matchLabels: { app: 'x' } }, upstream: { port: 8080 } } });
    await until('synced', () => synced);
    await until('the object in the cache', () => informer.get('ops', 'late') !== undefined);
    await client.create(MCPSERVERS, 'ops', { metadata: { name: 'later', namespace: 'ops' }, spec: { selector: { matchLabels: { app: 'y' } }, upstream: { port: 8080 } } });
    await until('the watch delivers a new object', () => events.includes('add later'));
    await until('a periodic resync replays the cache', () => events.includes('resync late'));
    await informer.stop();
  });

  it('keeps the webhook certificate in a Secret, reuses it, and rotates it on schedule', async () => {
    const t0 = new Date();
    const at = (days: number): (() => Date) => () => new Date(t0.getTime() + days * 24 * 3600_000);
    const options = { namespace: 'ops', secretName: 'webhook-tls', hosts: ['mcp-warden-webhook.ops.svc', '127.0.0.1'] };
    const first = await ensureWebhookTls(client, { ...options, now: at(0) });
    const stored = await client.get(SECRETS, 'ops', 'webhook-tls');
    const cert = new X509Certificate(first.certPem);
    expect(cert.checkHost('mcp-warden-webhook.ops.svc')).toBeDefined();
    expect(cert.verify(new X509Certificate(first.caBundlePem).publicKey)).toBe(true);

    // A restart the next day: the same certificate, no write.
    const again = await ensureWebhookTls(client, { ...options, now: at(1) });
    expect(again).toEqual(first);
    expect((await client.get(SECRETS, 'ops', 'webhook-tls')).metadata?.resourceVersion).toBe(stored.metadata?.resourceVersion);

    // Two thirds into its 90 days: a new serving certificate from the same CA.
    const renewed = await ensureWebhookTls(client, { ...options, now: at(61) });
    expect(renewed.certPem).not.toBe(first.certPem);
    expect(renewed.caBundlePem).toBe(first.caBundlePem);

    // The CA near the end of its life: a new CA, and the bundle trusts old and new.
    const rolled = await ensureWebhookTls(client, { ...options, now: at(4.2 * 365) });
    const bundle = rolled.caBundlePem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
    expect(bundle).toHaveLength(2);
    expect(rolled.caBundlePem).toContain(first.caBundlePem.trim());
    expect(new X509Certificate(rolled.certPem).verify(new X509Certificate(rolled.caBundlePem).publicKey)).toBe(true);
  });
});
