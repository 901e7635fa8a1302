/**
 * The `SelectorOverlap` condition: a pod selected by two MCPServers gets the sidecar of
 * only one of them (the first by name, as the webhook picks), so the other server's policy
 * never sees its traffic. Reported on both servers; the fix is disjoint selectors.
 */
import type { MCPServer } from '../../../authz/api/types.js';
import type { ConditionInput } from '../../runtime/conditions.js';
import { selectorMatches } from '../label-selector.js';

interface PodRef {
  metadata?: { name?: string; labels?: Record<string, string> };
}

export function overlapCondition(server: MCPServer, selected: readonly PodRef[], others: readonly MCPServer[], generation: number): ConditionInput & { message: string } {
  const shared = others
    .map((other) => ({
      other: other.metadata.name,
      pods: selected.filter((p) => selectorMatches(other.spec.selector, p.metadata?.labels)).map((p) => p.metadata?.name ?? '').sort(),
    }))
    .filter((o) => o.pods.length > 0)
    .sort((a, b) => (a.other < b.other ? -1 : 1));
  if (shared.length === 0) {
    return { type: 'SelectorOverlap', status: 'False', reason: 'NoOverlap', message: 'no selected pod is selected by another MCPServer', observedGeneration: generation };
  }
  const ns = server.metadata.namespace ?? 'default';
  const winner = [server.metadata.name, ...shared.map((s) => s.other)].sort()[0] ?? server.metadata.name;
  const detail = shared.map((s) => `pod(s) ${s.pods.slice(0, 5).join(', ')} also selected by MCPServer ${s.other}`).join('; ');
  return {
    type: 'SelectorOverlap',
    status: 'True',
    reason: 'PodsSelectedTwice',
    message: `${detail}; such a pod gets the sidecar of ${ns}/${winner} only (first by name): make the selectors disjoint`,
    observedGeneration: generation,
  };
}
