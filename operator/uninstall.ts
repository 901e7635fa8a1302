/**
 * `mcp-warden operator uninstall`: removes what the operator creates outside any owner —
 * the cluster-scoped MutatingWebhookConfiguration and, in the operator's namespace, the
 * webhook TLS Secret and the leader Lease. Under failurePolicy Fail a configuration left
 * behind with no operator serving it blocks every Pod in opted-in namespaces, so this must
 * run (after the operator Deployment is gone: a running operator recreates them).
 * Objects owned by MCPServers (ConfigMaps, NetworkPolicies) go with their owners.
 */
import { LEASES, MUTATING_WEBHOOK_CONFIGURATIONS, SECRETS, type ResourceType } from './runtime/resources.js';
import { KubeClient } from './runtime/kube-client.js';

export const WEBHOOK_CONFIGURATION_NAME = 'mcp-warden-sidecar-injector';
export const WEBHOOK_SECRET_NAME = 'mcp-warden-webhook-tls';
export const LEASE_NAME = 'mcp-warden-operator';

export interface UninstallOptions {
  operatorNamespace: string;
  configurationName?: string;
  secretName?: string;
  leaseName?: string;
}

/** Deletes the operator's unowned objects; returns `kind/name` of those that existed. */
export async function uninstallOperator(client: KubeClient, o: UninstallOptions): Promise<string[]> {
  const targets: Array<[ResourceType, string | undefined, string]> = [
    [MUTATING_WEBHOOK_CONFIGURATIONS, undefined, o.configurationName ?? WEBHOOK_CONFIGURATION_NAME],
    [SECRETS, o.operatorNamespace, o.secretName ?? WEBHOOK_SECRET_NAME],
    [LEASES, o.operatorNamespace, o.leaseName ?? LEASE_NAME],
  ];
  const removed: string[] = [];
  for (const [type, namespace, name] of targets) {
    if ((await client.getOrUndefined(type, namespace, name)) === undefined) continue;
    await client.delete(type, namespace, name);
    removed.push(`${type.kind}/${namespace !== undefined ? `${namespace}/` : ''}${name}`);
  }
  return removed;
}
