/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection:
 * a candidate takes the Lease when it is free or its holder has not renewed it within
 * leaseDurationSeconds (judged by when *we* saw the record change, so clock skew between
 * replicas does not matter); the leader renews every retryPeriod and gives up leadership
 * when it could not renew for renewDeadline. Writes carry the resourceVersion read, so two
 * candidates can never both win a round (the loser gets 409 Conflict).
 */
import { isAlreadyExists, isConflict, type KubeClient, type KubeObject } from './kube-client.js';
import type { Logger } from './logger.js';
import { LEASES } from './resources.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  now?: () => Date;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => Date;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
  ) {
    this.leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? (() => new Date());
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until elected, calls `onStartedLeading`, keeps renewing, and calls
   * `onStoppedLeading` once if leadership is lost. Resolves when stop() is called.
   */
  run(onStartedLeading: () => void, onStoppedLeading: () => void): Promise<void> {
    this.loop = (async () => {
      let lastRenew = 0;
      while (!this.stopped) {
        const ok = await this.tryAcquireOrRenew().catch((err: unknown) => {
          this.options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'leader election: lease update failed');
          return false;
        });
        if (this.stopped) break;
        if (ok) {
          lastRenew = Date.now();
          if (!this.leading) {
            this.leading = true;
            this.options.logger.info({ lease: this.options.name, identity: this.options.identity }, 'became leader');
            onStartedLeading();
          }
        } else if (this.leading && Date.now() - lastRenew > this.renewDeadlineMs) {
          this.leading = false;
          this.options.logger.warn({ lease: this.options.name }, 'lost leadership');
          onStoppedLeading();
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.retryPeriodMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
    return this.loop;
  }

  /** Stops campaigning; a leader releases the Lease so a successor need not wait it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.release().catch(() => undefined);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = this.now();
    const lease = await this.client.getOrUndefined<Lease>(LEASES, namespace, name);
    if (lease === undefined) {
      try {
        await this.client.create(LEASES, namespace, {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.leaseDurationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== identity && this.observedAt + duration > Date.now()) return false;
    const takeover = holder !== identity;
    try {
      await this.client.replace(LEASES, {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: this.leaseDurationSeconds,
          renewTime: microTime(now),
          ...(takeover ? { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === '' ? 0 : 1) } : {}),
        },
      });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const lease = await this.client.getOrUndefined<Lease>(LEASES, this.options.namespace, this.options.name);
    if (lease?.spec?.holderIdentity !== this.options.identity) return;
    await this.client.replace(LEASES, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) },
    });
  }
}
