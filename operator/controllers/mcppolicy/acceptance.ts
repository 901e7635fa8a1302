/**
 * Whether an MCPPolicy is accepted, and why not: a pure function of the policy, the
 * MCPServers in its namespace and the other policies there. Conditions:
 *
 * - Accepted: False/Invalid (a check the API server cannot make failed: CEL syntax of
 *   `when`, a digest that contradicts its definition, …), False/TargetNotFound (no
 *   targetRef names an existing MCPServer), else True/Accepted.
 * - ResolvedRefs: False/TargetNotFound names every targetRef without a server.
 * - Conflicted: True when another policy on the same server pins the same tool to another
 *   digest (ConflictingPins), allows a tool this one denies (ConflictingActions), allows
 *   explicitly a tool one of the two denies only through `tools.default: Deny`
 *   (ConflictingDefaults), or runs in the other mode (MixedModes). All are informational:
 *   every policy still applies and deny-overrides decides (a call must pass every Enforce
 *   policy; Audit policies only record what they would deny).
 */
import type { MCPPolicy, MCPServer } from '../../../authz/api/types.js';
import type { FieldError } from '../../../authz/api/validate.js';
import type { ConditionInput } from '../../runtime/conditions.js';
import { pinnedDigest } from '../mcpserver/tool-states.js';
import { policyTargets } from '../policy-targets.js';

export interface PolicyVerdict {
  conditions: ConditionInput[];
  targets: string[];
}

export function rejectedAsInvalid(errors: readonly FieldError[], generation: number): PolicyVerdict {
  const message = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return {
    targets: [],
    conditions: [
      { type: 'Accepted', status: 'False', reason: 'Invalid', message, observedGeneration: generation },
      { type: 'ResolvedRefs', status: 'Unknown', reason: 'Invalid', message: 'the policy is invalid', observedGeneration: generation },
      { type: 'Conflicted', status: 'Unknown', reason: 'Invalid', message: 'the policy is invalid', observedGeneration: generation },
    ],
  };
}

function conflicts(policy: MCPPolicy, server: MCPServer, others: readonly MCPPolicy[]): { reason: string; message: string }[] {
  const found: { reason: string; message: string }[] = [];
  const serverKey = `${server.metadata.namespace ?? 'default'}/${server.metadata.name}`;
  for (const other of others) {
    if (other.metadata.name === policy.metadata.name || !policyTargets(other, server)) continue;
    for (const rule of policy.spec.tools.rules) {
      const theirs = other.spec.tools.rules.find((r) => r.name === rule.name);
      if (theirs === undefined) continue;
      const mine = pinnedDigest(rule);
      const their = pinnedDigest(theirs);
      if (mine !== undefined && their !== undefined && mine !== their) {
        found.push({ reason: 'ConflictingPins', message: `tool ${rule.name} on ${serverKey} is pinned to ${mine.slice(0, 19)}… here and to ${their.slice(0, 19)}… by MCPPolicy ${other.metadata.name}; no definition can satisfy both` });
      } else if (rule.action !== theirs.action) {
        found.push({ reason: 'ConflictingActions', message: `tool ${rule.name} on ${serverKey} is ${rule.action === 'Allow' ? 'allowed' : 'denied'} here and ${theirs.action === 'Allow' ? 'allowed' : 'denied'} by MCPPolicy ${other.metadata.name}; Deny wins` });
      }
    }
    const defaultDenied = (denier: MCPPolicy, allower: MCPPolicy): string[] =>
      denier.spec.tools.default === 'Deny'
        ? allower.spec.tools.rules.filter((r) => r.action === 'Allow' && !denier.spec.tools.rules.some((d) => d.name === r.name)).map((r) => r.name)
        : [];
    const deniedHere = defaultDenied(policy, other);
    if (deniedHere.length > 0) {
      found.push({ reason: 'ConflictingDefaults', message: `tool(s) ${deniedHere.join(', ')} on ${serverKey} allowed by MCPPolicy ${other.metadata.name} are denied here by tools.default: Deny; deny-overrides decides: denied` });
    }
    const deniedThere = defaultDenied(other, policy);
    if (deniedThere.length > 0) {
      found.push({ reason: 'ConflictingDefaults', message: `tool(s) ${deniedThere.join(', ')} on ${serverKey} allowed here are denied by tools.default: Deny of MCPPolicy ${other.metadata.name}; deny-overrides decides: denied` });
    }
    if (other.spec.mode !== policy.spec.mode) {
      found.push({ reason: 'MixedModes', message: `${serverKey} has this policy in ${policy.spec.mode} mode and MCPPolicy ${other.metadata.name} in ${other.spec.mode} mode; deny-overrides decides: denials of the Enforce policy block calls, denials of the Audit policy are only recorded` });
    }
  }
  return found;
}

export function policyVerdict(policy: MCPPolicy, servers: readonly MCPServer[], policies: readonly MCPPolicy[], generation: number): PolicyVerdict {
  const g = generation;
  const ns = policy.metadata.namespace ?? 'default';
  const resolved = servers.filter((s) => policyTargets(policy, s));
  const targets = resolved.map((s) => `${ns}/${s.metadata.name}`).sort();
  const missing = policy.spec.targetRefs.filter((ref) => !resolved.some((s) => s.metadata.name === ref.name)).map((ref) => ref.name);
  const resolvedRefs: ConditionInput =
    missing.length === 0
      ? { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: `targets ${targets.join(', ')}`, observedGeneration: g }
      : { type: 'ResolvedRefs', status: 'False', reason: 'TargetNotFound', message: `no MCPServer named ${missing.join(', ')} in namespace ${ns}`, observedGeneration: g };
  const accepted: ConditionInput =
    resolved.length > 0
      ? { type: 'Accepted', status: 'True', reason: 'Accepted', message: `applies to ${targets.length} MCPServer(s) in ${policy.spec.mode} mode`, observedGeneration: g }
      : { type: 'Accepted', status: 'False', reason: 'TargetNotFound', message: `no MCPServer named ${missing.join(', ')} in namespace ${ns}; the policy applies once one exists`, observedGeneration: g };
  const found = resolved.flatMap((s) => conflicts(policy, s, policies));
  const conflicted: ConditionInput =
    found.length > 0
      ? { type: 'Conflicted', status: 'True', reason: found[0]?.reason ?? 'Conflict', message: found.map((f) => f.message).join('; '), observedGeneration: g }
      : { type: 'Conflicted', status: 'False', reason: 'NoConflicts', message: 'no other policy on the same servers contradicts this one', observedGeneration: g };
  return { targets, conditions: [accepted, resolvedRefs, conflicted] };
}
