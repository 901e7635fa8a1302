/** Which policies apply to which server: `spec.targetRefs` name MCPServers in the policy's namespace. */
import type { MCPPolicy, MCPServer } from '../../authz/api/types.js';

export function policyTargets(policy: MCPPolicy, server: MCPServer): boolean {
  const ns = (meta: { namespace?: string }): string => meta.namespace ?? 'default';
  return (
    ns(policy.metadata) === ns(server.metadata) &&
    policy.spec.targetRefs.some((ref) => (ref.kind ?? 'MCPServer') === 'MCPServer' && ref.name === server.metadata.name)
  );
}
