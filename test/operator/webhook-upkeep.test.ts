/**
 * The webhook configuration and certificate against a real API server, with failurePolicy
 * Fail (a broken webhook stops Pod creation, so every failure here is visible): a caBundle
 * overwritten by someone else is restored, a deleted configuration is recreated, a live CA
 * rollover keeps Pod creation working throughout (with a second replica that follows it
 * rather than undoing it), and `mcp-warden operator uninstall`
 * removes the configuration a stopped operator leaves behind.
 */
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOperator, type OperatorOptions, type RunningOperator } from '../../operator/operator.js';
import { runOperatorCommand } from '../../operator/main.js';
import { KubeClient, loadKubeConfig, type KubeObject } from '../../operator/runtime/kube-client.js';
import { silentLogger } from '../../operator/runtime/logger.js';
import { LEASES, MUTATING_WEBHOOK_CONFIGURATIONS, NAMESPACES, PODS, SECRETS } from '../../operator/runtime/resources.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { splitBundle } from '../../operator/webhook/tls.js';
import { installCrds } from './crd-install.js';

const NS = 'apps';
const CONFIG = 'mcp-warden-sidecar-injector';
type WebhookConfig = KubeObject & { webhooks: Array<{ name: string; clientConfig: { caBundle?: string } }> };
type Secret = KubeObject & { data: Record<string, string> };

/** The certificate the webhook serves right now. */
async function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert === undefined) reject(new Error('no peer certificate'));
      else resolve(cert);
    });
    socket.on('error', reject);
  });
}

