/**
 * Stage 8, behaviour: per session (or per principal) detectors from `spec.behavior`, each with
 * threshold, window and a graduated action (Warn → Throttle → Suspend, or Deny). This module
 * turns one request into counter operations for the store and the store's answers into
 * denials; the counting itself happens in the store (memory or Redis) in the same round trip
 * as the session checks.
 *
 * Rule names: rate-limit, tool-loop, enumeration, burst, bulk-access.
 */
import type { BehaviorAction, BehaviorDetector, BehaviorRule } from '../api/types.js';
import { loopDigest, memberOf, sequentialValue } from '../behavior/features.js';
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';
import { durationOr } from '../session/duration.js';
import { shortHash } from '../session/hash.js';
import type { CounterOp, CounterResult, Effect } from '../state/store.js';

export const BEHAVIOR_RULE_NAMES: Readonly<Record<BehaviorDetector, string>> = {
  rate: 'rate-limit',
  loop: 'tool-loop',
  enumeration: 'enumeration',
  burst: 'burst',
  bulkAccess: 'bulk-access',
};

/** Defaults for fields a rule leaves out (ARCHITECTURE.md "The API, by example"). */
const DEFAULTS: Readonly<Record<BehaviorDetector, { threshold: number; windowMs: number }>> = {
  rate: { threshold: 50, windowMs: 1_000 },
  loop: { threshold: 100, windowMs: 60_000 },
  enumeration: { threshold: 50, windowMs: 60_000 },
  bulkAccess: { threshold: 200, windowMs: 60_000 },
  // For burst, the window is the bucket compared with the baseline and the threshold the
  // fewest requests in it that can count as a burst.
  burst: { threshold: 20, windowMs: 10_000 },
};
const DEFAULT_BURST_FACTOR = 10;
/** Buckets a session must have lived through before its baseline means anything. */
const BURST_MIN_HISTORY = 3;
/** Enumeration counts steps of 1..3: parallel requests arrive slightly out of order. */
const ENUMERATION_MAX_STEP = 3;
/** Arguments of one call inspected for enumeration when the rule names none. */
const ENUMERATION_MAX_ARGS = 8;

export interface CompiledBehaviorRule {
  readonly index: number;
  /** Counter id (prefix) of the rule: one string shared by every counter the store keeps. */
  readonly id: string;
  readonly detector: BehaviorDetector;
  readonly rule: string;
  readonly action: BehaviorAction;
  readonly threshold: number;
  readonly windowMs: number;
  readonly window: string;
  readonly factor: number;
  readonly tool: string | undefined;
  readonly argument: string | undefined;
  readonly scope: 'session' | 'principal';
}

export function compileBehavior(rules: readonly BehaviorRule[]): CompiledBehaviorRule[] {
  return rules.map((r, index) => {
    const d = DEFAULTS[r.detector];
    if (d === undefined) throw new Error(`spec.behavior[${index}].detector: unknown detector '${String(r.detector)}'`);
    const windowMs = durationOr(r.window, d.windowMs, `spec.behavior[${index}].window`);
    const threshold = r.threshold ?? d.threshold;
    if (!(windowMs > 0) || !(threshold >= 0)) throw new Error(`spec.behavior[${index}]: window and threshold must be positive`);
    return {
      index,
      id: `${r.detector}${index}`,
      detector: r.detector,
      rule: BEHAVIOR_RULE_NAMES[r.detector],
      action: r.action,
      threshold,
      windowMs,
      window: r.window ?? `${windowMs / 1_000}s`,
      factor: r.factor ?? DEFAULT_BURST_FACTOR,
      tool: r.tool,
      argument: r.argument ?? (r.detector === 'bulkAccess' ? 'path' : undefined),
      scope: r.scope ?? 'session',
    };
  });
}

export interface PlannedCounter {
  readonly op: CounterOp;
  readonly rule: CompiledBehaviorRule;
  readonly tool: string | undefined;
  readonly argument: string | undefined;
}

function effectOf(action: BehaviorAction, enforcing: boolean): Effect {
  if (!enforcing || action === 'Warn') return 'none';
  return action === 'Suspend' ? 'suspend' : 'block';
}

