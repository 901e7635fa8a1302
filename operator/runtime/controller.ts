/**
 * The controller loop: workers take keys from the queue and run the reconciler, which reads
 * the world for that key and converges it. Errors requeue the key with back-off; a result
 * may ask for a later visit (periodic discovery). Reconcilers are level-triggered: they get
 * a key, never an event, so running one twice changes nothing.
 */
import type { Logger } from './logger.js';
import { WorkQueue, type WorkQueueOptions } from './workqueue.js';

export interface ReconcileResult {
  /** Reconcile this key again after this long even if nothing changes. */
  requeueAfterMs?: number;
}

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export interface ControllerOptions extends WorkQueueOptions {
  workers?: number;
  logger: Logger;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly workers: Promise<void>[] = [];
  private readonly logger: Logger;
  private readonly workerCount: number;

  constructor(
    readonly name: string,
    private readonly reconcile: Reconciler,
    options: ControllerOptions,
  ) {
    this.queue = new WorkQueue(options);
    this.logger = options.logger;
    this.workerCount = options.workers ?? 1;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    for (let i = 0; i < this.workerCount; i++) this.workers.push(this.work());
  }

  /** Stops taking keys and waits for reconciles in flight. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await this.reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        this.logger.warn(
          { controller: this.name, key, retryInMs: delay, err: err instanceof Error ? err.message : String(err) },
          'reconcile failed; will retry',
        );
      } finally {
        this.queue.done(key);
      }
    }
  }
}
