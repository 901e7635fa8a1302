/**
 * The NetworkPolicy `<name>-mcp-warden` per MCPServer (with `--network-policy`, the
 * default): ingress to the selected pods only on Envoy's listener port, plus the upstream
 * port from the operator's pods (tool discovery connects to the pod address). Without it
 * the MCP server listening on the pod address is reachable on its upstream port, past
 * Envoy. NetworkPolicies add up: another policy selecting the same pods can widen this.
 */
import type { MCPServer } from '../../../authz/api/types.js';
import { controllerReference, type KubeObject } from '../../runtime/kube-client.js';
import { MCPSERVERS } from '../../runtime/resources.js';
import { MANAGED_BY_LABEL, SERVER_LABEL } from './envoy-configmap.js';

/** Label the operator's pods carry (deploy/operator.yaml); the discovery peer in the policy. */
export const OPERATOR_POD_LABEL = { 'app.kubernetes.io/name': 'mcp-warden-operator' };

export function networkPolicyName(serverName: string): string {
  return `${serverName}-mcp-warden`;
}

export function desiredNetworkPolicy(server: MCPServer, owner: KubeObject, operatorNamespace: string): KubeObject {
  const selector = server.spec.selector ?? {};
  return {
    metadata: {
      name: networkPolicyName(server.metadata.name),
      namespace: server.metadata.namespace ?? 'default',
      labels: { [MANAGED_BY_LABEL]: 'mcp-warden', [SERVER_LABEL]: server.metadata.name },
      ownerReferences: [controllerReference(MCPSERVERS, owner)],
    },
    spec: {
      podSelector: {
        ...(selector.matchLabels !== undefined ? { matchLabels: selector.matchLabels } : {}),
        ...(selector.matchExpressions !== undefined ? { matchExpressions: selector.matchExpressions } : {}),
      },
      policyTypes: ['Ingress'],
      ingress: [
        { ports: [{ protocol: 'TCP', port: server.spec.listener.port }] },
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': operatorNamespace } }, podSelector: { matchLabels: OPERATOR_POD_LABEL } }],
          ports: [{ protocol: 'TCP', port: server.spec.upstream.port }],
        },
      ],
    },
  };
}
