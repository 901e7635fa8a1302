/**
 * Keeps the webhook reachable: the served certificate, the Secret it comes from and the
 * MutatingWebhookConfiguration's caBundle, level-triggered. Under failurePolicy Fail a
 * stale caBundle stops every Pod in opted-in namespaces, so the configuration is watched
 * and repaired (caBundle overwritten, configuration deleted) as soon as it differs, and
 * compared again on every certificate check.
 *
 * Order on a CA rollover: the bundle with both CAs is published first; the certificate
 * signed by the new CA is served only once that CA has been published for
 * `caPropagationMs`, so API servers have picked it up. Until then the old certificate,
 * still trusted, is served.
 *
 * Replicas agree through the Secret: a repair publishes the bundle stored there, not a
 * replica's own last view, so a replica that has not yet seen a rollover does not put the
 * old bundle back (and two replicas never undo each other).
 */
import type { KubeClient, KubeObject } from '../runtime/kube-client.js';
import { Informer } from '../runtime/informer.js';
import type { Logger } from '../runtime/logger.js';
import { MUTATING_WEBHOOK_CONFIGURATIONS } from '../runtime/resources.js';
import { ensureWebhookConfiguration, MANAGED_BY_SELECTOR, type WebhookConfigurationOptions } from './configuration.js';
import type { WebhookServer } from './server.js';
import { ensureWebhookTls, issuerIn, splitBundle, storedCaBundle, type TlsOptions, type WebhookTls } from './tls.js';

export interface WebhookKeeperOptions {
  client: KubeClient;
  logger: Logger;
  server: WebhookServer;
  tls: TlsOptions;
  configuration: Omit<WebhookConfigurationOptions, 'caBundlePem'>;
  /** How often the certificate (and the configuration) is checked. */
  checkMs: number;
  /** How long a new CA is published before a certificate it signed is served. */
  caPropagationMs: number;
  /** How often the watched configuration is compared even without events. */
  resyncMs?: number;
}

export class WebhookKeeper {
  private served: WebhookTls;
  private published: string;
  /** When this replica first saw each CA published. */
  private readonly publishedAt = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly informer: Informer<KubeObject>;
  private stopped = false;

  constructor(
    private readonly o: WebhookKeeperOptions,
    initial: WebhookTls,
  ) {
    this.served = initial;
    this.published = initial.caBundlePem;
    this.notePublished(initial.caBundlePem, 0);
    this.informer = new Informer<KubeObject>(o.client, MUTATING_WEBHOOK_CONFIGURATIONS, {
      logger: o.logger,
      labelSelector: MANAGED_BY_SELECTOR,
      resyncMs: o.resyncMs ?? 60_000,
    });
    // Deletion included: a deleted configuration is created again.
    this.informer.on((_event, obj) => {
      if (obj.metadata?.name === o.configuration.name) this.enqueue(() => this.repair());
    });
  }

  /** Publishes the current bundle, then watches the configuration and checks the certificate. */
  async start(): Promise<void> {
    await this.configure(this.published);
    await this.informer.start();
    this.timer = setInterval(() => this.enqueue(() => this.check()), this.o.checkMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.informer.stop();
    await this.chain;
  }

  /** One operation at a time: a repair never races a rotation with an older bundle. */
  private enqueue(op: () => Promise<void>): void {
    this.chain = this.chain
      .then(() => (this.stopped ? undefined : op()))
      .catch((err: unknown) => this.o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'webhook upkeep failed'));
  }

  private notePublished(bundle: string, at: number): void {
    for (const pem of splitBundle(bundle)) if (!this.publishedAt.has(pem)) this.publishedAt.set(pem, at);
  }

  private async configure(caBundlePem: string): Promise<boolean> {
    const wrote = await ensureWebhookConfiguration(this.o.client, { ...this.o.configuration, caBundlePem });
    this.published = caBundlePem;
    this.notePublished(caBundlePem, Date.now());
    return wrote;
  }

  private async repair(): Promise<void> {
    const stored = (await storedCaBundle(this.o.client, this.o.tls)) ?? this.published;
    if (await this.configure(stored)) this.o.logger.warn({ configuration: this.o.configuration.name }, 'webhook configuration differed; restored');
  }

  private async check(): Promise<void> {
    const next = await ensureWebhookTls(this.o.client, this.o.tls);
    if (await this.configure(next.caBundlePem)) this.o.logger.info({ configuration: this.o.configuration.name }, 'webhook caBundle published');
    if (next.certPem === this.served.certPem || this.stopped) return;
    const issuer = issuerIn(next.certPem, next.caBundlePem);
    const waitMs = issuer === undefined ? 0 : (this.publishedAt.get(issuer) ?? Date.now()) + this.o.caPropagationMs - Date.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    if (!this.stopped) {
      this.o.server.setTls(next);
      this.served = next;
      this.o.logger.info({}, 'webhook certificate rotated');
    }
  }
}
