/**
 * A small typed REST client over the API server. Authentication, TLS and kubeconfig/in-cluster
 * loading come from @kubernetes/client-node's KubeConfig; requests are plain HTTPS so that
 * subresources (status) and server-side apply need no generated client.
 */
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { apiVersionOf, resourcePath, type ResourceType } from './resources.js';

export const FIELD_MANAGER = 'mcp-warden';

export interface ObjectMetaLike {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMetaLike;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** A non-2xx answer from the API server, carrying its metav1.Status. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists';
}

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

type Query = Record<string, string | number | boolean | undefined>;

export class KubeClient {
  readonly server: string;

  constructor(readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/$/, '');
  }

  async request<T>(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown; contentType?: string; accept?: string } = {},
  ): Promise<T> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const opts: RequestOptions & { ca?: Buffer; cert?: Buffer; key?: Buffer } = {
      method,
      headers: { accept: options.accept ?? 'application/json' },
      timeout: 30_000,
    };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (payload !== undefined) {
      opts.headers = { ...opts.headers, 'content-type': options.contentType ?? 'application/json' };
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = send(url, opts, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
    const parsed: unknown = body === '' ? undefined : safeJson(body);
    if (status < 200 || status > 299) {
      const st = (parsed ?? {}) as { reason?: string; message?: string; details?: unknown };
      throw new KubeApiError(status, st.reason ?? 'Unknown', `${method} ${path}: ${status} ${st.message ?? body}`, st.details);
    }
    return parsed as T;
  }

  get<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T> {
    return this.request<T>('GET', resourcePath(type, namespace, name));
  }

  async getOrUndefined<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(type, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  list<T extends KubeObject>(type: ResourceType, namespace?: string, query: Query = {}): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', resourcePath(type, namespace), { query });
  }

  create<T extends KubeObject>(type: ResourceType, namespace: string | undefined, obj: KubeObject): Promise<T> {
    return this.request<T>('POST', resourcePath(type, namespace), {
      body: { apiVersion: apiVersionOf(type), kind: type.kind, ...obj },
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /** PUT with the object's resourceVersion: fails with 409 when someone wrote in between. */
  replace<T extends KubeObject>(type: ResourceType, obj: KubeObject): Promise<T> {
    return this.request<T>('PUT', resourcePath(type, obj.metadata?.namespace, obj.metadata?.name), {
      body: obj,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  async delete(type: ResourceType, namespace: string | undefined, name: string): Promise<void> {
    try {
      await this.request('DELETE', resourcePath(type, namespace, name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Server-side apply: the object states every field this manager owns; fields it stopped
   * stating are removed, fields other managers own are left alone. `force` takes over fields
   * another manager set (we are the controller of what we apply).
   */
  apply<T extends KubeObject>(type: ResourceType, obj: KubeObject, options: { subresource?: 'status'; force?: boolean } = {}): Promise<T> {
    const name = obj.metadata?.name;
    if (name === undefined) throw new Error(`apply ${type.kind}: metadata.name is required`);
    return this.request<T>('PATCH', resourcePath(type, obj.metadata?.namespace, name, options.subresource), {
      body: { apiVersion: apiVersionOf(type), kind: type.kind, ...obj },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: options.force ?? true },
    });
  }

  mergePatch<T extends KubeObject>(type: ResourceType, namespace: string | undefined, name: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', resourcePath(type, namespace, name), {
      body: patch,
      contentType: 'application/merge-patch+json',
      query: { fieldManager: FIELD_MANAGER },
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The owner reference a controller sets on what it creates for `owner`. */
export function controllerReference(type: ResourceType, owner: KubeObject): OwnerReference {
  const meta = owner.metadata ?? {};
  if (meta.name === undefined || meta.uid === undefined) throw new Error(`owner ${type.kind} has no name or uid`);
  return {
    apiVersion: apiVersionOf(type),
    kind: type.kind,
    name: meta.name,
    uid: meta.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns !== undefined && ns !== '' ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
