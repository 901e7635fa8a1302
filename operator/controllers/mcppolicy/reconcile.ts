/**
 * MCPPolicy reconciler: validates the policy beyond what the API server checks, resolves
 * its targetRefs, reports conflicts with other policies, and writes status only when it
 * differs from what is stored. Events on Accepted transitions.
 */
import canonicalize from 'canonicalize';
import { validateMCPPolicy, validateMCPServer } from '../../../authz/api/validate.js';
import type { Condition } from '../../../authz/api/types.js';
import { setConditions, transitioned } from '../../runtime/conditions.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Informer } from '../../runtime/informer.js';
import { splitKey, type KubeClient, type KubeObject } from '../../runtime/kube-client.js';
import { MCPPOLICIES } from '../../runtime/resources.js';
import { joinedSummary } from '../summary.js';
import { policyVerdict, rejectedAsInvalid } from './acceptance.js';

export interface MCPPolicyReconcilerDeps {
  client: KubeClient;
  servers: Informer<KubeObject>;
  policies: Informer<KubeObject>;
  events: EventRecorder;
  now?: () => Date;
}

export function makeMCPPolicyReconciler(deps: MCPPolicyReconcilerDeps): (key: string) => Promise<void> {
  const now = deps.now ?? (() => new Date());
  return async function reconcileMCPPolicy(key: string): Promise<void> {
    const { namespace = 'default', name } = splitKey(key);
    const raw = deps.policies.get(namespace, name);
    if (raw === undefined || raw.metadata?.deletionTimestamp !== undefined) return;
    const generation = raw.metadata?.generation ?? 0;
    const previous = (raw.status ?? {}) as { conditions?: Condition[] };
    const validated = validateMCPPolicy(raw);
    let verdict;
    if (!validated.ok) {
      verdict = rejectedAsInvalid(validated.errors, generation);
    } else {
      const servers = deps.servers.list(namespace).flatMap((s) => {
        const r = validateMCPServer(s);
        return r.ok ? [r.resource] : [];
      });
      const policies = deps.policies.list(namespace).flatMap((p) => {
        const r = validateMCPPolicy(p);
        return r.ok ? [r.resource] : [];
      });
      verdict = policyVerdict(validated.resource, servers, policies, generation);
    }
    const conditions = setConditions(previous.conditions, verdict.conditions, now());
    const refs = (raw.spec as { targetRefs?: unknown } | undefined)?.targetRefs;
    const refNames = Array.isArray(refs) ? refs.flatMap((r: unknown) => (typeof (r as { name?: unknown } | null)?.name === 'string' ? [(r as { name: string }).name] : [])) : [];
    const status = { observedGeneration: generation, conditions, targets: verdict.targets, targetsSummary: joinedSummary(refNames) };
    if (canonicalize(previous) !== canonicalize(status)) {
      await deps.client.apply(MCPPOLICIES, { metadata: { name, namespace }, status }, { subresource: 'status' });
    }
    const accepted = conditions.find((c) => c.type === 'Accepted');
    if (transitioned(previous.conditions, conditions, 'Accepted', 'True')) {
      await deps.events.record(raw, 'Normal', 'Accepted', accepted?.message ?? 'accepted');
    } else if (transitioned(previous.conditions, conditions, 'Accepted', 'False')) {
      await deps.events.record(raw, 'Warning', accepted?.reason ?? 'Rejected', accepted?.message ?? 'rejected');
    }
  };
}
