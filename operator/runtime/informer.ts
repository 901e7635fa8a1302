/**
 * The one wrapper around @kubernetes/client-node's ListWatch. Its watch does not restart
 * itself after an error, so this adds: restart with exponential back-off, re-list on
 * 410 Gone (ListWatch drops its resourceVersion, we restart it), a periodic resync that
 * replays every cached object to handlers (level-triggered controllers catch anything a
 * lost event hid), and a promise that resolves once the first list is in the cache.
 */
import { ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { backoffDelay, jittered } from './backoff.js';
import type { KubeClient, KubeObject } from './kube-client.js';
import type { Logger } from './logger.js';
import { resourcePath, type ResourceType } from './resources.js';

export type InformerEvent = 'add' | 'update' | 'delete' | 'resync';
export type InformerHandler<T> = (event: InformerEvent, obj: T) => void;

export interface InformerOptions {
  /** Watch one namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  /** Replay all cached objects this often (0: never). */
  resyncMs?: number;
  logger: Logger;
  backoff?: { baseMs: number; maxMs: number };
}

export class Informer<T extends KubeObject> {
  private readonly listWatch: ListWatch<KubernetesObject>;
  private readonly handlers: InformerHandler<T>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private syncedResolve: (() => void) | undefined;
  readonly synced: Promise<void>;

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly options: InformerOptions,
  ) {
    const path = resourcePath(type, options.namespace);
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = await client.list<KubeObject>(type, options.namespace, { labelSelector: options.labelSelector });
      // ListWatch fills its cache synchronously right after this promise settles; a
      // macrotask later the cache is complete.
      this.failures = 0;
      setImmediate(() => this.syncedResolve?.());
      return result as KubernetesListObject<KubernetesObject>;
    };
    this.listWatch = new ListWatch(path, new Watch(client.kubeConfig), list, false, options.labelSelector);
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
    this.listWatch.on('add', (obj) => this.emit('add', obj));
    this.listWatch.on('update', (obj) => this.emit('update', obj));
    this.listWatch.on('delete', (obj) => this.emit('delete', obj));
    this.listWatch.on('error', (err: unknown) => this.restartAfterError(err));
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Starts listing and watching; resolves once the cache holds the first full list. */
  async start(): Promise<void> {
    this.stopped = false;
    void this.listWatch.start();
    const resyncMs = this.options.resyncMs ?? 0;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => {
        for (const obj of this.list()) this.emit('resync', obj);
      }, resyncMs);
      this.resyncTimer.unref();
    }
    await this.synced;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.restartTimer);
    await this.listWatch.stop();
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.listWatch.get(name, namespace) as T | undefined;
  }

  list(namespace?: string): T[] {
    return this.listWatch.list(namespace) as unknown as T[];
  }

  private emit(event: InformerEvent, obj: KubernetesObject | T): void {
    for (const handler of this.handlers) handler(event, obj as T);
  }

  private restartAfterError(err: unknown): void {
    if (this.stopped) return;
    const backoff = this.options.backoff ?? { baseMs: 500, maxMs: 30_000 };
    const delay = jittered(backoffDelay(this.failures++, backoff.baseMs, backoff.maxMs));
    this.options.logger.warn(
      { resource: this.type.plural, retryInMs: delay, err: err instanceof Error ? err.message : String(err) },
      'list/watch failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) void this.listWatch.start();
    }, delay);
    this.restartTimer.unref();
  }
}