/** Counter operations for one request, split by scope. */
export function planBehavior(
  ctx: CheckContext,
  rules: readonly CompiledBehaviorRule[],
  enforcing: boolean,
  hasPrincipal: boolean,
): { session: PlannedCounter[]; principal: PlannedCounter[] } {
  const session: PlannedCounter[] = [];
  const principal: PlannedCounter[] = [];
  // Every message costs the server work (notifications too); a bodiless request (GET stream,
  // DELETE) counts as one.
  const requests = Math.max(1, ctx.messages.length);
  for (const rule of rules) {
    const out = rule.scope === 'principal' && hasPrincipal ? principal : session;
    const effect = effectOf(rule.action, enforcing);
    const prefix = rule.id;
    const calls = rule.tool === undefined ? ctx.toolCalls : ctx.toolCalls.filter((c) => c.name === rule.tool);
    switch (rule.detector) {
      case 'rate':
      case 'burst': {
        const cost = rule.tool === undefined ? requests : calls.length;
        if (cost === 0) break;
        const op: CounterOp =
          rule.detector === 'rate'
            ? { kind: 'bucket', id: prefix, capacity: rule.threshold, refillPerMs: rule.threshold / rule.windowMs, cost, effect }
            : { kind: 'burst', id: prefix, bucketMs: rule.windowMs, factor: rule.factor, minCount: rule.threshold, minHistory: BURST_MIN_HISTORY, cost, effect };
        out.push({ op, rule, tool: rule.tool, argument: undefined });
        break;
      }
      case 'loop':
        for (const call of calls) {
          const id = `${prefix}.${loopDigest(call.name, call.arguments)}`;
          out.push({ op: { kind: 'window', id, windowMs: rule.windowMs, threshold: rule.threshold, effect }, rule, tool: call.name, argument: undefined });
        }
        break;
      case 'enumeration':
        for (const call of calls) {
          const names = rule.argument !== undefined ? [rule.argument] : Object.keys(call.arguments).slice(0, ENUMERATION_MAX_ARGS);
          for (const name of names) {
            const seq = sequentialValue(call.arguments[name]);
            if (seq === undefined) continue;
            const id = `${prefix}.${shortHash(call.name, name, seq.shape)}`;
            out.push({
              op: { kind: 'window', id, windowMs: rule.windowMs, threshold: rule.threshold, seq: seq.n, maxStep: ENUMERATION_MAX_STEP, effect },
              rule,
              tool: call.name,
              argument: name,
            });
          }
        }
        break;
      case 'bulkAccess':
        for (const call of calls) {
          const name = rule.argument ?? 'path';
          const member = memberOf(call.arguments[name]);
          if (member === undefined) continue;
          out.push({ op: { kind: 'distinct', id: prefix, windowMs: rule.windowMs, threshold: rule.threshold, member, effect }, rule, tool: call.name, argument: name });
        }
        break;
    }
  }
  return { session, principal };
}

function describe(p: PlannedCounter, value: number, scope: string): string {
  const r = p.rule;
  switch (r.detector) {
    case 'rate':
      return `rate limit: more than ${r.threshold} requests per ${r.window} in this ${scope}`;
    case 'loop':
      return `tool loop: '${p.tool ?? ''}' called with the same arguments more than ${r.threshold} times in ${r.window}`;
    case 'enumeration':
      return `enumeration: '${p.tool ?? ''}' argument '${p.argument ?? ''}' stepped through sequential values more than ${r.threshold} times in ${r.window}`;
    case 'bulkAccess':
      return `bulk access: more than ${r.threshold} distinct '${p.argument ?? ''}' values in ${r.window} (${Math.floor(value)})`;
    case 'burst':
      return `burst: ${Math.floor(value)} requests in ${r.window}, more than ${r.factor}x this ${scope}'s own baseline`;
  }
}

/**
 * Denials for the counters that passed their thresholds: Warn ones go to `ctx.warnings`, the
 * first other one is returned (throttle → 429 with Retry-After; suspend and deny → 403).
 */
export function behaviorDenials(
  ctx: CheckContext,
  planned: readonly PlannedCounter[],
  results: readonly CounterResult[],
  scope: 'session' | 'principal',
  retryAfterSeconds: number,
  suspendedUntil: number,
): Denial | undefined {
  let first: Denial | undefined;
  const warned = new Set<string>();
  planned.forEach((p, i) => {
    const result = results[i];
    if (result?.exceeded !== true) return;
    const r = p.rule;
    const data: Record<string, string | number> = {
      detector: r.detector,
      scope,
      threshold: r.detector === 'burst' ? r.factor : r.threshold,
      window: r.window,
      ...(p.tool !== undefined ? { tool: p.tool } : {}),
      ...(p.argument !== undefined ? { argument: p.argument } : {}),
    };
    const message = describe(p, result.value, scope);
    if (r.action === 'Warn') {
      if (warned.has(r.rule)) return;
      warned.add(r.rule);
      ctx.warnings.push(deny('behavior', r.rule, 'policy', ErrorCode.Throttled, message, { data, warnOnly: true }));
      return;
    }
    if (first !== undefined) return;
    if (r.action === 'Throttle') {
      first = deny('behavior', r.rule, 'throttle', ErrorCode.Throttled, message, { data, retryAfterSeconds });
    } else if (r.action === 'Suspend') {
      const until: Record<string, string> = suspendedUntil > 0 ? { suspendedUntil: new Date(suspendedUntil).toISOString() } : {};
      first = deny('behavior', r.rule, 'policy', ErrorCode.Suspended, `${message}; ${scope} suspended`, { data: { ...data, ...until } });
    } else {
      first = deny('behavior', r.rule, 'policy', ErrorCode.Throttled, message, { data });
    }
  });
  return first;
}
