/**
 * The ConfigMap `<name>-mcp-warden-envoy` holding the Envoy sidecar's configuration for one
 * MCPServer, rendered by the data-path renderer (authz/sidecar). The sidecar mounts it at
 * the renderer's config directory; kubelet's atomic ConfigMap updates are the directory swap
 * Envoy's file-based xDS watches for.
 */
import type { MCPPolicy, MCPServer } from '../../../authz/api/types.js';
import { renderEnvoyConfig, type HostPort } from '../../../authz/sidecar/render.js';
import { envoyConfigFiles } from '../../../authz/sidecar/write.js';
import { controllerReference, type KubeObject } from '../../runtime/kube-client.js';
import { MCPSERVERS } from '../../runtime/resources.js';

export const DEFAULT_MAX_BODY_BYTES = 1_048_576;
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const SERVER_LABEL = 'mcpwarden.io/server';

export function envoyConfigMapName(serverName: string): string {
  return `${serverName}-mcp-warden-envoy`;
}

/** The strictest body limit among the policies that apply (Envoy answers 413 above it). */
export function effectiveMaxBodyBytes(policies: readonly MCPPolicy[]): number {
  const limits = policies.map((p) => p.spec.protocol.maxBodyBytes).filter((n) => Number.isFinite(n) && n > 0);
  return limits.length > 0 ? Math.min(...limits) : DEFAULT_MAX_BODY_BYTES;
}

export function desiredEnvoyConfigMap(server: MCPServer, owner: KubeObject, policies: readonly MCPPolicy[], authzAddress: HostPort): KubeObject {
  const config = renderEnvoyConfig(server, { authzAddress, maxBodyBytes: effectiveMaxBodyBytes(policies) });
  return {
    metadata: {
      name: envoyConfigMapName(server.metadata.name),
      namespace: server.metadata.namespace ?? 'default',
      labels: { [MANAGED_BY_LABEL]: 'mcp-warden', [SERVER_LABEL]: server.metadata.name },
      ownerReferences: [controllerReference(MCPSERVERS, owner)],
    },
    data: envoyConfigFiles(config),
  };
}