function issuedBy(cert: X509Certificate, caPem: string): boolean {
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('webhook upkeep on a real API server', () => {
  let cluster: TestCluster;
  let client: KubeClient;
  let operator: RunningOperator | undefined;
  let options: OperatorOptions;
  let podCount = 0;

  const createPod = (): Promise<KubeObject> =>
    client.create(PODS, NS, { metadata: { name: `p-${podCount++}`, namespace: NS }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } });
  const caBundle = async (): Promise<string> => {
    const config = await client.get<WebhookConfig>(MUTATING_WEBHOOK_CONFIGURATIONS, undefined, CONFIG);
    return Buffer.from(config.webhooks[0]?.clientConfig.caBundle ?? '', 'base64').toString('utf8');
  };
  const secretBundle = async (): Promise<string> =>
    Buffer.from((await client.get<Secret>(SECRETS, 'mcp-warden', 'mcp-warden-webhook-tls')).data['ca-bundle.crt'] ?? '', 'base64').toString('utf8');

  beforeAll(async () => {
    cluster = await startCluster();
    client = new KubeClient(loadKubeConfig(cluster.kubeconfigPath));
    await installCrds(client);
    await client.create(NAMESPACES, undefined, { metadata: { name: NS, labels: { 'mcpwarden.io/injection': 'enabled' } } });
    await client.create(NAMESPACES, undefined, { metadata: { name: 'mcp-warden' } });
    options = {
      client,
      logger: silentLogger,
      operatorNamespace: 'mcp-warden',
      leaderElect: false,
      authzAddress: { host: '127.0.0.1', port: 9191 },
      webhook: {
        listenHost: '127.0.0.1',
        listenPort: 0,
        endpoint: { url: 'https://127.0.0.1:0/' },
        hosts: ['127.0.0.1'],
        configurationName: CONFIG,
        secretName: 'mcp-warden-webhook-tls',
        failurePolicy: 'Fail',
        rotationCheckMs: 60_000,
      },
    };
    operator = await startOperator(options);
  });
  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
  });

  it('restores a caBundle someone overwrote', async () => {
    await createPod();
    const good = await caBundle();
    expect(good).toBe(await secretBundle());
    const config = await client.get<WebhookConfig>(MUTATING_WEBHOOK_CONFIGURATIONS, undefined, CONFIG);
    const bogus = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    for (const w of config.webhooks) w.clientConfig.caBundle = bogus;
    await client.replace(MUTATING_WEBHOOK_CONFIGURATIONS, config);
    await eventually('the caBundle restored', async () => ((await caBundle()) === good ? true : undefined), 5000);
    // Restored for the API server too: Pods are admitted again.
    await eventually('a pod admitted', () => createPod(), 10_000);
  });

  it('recreates a deleted configuration', async () => {
    await client.delete(MUTATING_WEBHOOK_CONFIGURATIONS, undefined, CONFIG);
    const recreated = await eventually('the configuration recreated', () => client.getOrUndefined<WebhookConfig>(MUTATING_WEBHOOK_CONFIGURATIONS, undefined, CONFIG), 5000);
    expect(recreated.webhooks.map((w) => w.name)).toEqual(['pods.sidecar.mcpwarden.io']);
    expect(await caBundle()).toBe(await secretBundle());
  });

  it('keeps Pod creation working through a live CA rollover', async () => {
    await operator?.stop();
    await client.delete(SECRETS, 'mcp-warden', 'mcp-warden-webhook-tls');
    // A 12 s CA rolls over with a fifth of its life left (~9.6 s in); certificates are checked every 250 ms.
    operator = await startOperator({
      ...options,
      webhook: { ...options.webhook!, caLifetimeMs: 12_000, servingLifetimeMs: 6_000, rotationCheckMs: 250, caPropagationMs: 1500 },
    });
    const firstCa = (await client.get<Secret>(SECRETS, 'mcp-warden', 'mcp-warden-webhook-tls')).data['ca.crt'];
    // A second replica that does not rotate itself (hourly check) but watches the configuration:
    // it must follow the rollover through the Secret, never put its older bundle back.
    const replica = await startOperator({
      ...options,
      webhook: { ...options.webhook!, endpoint: { url: `https://127.0.0.1:${operator.webhookPort ?? 0}/` }, rotationCheckMs: 3600_000 },
    });
    const initialCa = splitBundle(await caBundle())[0];
    const failures: string[] = [];
    const bundles = new Set<string>();
    // When each CA was first seen in the published bundle, and first seen signing the served certificate.
    const published = new Map<string, number>();
    const servedBy = new Map<string, number>();
    const until = Date.now() + 16_000;
    const port = operator.webhookPort ?? 0;
    const watchOrder = (async () => {
      while (Date.now() < until) {
        const served = await servedCertificate(port);
        const seenAt = Date.now();
        const bundle = await caBundle();
        for (const pem of splitBundle(bundle)) if (!published.has(pem)) published.set(pem, seenAt);
        const issuer = splitBundle(bundle).find((pem) => issuedBy(served, pem));
        if (issuer === undefined) failures.push(`served certificate ${served.serialNumber} is signed by no CA in the published bundle`);
        else if (!servedBy.has(issuer)) servedBy.set(issuer, seenAt);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    while (Date.now() < until) {
      try {
        await createPod();
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
      bundles.add(await caBundle());
      await new Promise((r) => setTimeout(r, 150));
    }
    await watchOrder;
    await replica.stop();
    // The new CA was published well before a certificate it signed was served (caPropagationMs 1500).
    const rolledIn = [...servedBy.entries()].filter(([pem]) => pem !== initialCa);
    expect(rolledIn.length).toBeGreaterThan(0);
    for (const [pem, at] of rolledIn) expect(at - (published.get(pem) ?? at)).toBeGreaterThanOrEqual(1000);
    const secret = await client.get<Secret>(SECRETS, 'mcp-warden', 'mcp-warden-webhook-tls');
    expect(secret.data['ca.crt']).not.toBe(firstCa);
    // During the overlap the published bundle held both CAs.
    expect([...bundles].some((b) => (b.match(/BEGIN CERTIFICATE/g) ?? []).length === 2)).toBe(true);
    expect(failures).toEqual([]);
  }, 40_000);

  it('uninstall removes the configuration a stopped operator leaves behind', async () => {
    await operator?.stop();
    operator = undefined;
    // With the operator gone, the dead webhook blocks every Pod in the opted-in namespace.
    await expect(createPod()).rejects.toThrow(/mcpwarden\.io/);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await runOperatorCommand(['uninstall', '--kubeconfig', cluster.kubeconfigPath, '--operator-namespace', 'mcp-warden'])).toBe(0);
      expect(out.mock.calls.map((c) => String(c[0])).join('')).toContain(`deleted MutatingWebhookConfiguration/${CONFIG}`);
    } finally {
      out.mockRestore();
    }
    expect(await client.getOrUndefined(MUTATING_WEBHOOK_CONFIGURATIONS, undefined, CONFIG)).toBeUndefined();
    expect(await client.getOrUndefined(SECRETS, 'mcp-warden', 'mcp-warden-webhook-tls')).toBeUndefined();
    expect(await client.getOrUndefined(LEASES, 'mcp-warden', 'mcp-warden-operator')).toBeUndefined();
    await eventually('a pod admitted without the webhook', () => createPod(), 10_000);
  });
});
