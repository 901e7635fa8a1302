/**
 * The MutatingWebhookConfiguration the operator keeps current (server-side apply, written
 * only when it differs): its caBundle follows the operator's CA.
 *
 * Scoping and failure policy (documented for users):
 * - only namespaces labelled `mcpwarden.io/injection=enabled` are sent to the webhook, and
 *   never kube-system or the operator's own namespace, so a webhook outage cannot stop the
 *   control plane or the operator itself from starting;
 * - failurePolicy defaults to Fail: in an opted-in namespace a Pod is not created without
 *   the sidecar while the webhook is unreachable (an MCP server never runs unprotected).
 *   `Ignore` trades that for availability.
 */
import canonicalize from 'canonicalize';
import type { KubeClient, KubeObject } from '../runtime/kube-client.js';
import { MUTATING_WEBHOOK_CONFIGURATIONS } from '../runtime/resources.js';
import { MUTATE_PODS_PATH } from './server.js';

export const INJECTION_NAMESPACE_LABEL = 'mcpwarden.io/injection';
export const WEBHOOK_NAME = 'pods.sidecar.mcpwarden.io';
export const MANAGED_BY_SELECTOR = 'app.kubernetes.io/managed-by=mcp-warden';

export type WebhookEndpoint = { url: string } | { service: { namespace: string; name: string; port: number } };

export interface WebhookConfigurationOptions {
  name: string;
  endpoint: WebhookEndpoint;
  caBundlePem: string;
  operatorNamespace: string;
  failurePolicy?: 'Fail' | 'Ignore';
}

export function desiredWebhookConfiguration(o: WebhookConfigurationOptions): KubeObject {
  const clientConfig =
    'url' in o.endpoint
      ? { url: `${o.endpoint.url.replace(/\/$/, '')}${MUTATE_PODS_PATH}` }
      : { service: { ...o.endpoint.service, path: MUTATE_PODS_PATH } };
  return {
    metadata: { name: o.name, labels: { 'app.kubernetes.io/managed-by': 'mcp-warden' } },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: o.failurePolicy ?? 'Fail',
        reinvocationPolicy: 'Never',
        timeoutSeconds: 5,
        clientConfig: { ...clientConfig, caBundle: Buffer.from(o.caBundlePem).toString('base64') },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: {
          matchExpressions: [
            { key: INJECTION_NAMESPACE_LABEL, operator: 'In', values: ['enabled'] },
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', o.operatorNamespace] },
          ],
        },
      },
    ],
  };
}

/** Applies the configuration when the stored one differs in what we own; returns whether it wrote. */
export async function ensureWebhookConfiguration(client: KubeClient, o: WebhookConfigurationOptions): Promise<boolean> {
  const desired = desiredWebhookConfiguration(o);
  const live = await client.getOrUndefined<KubeObject & { webhooks?: unknown[] }>(MUTATING_WEBHOOK_CONFIGURATIONS, undefined, o.name);
  const ours = (desired.webhooks as Array<Record<string, unknown>>)[0] ?? {};
  const theirs = (live?.webhooks as Array<Record<string, unknown>> | undefined)?.find((w) => w.name === WEBHOOK_NAME);
  const same =
    theirs !== undefined &&
    Object.keys(ours).every((k) => canonicalize(pick(theirs[k], ours[k])) === canonicalize(ours[k]));
  if (same) return false;
  await client.apply(MUTATING_WEBHOOK_CONFIGURATIONS, desired);
  return true;
}

/** `live` reduced to the keys `desired` states (the API server adds defaults we do not own). */
function pick(live: unknown, desired: unknown): unknown {
  if (Array.isArray(desired) && Array.isArray(live)) return live.map((v, i) => pick(v, desired[i]));
  if (typeof desired === 'object' && desired !== null && typeof live === 'object' && live !== null) {
    return Object.fromEntries(Object.keys(desired).map((k) => [k, pick((live as Record<string, unknown>)[k], (desired as Record<string, unknown>)[k])]));
  }
  return live;
}
