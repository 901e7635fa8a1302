/**
 * The policy a server gets when no MCPPolicy targets it: every documented default (protocol
 * checks, detectors, session binding, behaviour limits) with `tools.default: Deny`, so an
 * unconfigured server is protected rather than open.
 */
import type { MCPPolicy, MCPServer } from '../api/types.js';
import { applyPolicyDefaults } from '../api/defaults.js';

export function builtinDefaultPolicy(server: MCPServer): MCPPolicy {
  return applyPolicyDefaults({
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPPolicy',
    metadata: { name: 'builtin-default', namespace: server.metadata.namespace ?? 'default' },
    spec: { targetRefs: [{ name: server.metadata.name }] },
  });
}
