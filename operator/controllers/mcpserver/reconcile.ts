/**
 * MCPServer reconciler: for one `namespace/name`, apply the Envoy ConfigMap, look at the
 * selected pods, list the server's tools when discovery is due, compare them with the pins
 * of the policies that target the server, and write status (only when it differs). Events
 * go out on transitions only, judged against the status already stored, so a restarted
 * operator repeats no Event and no write.
 *
 * When discovery fails the last known tools stay in status: the authz service pins against
 * them, and dropping them would let a drifted tool through.
 */
import canonicalize from 'canonicalize';
import { parseDurationMs, validateMCPPolicy, validateMCPServer } from '../../../authz/api/validate.js';
import { toolDigest } from '../../../authz/api/digest.js';
import type { DiscoveredTool, MCPPolicy, MCPServer, ToolDefinition, ToolFinding } from '../../../authz/api/types.js';
import type { HostPort } from '../../../authz/sidecar/render.js';
import { setConditions, transitioned, type ConditionInput } from '../../runtime/conditions.js';
import type { ReconcileResult } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Informer } from '../../runtime/informer.js';
import { splitKey, type KubeClient, type KubeObject } from '../../runtime/kube-client.js';
import type { Logger } from '../../runtime/logger.js';
import { CONFIGMAPS, MCPSERVERS, NETWORK_POLICIES } from '../../runtime/resources.js';
import type { ListedTools } from '../../discovery/list-tools.js';
import { hasSidecar, type PodLike } from '../../webhook/sidecar.js';
import { selectorMatches } from '../label-selector.js';
import { joinedSummary } from '../summary.js';
import { policyTargets } from '../policy-targets.js';
import { serverConditions, type DiscoveryOutcome } from './conditions.js';
import { desiredEnvoyConfigMap, envoyConfigMapName } from './envoy-configmap.js';
import { toolStates, type LiveTool } from './tool-states.js';
import { desiredNetworkPolicy, networkPolicyName } from './network-policy.js';
import { overlapCondition } from './overlap.js';

/** How soon a failed discovery is tried again (the interval applies after success). */
const DISCOVERY_RETRY_MS = 30_000;

export interface MCPServerReconcilerDeps {
  client: KubeClient;
  servers: Informer<KubeObject>;
  policies: Informer<KubeObject>;
  pods: Informer<KubeObject>;
  /** ConfigMaps labelled managed-by mcp-warden: to skip applies that would change nothing. */
  configMaps: Informer<KubeObject>;
  /** NetworkPolicies labelled managed-by mcp-warden; absent: the operator writes none. */
  networkPolicies?: Informer<KubeObject>;
  /** Where the operator's pods run (the discovery peer in the NetworkPolicy). */
  operatorNamespace: string;
  events: EventRecorder;
  logger: Logger;
  authzAddress: HostPort;
  listTools: (url: string) => Promise<ListedTools>;
  scanTool?: (tool: ToolDefinition) => ToolFinding[];
  now?: () => Date;
}

interface DiscoveryRecord {
  atMs: number;
  generation: number;
  endpoint: string;
  outcome: DiscoveryOutcome;
  live: LiveTool[] | undefined;
}

type PodObject = KubeObject &
  PodLike & {
    status?: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
  };

/** Whether the cached object already holds what we would apply (owner, labels, `field`). */
function ownedCurrent(live: KubeObject | undefined, desired: KubeObject, field: 'data' | 'spec'): boolean {
  if (live === undefined) return false;
  const owner = desired.metadata?.ownerReferences?.[0];
  const owned = (live.metadata?.ownerReferences ?? []).some((r) => r.uid === owner?.uid && r.controller === true);
  const labelled = Object.entries(desired.metadata?.labels ?? {}).every(([k, v]) => live.metadata?.labels?.[k] === v);
  return owned && labelled && canonicalize(pick(live[field], desired[field]) ?? {}) === canonicalize(desired[field]);
}

/** `live` reduced to the keys `desired` states (the API server adds defaults we do not own). */
function pick(live: unknown, desired: unknown): unknown {
  if (Array.isArray(desired) && Array.isArray(live)) return live.map((v: unknown, i) => pick(v, desired[i]));
  if (typeof desired === 'object' && desired !== null && typeof live === 'object' && live !== null) {
    return Object.fromEntries(Object.keys(desired).map((k) => [k, pick((live as Record<string, unknown>)[k], (desired as Record<string, unknown>)[k])]));
  }
  return live;
}

function selects(selector: MCPServer['spec']['selector']): boolean {
  return Object.keys(selector?.matchLabels ?? {}).length > 0 || (selector?.matchExpressions?.length ?? 0) > 0;
}

