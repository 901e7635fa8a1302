/**
 * MCPServer status conditions, computed from what the reconciler observed. Reasons are
 * stable CamelCase strings (users grep for them); messages are for people and say what to
 * do. `Ready` summarises the others: the sidecar config is rendered, every selected pod
 * runs the sidecar, discovery works (when enabled) and no approved tool has drifted.
 */
import type { DiscoveredTool } from '../../../authz/api/types.js';
import type { ConditionInput } from '../../runtime/conditions.js';

export type DiscoveryOutcome =
  | { kind: 'disabled' }
  | { kind: 'no-endpoint'; reason: string }
  | { kind: 'failed'; endpoint: string; error: string }
  | { kind: 'listed'; endpoint: string; protocolVersion: string; count: number };

export interface ServerObservation {
  generation: number;
  configMapName: string;
  /** Pods the selector selects, and those already carrying the sidecar. */
  selectedPods: string[];
  injectedPods: string[];
  discovery: DiscoveryOutcome;
  tools: DiscoveredTool[];
}

function names(list: readonly string[], max = 5): string {
  return list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} and ${list.length - max} more`;
}

export function serverConditions(o: ServerObservation): ConditionInput[] {
  const g = o.generation;
  const injected: ConditionInput =
    o.selectedPods.length === 0
      ? { type: 'Injected', status: 'False', reason: 'NoMatchingPods', message: 'spec.selector selects no pods in this namespace; label the MCP server pods or fix the selector', observedGeneration: g }
      : o.injectedPods.length === o.selectedPods.length
        ? { type: 'Injected', status: 'True', reason: 'SidecarInjected', message: `${o.injectedPods.length}/${o.selectedPods.length} selected pods run the Envoy sidecar`, observedGeneration: g }
        : {
            type: 'Injected',
            status: 'False',
            reason: 'PodsNotInjected',
            message: `${o.selectedPods.length - o.injectedPods.length}/${o.selectedPods.length} selected pods lack the Envoy sidecar (${names(o.selectedPods.filter((p) => !o.injectedPods.includes(p)))}); they were created before the webhook or outside its namespaces: restart them`,
            observedGeneration: g,
          };

  const d = o.discovery;
  const discovered: ConditionInput =
    d.kind === 'disabled'
      ? { type: 'Discovered', status: 'False', reason: 'DiscoveryDisabled', message: 'spec.discovery.enabled is false; tools are not listed or pinned against live definitions', observedGeneration: g }
      : d.kind === 'no-endpoint'
        ? { type: 'Discovered', status: 'Unknown', reason: 'NoReadyPod', message: d.reason, observedGeneration: g }
        : d.kind === 'failed'
          ? { type: 'Discovered', status: 'False', reason: 'DiscoveryFailed', message: `listing tools at ${d.endpoint} failed: ${d.error}`, observedGeneration: g }
          : { type: 'Discovered', status: 'True', reason: 'ToolsListed', message: `listed ${d.count} tools at ${d.endpoint} (MCP ${d.protocolVersion})`, observedGeneration: g };

  const drifted = o.tools.filter((t) => t.state === 'Drifted').map((t) => t.name);
  const unapproved = o.tools.filter((t) => t.state === 'Unapproved').map((t) => t.name);
  const toolsApproved: ConditionInput =
    d.kind !== 'listed'
      ? { type: 'ToolsApproved', status: 'Unknown', reason: 'NotDiscovered', message: 'no current tool list to compare with the pins', observedGeneration: g }
      : drifted.length > 0
        ? { type: 'ToolsApproved', status: 'False', reason: 'Drifted', message: `tools changed since approval and are blocked: ${names(drifted)}; review them and update the pins in MCPPolicy`, observedGeneration: g }
        : unapproved.length > 0
          ? { type: 'ToolsApproved', status: 'False', reason: 'Unapproved', message: `tools allowed but not pinned: ${names(unapproved)}; pin them in MCPPolicy (mcp-warden tools approve)`, observedGeneration: g }
          : { type: 'ToolsApproved', status: 'True', reason: 'AllToolsApproved', message: `${o.tools.length} tools are pinned or denied`, observedGeneration: g };

  const driftedCondition: ConditionInput =
    drifted.length > 0
      ? { type: 'Drifted', status: 'True', reason: 'ToolDefinitionChanged', message: `live definitions differ from their pins: ${names(drifted)}`, observedGeneration: g }
      : { type: 'Drifted', status: 'False', reason: 'NoDrift', message: 'every pinned tool matches its pin', observedGeneration: g };

  const blocking = [injected, ...(d.kind === 'disabled' ? [] : [discovered])].find((c) => c.status !== 'True');
  const ready: ConditionInput =
    blocking !== undefined
      ? { type: 'Ready', status: 'False', reason: blocking.reason, message: blocking.message, observedGeneration: g }
      : drifted.length > 0
        ? { type: 'Ready', status: 'False', reason: 'ToolsDrifted', message: driftedCondition.message, observedGeneration: g }
        : { type: 'Ready', status: 'True', reason: 'Ready', message: `sidecar config in ConfigMap ${o.configMapName}; pods injected; tools discovered`, observedGeneration: g };

  return [ready, injected, discovered, toolsApproved, driftedCondition];
}
