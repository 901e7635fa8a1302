/**
 * Stage 3 — tool existence and pin. A tools/call must name a tool the policy allows, and
 * where the tool is pinned, the definition the server currently serves (discovery's live
 * digest) must equal the approved pin: a changed definition is a rug pull until re-approved.
 *
 * Rules: tool-denied, tool-not-allowed, tool-unknown, tool-drifted.
 */
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

export function toolStage(ctx: CheckContext): Denial | undefined {
  const { policy, server } = ctx;
  for (const call of ctx.toolCalls) {
    const rule = policy.toolRules.get(call.name);
    call.rule = rule;
    const tool = { tool: call.name };
    if (rule !== undefined && rule.action === 'Deny') {
      return deny('tool', 'tool-denied', 'policy', ErrorCode.ToolDenied, `tool "${call.name}" is denied by policy ${policy.key}`, { data: tool });
    }
    if (rule === undefined && policy.toolDefault === 'Deny') {
      return deny('tool', 'tool-not-allowed', 'policy', ErrorCode.ToolDenied, `tool "${call.name}" is not allowed by policy ${policy.key} (tools.default: Deny)`, { data: tool });
    }
    // Discovery knows what the server serves: a name it never listed is not a real tool.
    const live = server.liveDigests.get(call.name);
    if (live === undefined && server.liveDigests.size > 0) {
      return deny('tool', 'tool-unknown', 'policy', ErrorCode.ToolDenied, `tool "${call.name}" is not served by ${server.key}`, { data: tool });
    }
    const pinned = rule?.pinnedDigest;
    if (pinned !== undefined && live !== undefined && live !== pinned) {
      return deny('tool', 'tool-drifted', 'policy', ErrorCode.ToolPinMismatch, `tool "${call.name}" changed since it was approved (live ${live.slice(0, 19)}…, pinned ${pinned.slice(0, 19)}…); re-approve it in ${policy.key}`, { data: tool });
    }
  }
  return undefined;
}
