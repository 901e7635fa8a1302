/**
 * Cluster mode for the authz service: MCPServer and MCPPolicy come from the API server
 * (list + watch only, so a read-only ClusterRole suffices) instead of files, and are handed
 * over in the same shape as the file loader's `LoadResult`, so the snapshot compiler and
 * the verdicts are the same. MCPServer status is part of the config: the live tool digests
 * discovery writes there are what the tool-pin stage compares with the pins.
 *
 * Changes are debounced and identical contents are not reloaded, as with the file watcher.
 * Unlike files there is no single edit to roll back, and any namespace may hold a bad object
 * the API server accepted, so each object is judged on its own: an invalid one is reported to
 * `onError` and left out of the load (a refused MCPPolicy is listed in `rejectedPolicies`, so
 * the snapshot makes the servers it targets fail closed) while everything else still loads.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { validateResource } from '../api/validate.js';
import type { MCPPolicy, MCPServer } from '../api/types.js';
import { Informer } from '../../operator/runtime/informer.js';
import { KubeClient, loadKubeConfig, type KubeObject } from '../../operator/runtime/kube-client.js';
import { silentLogger, type Logger } from '../../operator/runtime/logger.js';
import { MCPPOLICIES, MCPSERVERS } from '../../operator/runtime/resources.js';
import type { ConfigError, LoadResult, ResourceOrigin } from './load.js';
import type { RejectedPolicy } from './snapshot.js';

/** A cluster load: the valid objects, plus the policies left out for being invalid. */
export interface ClusterLoadResult extends LoadResult {
  readonly rejectedPolicies: readonly RejectedPolicy[];
}

export interface ClusterWatchOptions {
  /** Watch one namespace; all namespaces when absent. */
  readonly namespace?: string | undefined;
  readonly debounceMs?: number | undefined;
  readonly logger?: Logger | undefined;
  /**
   * How long to wait for the first complete list before giving up; the informers retry
   * forever otherwise (wrong server, missing CRDs, no RBAC). Default 30 s.
   */
  readonly syncTimeoutMs?: number | undefined;
}

export interface ClusterManifestWatcher {
  current(): ClusterLoadResult | undefined;
  close(): Promise<void>;
}

/** What a manifest file would hold for this object: no server-managed metadata. */
function asManifest(obj: KubeObject): Record<string, unknown> {
  const meta = obj.metadata ?? {};
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
      ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
      ...(meta.labels !== undefined ? { labels: meta.labels } : {}),
    },
    spec: obj.spec,
    ...(obj.status !== undefined ? { status: obj.status } : {}),
  };
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

/** `spec.targetRefs[*].name` of an object that failed validation, as far as it can be read. */
function targetNames(spec: unknown): string[] {
  const refs = typeof spec === 'object' && spec !== null ? (spec as { targetRefs?: unknown }).targetRefs : undefined;
  if (!Array.isArray(refs)) return [];
  return refs.flatMap((ref: unknown) => {
    const name = typeof ref === 'object' && ref !== null ? (ref as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? [name] : [];
  });
}

/** Builds a LoadResult from the objects in the caches (pure; exported for tests). */
export function loadResultFromObjects(objects: readonly KubeObject[]): ClusterLoadResult {
  const servers: MCPServer[] = [];
  const policies: MCPPolicy[] = [];
  const origins: ResourceOrigin[] = [];
  const errors: ConfigError[] = [];
  const rejectedPolicies: RejectedPolicy[] = [];
  const manifests = objects
    .map(asManifest)
    .sort((a, b) => {
      const key = (m: Record<string, unknown>): string => `${String(m.kind)} ${JSON.stringify(m.metadata)}`;
      return key(a) < key(b) ? -1 : 1;
    });
  for (const manifest of manifests) {
    const meta = manifest.metadata as { name?: string; namespace?: string };
    const resource = `${String(manifest.kind)} ${meta.namespace ?? 'default'}/${meta.name ?? ''}`;
    const file = `cluster:${resource}`;
    const checked = validateResource(manifest);
    if (!checked.ok) {
      for (const e of checked.errors) errors.push({ file, document: 1, path: e.path, message: e.message, reason: 'invalid', resource });
      if (manifest.kind === 'MCPPolicy') {
        const first = checked.errors[0];
        rejectedPolicies.push({
          namespace: meta.namespace ?? 'default',
          name: meta.name ?? '',
          targets: targetNames(manifest.spec),
          message: first !== undefined ? `${first.path}: ${first.message}` : 'invalid',
        });
      }
      continue;
    }
    deepFreeze(checked.resource);
    origins.push({ resource, file, document: 1 });
    if (checked.resource.kind === 'MCPServer') servers.push(checked.resource);
    else policies.push(checked.resource);
  }
  const fingerprint = createHash('sha256').update(canonicalize(manifests) ?? '').digest('hex');
  return { servers, policies, origins, errors, skipped: [], files: [], fingerprint, rejectedPolicies };
}

/**
 * Watches MCPServer and MCPPolicy through the API server named by `kubeconfig` (in-cluster
 * config when undefined). `onLoad` gets the first complete load and every change; the
 * invalid objects of a load go to `onError` first.
 */
export async function watchClusterManifests(
  kubeconfig: string | undefined,
  onLoad: (result: ClusterLoadResult) => void,
  onError: (errors: readonly ConfigError[]) => void,
  options: ClusterWatchOptions = {},
): Promise<ClusterManifestWatcher> {
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  const logger = options.logger ?? silentLogger;
  const informerOptions = { logger, resyncMs: 0, ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) };
  const servers = new Informer<KubeObject>(client, MCPSERVERS, informerOptions);
  const policies = new Informer<KubeObject>(client, MCPPOLICIES, informerOptions);
  let good: ClusterLoadResult | undefined;
  let lastFingerprint: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let synced = false;

  const reload = (): void => {
    const result = loadResultFromObjects([...servers.list(), ...policies.list()]);
    if (result.fingerprint === lastFingerprint) return;
    lastFingerprint = result.fingerprint;
    if (result.errors.length > 0) onError(result.errors);
    good = result;
    onLoad(result);
  };
  const schedule = (): void => {
    if (!synced) return;
    clearTimeout(timer);
    timer = setTimeout(reload, options.debounceMs ?? 100);
    timer.unref();
  };
  servers.on(schedule);
  policies.on(schedule);
  const syncTimeoutMs = options.syncTimeoutMs ?? 30_000;
  let syncTimer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    syncTimer = setTimeout(() => {
      reject(
        new Error(
          `no complete list of MCPServer and MCPPolicy from the API server at ${client.server} within ${syncTimeoutMs / 1000}s (is it reachable, are the CRDs in crds/ installed, and may this identity list and watch them?)`,
        ),
      );
    }, syncTimeoutMs);
  });
  try {
    await Promise.race([Promise.all([servers.start(), policies.start()]), timedOut]);
  } catch (err) {
    await Promise.all([servers.stop(), policies.stop()]);
    throw err;
  } finally {
    clearTimeout(syncTimer);
  }
  synced = true;
  reload();
  return {
    current: () => good,
    async close(): Promise<void> {
      clearTimeout(timer);
      await Promise.all([servers.stop(), policies.stop()]);
    },
  };
}