function readyEndpoint(server: MCPServer, pods: PodObject[]): { url: string; pod: string } | { reason: string } {
  const ready = pods
    .filter((p) => p.status?.phase === 'Running' && (p.status.podIP ?? '') !== '' && p.metadata?.deletionTimestamp === undefined)
    .filter((p) => (p.status?.conditions ?? []).every((c) => c.type !== 'Ready' || c.status === 'True'))
    .sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1));
  const pod = ready[0];
  if (pod === undefined) {
    return { reason: pods.length === 0 ? 'no pod is selected to list tools from' : `none of the ${pods.length} selected pods is running and ready` };
  }
  const ip = pod.status?.podIP ?? '';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return { url: `http://${host}:${server.spec.upstream.port}${server.spec.upstream.path}`, pod: pod.metadata?.name ?? '' };
}

export function makeMCPServerReconciler(deps: MCPServerReconcilerDeps): (key: string) => Promise<ReconcileResult | void> {
  const discoveries = new Map<string, DiscoveryRecord>();
  const now = deps.now ?? (() => new Date());

  async function discover(key: string, server: MCPServer, generation: number, pods: PodObject[]): Promise<DiscoveryRecord> {
    const enabled = server.spec.discovery?.enabled !== false;
    const previous = discoveries.get(key);
    if (!enabled) {
      const record = { atMs: Date.now(), generation, endpoint: '', outcome: { kind: 'disabled' } as const, live: undefined };
      discoveries.set(key, record);
      return record;
    }
    const target = readyEndpoint(server, pods);
    const endpoint = 'url' in target ? target.url : '';
    const intervalMs = parseDurationMs(server.spec.discovery?.interval ?? '10m') ?? 600_000;
    const waitMs = previous?.outcome.kind === 'listed' ? intervalMs : DISCOVERY_RETRY_MS;
    const due =
      previous === undefined || previous.generation !== generation || previous.endpoint !== endpoint || Date.now() - previous.atMs >= waitMs;
    if (!due) return previous;
    let record: DiscoveryRecord;
    if ('reason' in target) {
      record = { atMs: Date.now(), generation, endpoint, outcome: { kind: 'no-endpoint', reason: target.reason }, live: undefined };
    } else {
      try {
        const listed = await deps.listTools(target.url);
        const live = listed.tools.map((tool) => {
          const findings = deps.scanTool?.(tool) ?? [];
          return { name: tool.name, digest: toolDigest(tool), ...(findings.length > 0 ? { findings } : {}) };
        });
        record = {
          atMs: Date.now(),
          generation,
          endpoint,
          outcome: { kind: 'listed', endpoint, protocolVersion: listed.protocolVersion, count: live.length },
          live,
        };
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        record = { atMs: Date.now(), generation, endpoint, outcome: { kind: 'failed', endpoint, error }, live: undefined };
      }
    }
    discoveries.set(key, record);
    return record;
  }

  return async function reconcileMCPServer(key: string): Promise<ReconcileResult | void> {
    const { namespace = 'default', name } = splitKey(key);
    const raw = deps.servers.get(namespace, name);
    if (raw === undefined || raw.metadata?.deletionTimestamp !== undefined) {
      // The ConfigMap is owned by the MCPServer: the garbage collector removes it.
      discoveries.delete(key);
      return;
    }
    const generation = raw.metadata?.generation ?? 0;
    const previousStatus = (raw.status ?? {}) as { observedGeneration?: number; conditions?: Parameters<typeof setConditions>[0]; tools?: DiscoveredTool[] };
    const validated = validateMCPServer(raw);
    if (!validated.ok) {
      const message = validated.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
      const conditions: ConditionInput[] = [{ type: 'Ready', status: 'False', reason: 'InvalidSpec', message, observedGeneration: generation }];
      await writeStatus(raw, previousStatus, { observedGeneration: generation, conditions: setConditions(previousStatus.conditions, conditions, now()) });
      return;
    }
    const server = validated.resource;
    const policies: MCPPolicy[] = deps.policies
      .list(namespace)
      .map((p) => validateMCPPolicy(p))
      .flatMap((r) => (r.ok ? [r.resource] : []))
      .filter((p) => policyTargets(p, server));

    const configMap = desiredEnvoyConfigMap(server, raw, policies, deps.authzAddress);
    if (!ownedCurrent(deps.configMaps.get(namespace, envoyConfigMapName(name)), configMap, 'data')) {
      await deps.client.apply(CONFIGMAPS, configMap);
    }
    if (deps.networkPolicies !== undefined) {
      const existing = deps.networkPolicies.get(namespace, networkPolicyName(name));
      // An empty podSelector would select every pod in the namespace: no policy then.
      if (!selects(server.spec.selector)) {
        if (existing !== undefined) await deps.client.delete(NETWORK_POLICIES, namespace, networkPolicyName(name));
      } else {
        const policy = desiredNetworkPolicy(server, raw, deps.operatorNamespace);
        if (!ownedCurrent(existing, policy, 'spec')) await deps.client.apply(NETWORK_POLICIES, policy);
      }
    }

    const selected = (deps.pods.list(namespace) as PodObject[]).filter((p) => selectorMatches(server.spec.selector, p.metadata?.labels));
    const podNames = (list: PodObject[]): string[] => list.map((p) => p.metadata?.name ?? '').sort();
    const discovery = await discover(key, server, generation, selected);
    const live = discovery.live ?? previousStatus.tools?.map((t) => ({ name: t.name, digest: t.digest, ...(t.findings ? { findings: t.findings } : {}) }));
    const tools = live !== undefined ? toolStates(live, policies) : [];
    const otherServers = deps.servers
      .list(namespace)
      .filter((s) => s.metadata?.name !== name)
      .flatMap((s) => {
        const r = validateMCPServer(s);
        return r.ok ? [r.resource] : [];
      });
    const overlap = overlapCondition(server, selected, otherServers, generation);
    const conditions = setConditions(
      previousStatus.conditions,
      [
        ...serverConditions({
          generation,
          configMapName: envoyConfigMapName(name),
          selectedPods: podNames(selected),
          injectedPods: podNames(selected.filter((p) => hasSidecar(p))),
          discovery: discovery.outcome,
          tools,
        }),
        overlap,
      ],
      now(),
    );
    const driftedTools = tools.filter((t) => t.state === 'Drifted').length;
    const status = {
      observedGeneration: generation,
      conditions,
      driftedTools,
      ...(live !== undefined ? { tools, toolsSummary: joinedSummary(tools.map((t) => t.name)) } : {}),
    };
    await writeStatus(raw, previousStatus, status);

    const before = new Map((previousStatus.tools ?? []).map((t) => [t.name, t]));
    const newlyDrifted = tools.filter((t) => t.state === 'Drifted' && before.get(t.name)?.state !== 'Drifted');
    if (newlyDrifted.length > 0) {
      const list = newlyDrifted.map((t) => `${t.name} (live ${t.digest.slice(0, 19)}…)`).join(', ');
      await deps.events.record(raw, 'Warning', 'ToolDrifted', `tool definitions changed since approval: ${list}; calls to them are blocked until the pins in MCPPolicy are updated`);
    }
    const newlyFlagged = tools.filter((t) => (t.findings?.length ?? 0) > 0 && before.get(t.name)?.digest !== t.digest);
    if (newlyFlagged.length > 0) {
      const list = newlyFlagged.map((t) => `${t.name} (${[...new Set(t.findings?.map((f) => f.rule))].join(', ')})`).join('; ');
      await deps.events.record(raw, 'Warning', 'SuspiciousToolDefinition', `the scanner flagged tool definitions: ${list}; review them before approving`);
    }
    if (transitioned(previousStatus.conditions, conditions, 'Discovered', 'False') && discovery.outcome.kind === 'failed') {
      await deps.events.record(raw, 'Warning', 'DiscoveryFailed', `listing tools at ${discovery.outcome.endpoint} failed: ${discovery.outcome.error}`);
    }
    if (transitioned(previousStatus.conditions, conditions, 'SelectorOverlap', 'True')) {
      await deps.events.record(raw, 'Warning', 'SelectorOverlap', overlap.message);
    }
    if (transitioned(previousStatus.conditions, conditions, 'Ready', 'True')) {
      await deps.events.record(raw, 'Normal', 'Ready', 'sidecar configured, pods injected, tools discovered');
    }
    if (discovery.outcome.kind === 'disabled') return;
    const intervalMs = parseDurationMs(server.spec.discovery?.interval ?? '10m') ?? 600_000;
    const waitMs = discovery.outcome.kind === 'listed' ? intervalMs : DISCOVERY_RETRY_MS;
    return { requeueAfterMs: Math.max(1000, discovery.atMs + waitMs - Date.now()) };
  };

  async function writeStatus(raw: KubeObject, previous: object, status: object): Promise<void> {
    // The API server hands objects back with sorted keys: compare canonical forms.
    if (canonicalize(previous) === canonicalize(status)) return;
    await deps.client.apply(MCPSERVERS, { metadata: { name: raw.metadata?.name, namespace: raw.metadata?.namespace }, status }, { subresource: 'status' });
  }
}
