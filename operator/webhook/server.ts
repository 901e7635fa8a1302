/**
 * The mutating admission webhook (admission.k8s.io/v1 AdmissionReview over HTTPS): a Pod
 * being created in a namespace that has an MCPServer selecting it gets the Envoy sidecar.
 * Everything else is allowed unchanged; the webhook never denies. The Deployment in Git is
 * not touched, only the Pods its ReplicaSet creates, so GitOps tools see no drift.
 *
 * The serving certificate can be swapped while running (rotation) with `setTls`.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateMCPServer } from '../../authz/api/validate.js';
import type { MCPServer } from '../../authz/api/types.js';
import type { Informer } from '../runtime/informer.js';
import type { KubeObject } from '../runtime/kube-client.js';
import type { Logger } from '../runtime/logger.js';
import { selectorMatches } from '../controllers/label-selector.js';
import { injectionPatch, type PodLike } from './sidecar.js';
import type { WebhookTls } from './tls.js';

export const MUTATE_PODS_PATH = '/mutate-pods';
/** Pod annotation that opts a selected pod out of injection. */
export const INJECT_ANNOTATION = 'mcpwarden.io/inject';
const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

export interface WebhookServerOptions {
  servers: Informer<KubeObject>;
  envoyImage: string;
  logger: Logger;
  tls: WebhookTls;
  host: string;
  port: number;
}

interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: { uid?: string; namespace?: string; operation?: string; object?: PodLike; kind?: { kind?: string } };
}

/** The MCPServer (first by name) whose selector selects the pod. */
export function selectingServer(pod: PodLike, namespace: string, servers: readonly KubeObject[]): MCPServer | undefined {
  const candidates = servers
    .filter((s) => (s.metadata?.namespace ?? 'default') === namespace)
    .flatMap((s) => {
      const r = validateMCPServer(s);
      return r.ok ? [r.resource] : [];
    })
    .filter((s) => selectorMatches(s.spec.selector, pod.metadata?.labels))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  return candidates[0];
}

export function review(body: AdmissionReview, servers: readonly KubeObject[], envoyImage: string): object {
  const request = body.request ?? {};
  const uid = request.uid ?? '';
  const allowed = { uid, allowed: true };
  const pod = request.object;
  if (request.kind?.kind !== 'Pod' || request.operation !== 'CREATE' || pod === undefined) return allowed;
  if (pod.metadata?.annotations?.[INJECT_ANNOTATION] === 'false') return allowed;
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  const server = selectingServer(pod, namespace, servers);
  if (server === undefined) return allowed;
  const patch = injectionPatch(pod, server, envoyImage);
  if (patch.length === 0) return allowed;
  return { ...allowed, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
}

export class WebhookServer {
  private readonly server: Server;

  constructor(private readonly options: WebhookServerOptions) {
    this.server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        options.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'webhook request failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  setTls(tls: WebhookTls): void {
    this.server.setSecureContext({ cert: tls.certPem, key: tls.keyPem });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method !== 'POST' || path !== MUTATE_PODS_PATH) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_REVIEW_BYTES) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview;
    const response = review(body, this.options.servers.list(), this.options.envoyImage);
    if ('patch' in response) {
      this.options.logger.info({ namespace: body.request?.namespace, pod: body.request?.object?.metadata?.generateName ?? body.request?.object?.metadata?.name }, 'injected Envoy sidecar');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
  }
}
