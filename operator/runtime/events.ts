/**
 * Records core/v1 Events about our objects (what `kubectl describe` shows). Controllers
 * call it on condition transitions only, so a restart that finds nothing new emits nothing.
 * A repeat of the same event within one process updates its count instead of adding one.
 */
import { createHash } from 'node:crypto';
import { isAlreadyExists, type KubeClient, type KubeObject } from './kube-client.js';
import type { Logger } from './logger.js';
import { EVENTS } from './resources.js';

export interface EventRecorderOptions {
  component: string;
  logger: Logger;
  now?: () => Date;
}

export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly options: EventRecorderOptions,
  ) {}

  async record(regarding: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const meta = regarding.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const hash = createHash('sha256').update(`${meta.uid ?? ''}\n${type}\n${reason}\n${message}`).digest('hex').slice(0, 16);
    const name = `${meta.name ?? 'object'}.${hash}`;
    const now = (this.options.now ?? (() => new Date()))().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const event = {
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      message,
      source: { component: this.options.component },
      reportingComponent: this.options.component,
      reportingInstance: this.options.component,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.client.create(EVENTS, namespace, event);
    } catch (err) {
      if (!isAlreadyExists(err)) {
        this.options.logger.warn({ reason, err: err instanceof Error ? err.message : String(err) }, 'could not record event');
        return;
      }
      const existing = await this.client.get<KubeObject & { count?: number }>(EVENTS, namespace, name);
      await this.client.mergePatch(EVENTS, namespace, name, { count: (existing.count ?? 1) + 1, lastTimestamp: now });
    }
  }
}
