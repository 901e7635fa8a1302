/**
 * The approval state of each discovered tool against the pins in the MCPPolicies that
 * target the server. A pin is a rule's `digest`, or the digest of its `definition`
 * (the same rule the authz service applies, authz/config/snapshot.ts):
 *
 * - Denied: a rule says Deny, or no rule names it and a policy's default is Deny;
 * - Approved: every targeting policy that pins it pins the live digest;
 * - Drifted: a pin exists and the live digest differs (a rug pull until re-approved);
 * - Unapproved: allowed but pinned nowhere.
 */
import { toolDigest } from '../../../authz/api/digest.js';
import type { DiscoveredTool, MCPPolicy, ToolRule, ToolState } from '../../../authz/api/types.js';

export interface LiveTool {
  name: string;
  digest: string;
  findings?: DiscoveredTool['findings'];
}

export function pinnedDigest(rule: ToolRule): string | undefined {
  if (rule.digest !== undefined) return rule.digest;
  if (rule.definition === undefined) return undefined;
  return toolDigest({ ...rule.definition, name: rule.name });
}

function stateOf(tool: LiveTool, policies: readonly MCPPolicy[]): ToolState {
  const pins: string[] = [];
  for (const policy of policies) {
    const rule = policy.spec.tools.rules.find((r) => r.name === tool.name);
    if (rule === undefined) {
      if (policy.spec.tools.default === 'Deny') return 'Denied';
      continue;
    }
    if (rule.action === 'Deny') return 'Denied';
    const pin = pinnedDigest(rule);
    if (pin !== undefined) pins.push(pin);
  }
  if (pins.length === 0) return 'Unapproved';
  return pins.every((pin) => pin === tool.digest) ? 'Approved' : 'Drifted';
}

export function toolStates(live: readonly LiveTool[], policies: readonly MCPPolicy[]): DiscoveredTool[] {
  return [...live]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((tool) => ({
      name: tool.name,
      digest: tool.digest,
      state: stateOf(tool, policies),
      ...(tool.findings !== undefined && tool.findings.length > 0 ? { findings: tool.findings } : {}),
    }));
}
