/**
 * Stage 7, session integrity: binding on first use, lifetime and idle expiry, revocation,
 * suspension, impossible travel and JSON-RPC id replay/gaps. This module turns a request into
 * the session part of a store observation and the store's answer into denials.
 *
 * Rule names: session-revoked, session-suspended, session-expired, session-idle-timeout,
 * session-binding-mismatch, impossible-travel, id-replay, id-too-old, id-gap, session-churn,
 * state-store-unavailable.
 *
 * What applies per identity (see ../session/README.md):
 * - `Mcp-Session-Id` sessions (2025-03-26 … 2025-11-25): everything; integer ids in a sliding
 *   window of `reorderWindow` around the highest id (duplicates are replays; an id below the
 *   window cannot be proven fresh, so it follows `onReplay` as `id-too-old`; a jump ahead of
 *   the window is a gap under `onGap`), string ids by exact match among the recent ones; expiry
 *   refuses the session (the client must initialize a new one).
 * - Derived identities (principal, or address + user agent; always so in the stateless
 *   2026-07-28 revision): the identity is its own binding; expiry starts a fresh session; ids
 *   repeat legitimately across independent clients of one principal, so a replay is the same
 *   id with the same `tools/call` message within `requestIds.replayWindow`, and there are no
 *   gaps.
 */
import type { BehaviorDetector, SessionSpec } from '../api/types.js';
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';
import { redactedAddress, sourceKey } from '../session/address.js';
import { bindingsFor } from '../session/binding.js';
import { durationOr } from '../session/duration.js';
import { shortHash } from '../session/hash.js';
import type { SessionIdentity } from '../session/identity.js';
import type { Effect, IdObservation, ObservationResult, SessionObservation } from '../state/store.js';
import { BEHAVIOR_RULE_NAMES } from './behavior.js';

export const DEFAULT_MAX_LIFETIME_MS = 24 * 3_600_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 2 * 3_600_000;
export const DEFAULT_REORDER_WINDOW = 32;
export const DEFAULT_REPLAY_WINDOW_MS = 5 * 60_000;
/** Largest reorder window accepted (the window is kept per session). */
const MAX_REORDER_WINDOW = 4_096;

export interface CompiledSession {
  readonly spec: SessionSpec;
  readonly maxLifetimeMs: number;
  readonly idleTimeoutMs: number;
  readonly reorderWindow: number;
  readonly replayWindowMs: number;
  readonly onReplay: 'Deny' | 'Warn' | 'Off';
  readonly onGap: 'Deny' | 'Warn' | 'Off';
  readonly onMismatch: 'Deny' | 'Suspend';
  readonly travelMinIntervalMs: number;
  readonly travelAction: 'Deny' | 'Suspend' | 'Warn';
  readonly failOpen: boolean;
}

export function compileSession(spec: SessionSpec): CompiledSession {
  const ids = spec.requestIds ?? { onReplay: 'Deny', reorderWindow: DEFAULT_REORDER_WINDOW };
  const reorderWindow = Math.floor(ids.reorderWindow ?? DEFAULT_REORDER_WINDOW);
  if (!(reorderWindow >= 0 && reorderWindow <= MAX_REORDER_WINDOW)) {
    throw new Error(`spec.session.requestIds.reorderWindow: ${ids.reorderWindow} must be between 0 and ${MAX_REORDER_WINDOW}`);
  }
  return {
    spec,
    maxLifetimeMs: durationOr(spec.maxLifetime, DEFAULT_MAX_LIFETIME_MS, 'spec.session.maxLifetime'),
    idleTimeoutMs: durationOr(spec.idleTimeout, DEFAULT_IDLE_TIMEOUT_MS, 'spec.session.idleTimeout'),
    reorderWindow,
    replayWindowMs: durationOr(ids.replayWindow, DEFAULT_REPLAY_WINDOW_MS, 'spec.session.requestIds.replayWindow'),
    onReplay: ids.onReplay ?? 'Deny',
    onGap: ids.onGap ?? 'Warn',
    onMismatch: spec.onMismatch ?? 'Deny',
    travelMinIntervalMs:
      spec.impossibleTravel === undefined ? 0 : durationOr(spec.impossibleTravel.minInterval, 3_600_000, 'spec.session.impossibleTravel.minInterval'),
    travelAction: spec.impossibleTravel?.action ?? spec.onMismatch ?? 'Deny',
    failOpen: spec.onStoreUnavailable === 'FailOpen',
  };
}

function effectOf(action: 'Deny' | 'Suspend' | 'Warn' | 'Off', enforcing: boolean): Effect {
  if (!enforcing || action === 'Warn' || action === 'Off') return 'none';
  return action === 'Suspend' ? 'suspend' : 'block';
}

function requestIds(ctx: CheckContext, identity: SessionIdentity, c: CompiledSession): IdObservation[] {
  if (c.onReplay === 'Off' && c.onGap === 'Off') return [];
  const out: IdObservation[] = [];
  let bodyDigest: string | undefined;
  for (const m of ctx.messages) {
    if (m.kind !== 'request' || m.id === null) continue;
    // Without a session, independent clients of one principal start at the same ids and send
    // the same discovery requests; only a repeated tool call is a replay worth refusing.
    if (identity.kind !== 'mcp' && m.method !== 'tools/call') continue;
    if (identity.kind === 'mcp') {
      out.push(typeof m.id === 'number' && Number.isSafeInteger(m.id) ? { kind: 'int', id: m.id } : { kind: 'hash', hash: shortHash('id', String(m.id)) });
    } else {
      bodyDigest ??= shortHash('body', ctx.request.body);
      out.push({ kind: 'hash', hash: shortHash('id', JSON.stringify(m.id), bodyDigest) });
    }
  }
  return out;
}

export function sessionObservation(
  ctx: CheckContext,
  identity: SessionIdentity,
  c: CompiledSession,
  enforcing: boolean,
  country: string,
): SessionObservation {
  const derived = identity.kind !== 'mcp';
  return {
    kind: identity.kind,
    label: identity.label,
    client: derived ? '' : clientLabel(identity),
    source: sourceKey(identity.address),
    principal: identity.principal,
    maxLifetimeMs: c.maxLifetimeMs,
    idleTimeoutMs: c.idleTimeoutMs,
    renewOnExpiry: derived,
    bind: bindingsFor(ctx, identity, c.spec),
    mismatch: effectOf(c.onMismatch, enforcing),
    country: c.travelMinIntervalMs > 0 ? country : '',
    travelMinIntervalMs: c.travelMinIntervalMs,
    travel: effectOf(c.travelAction, enforcing),
    ids: requestIds(ctx, identity, c),
    reorderWindow: c.reorderWindow,
    replayWindowMs: derived ? c.replayWindowMs : 0,
    replay: effectOf(c.onReplay, enforcing),
    gap: derived ? 'none' : effectOf(c.onGap, enforcing),
  };
}

/** Labels end up in terminals (`sessions list`): no control characters from client input. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Where an `Mcp-Session-Id` session started, for operators: redacted address, short user agent. */
function clientLabel(identity: SessionIdentity): string {
  const agent = identity.userAgent.length > 40 ? `${identity.userAgent.slice(0, 39)}…` : identity.userAgent;
  return printable(`${redactedAddress(identity.address)} ${agent}`.trim());
}

function rejected(rule: string, message: string, data?: Denial['data'], excerpt?: string): Denial {
  return deny('session', rule, 'policy', ErrorCode.SessionRejected, message, {
    ...(data !== undefined ? { data } : {}),
    ...(excerpt !== undefined ? { excerpt } : {}),
  });
}

/** Rule names for the reasons the store records with a suspension (counter ids included). */
export function suspensionRule(reason: string): string {
  if (reason === 'binding-mismatch') return 'session-binding-mismatch';
  const detector = /^(rate|loop|enumeration|burst|bulkAccess)\d/.exec(reason)?.[1] as BehaviorDetector | undefined;
  return detector !== undefined ? BEHAVIOR_RULE_NAMES[detector] : reason;
}

function actionData(action: string, result: ObservationResult): Record<string, string> {
  return action === 'Suspend' && result.suspendedNow > 0
    ? { action, suspendedUntil: new Date(result.suspendedNow).toISOString() }
    : { action };
}

/** Refusals that hold whatever the request: revocation and suspension (session or principal). */
export function standingDenial(result: ObservationResult, scope: 'session' | 'principal'): Denial | undefined {
  if (result.revoked) return rejected('session-revoked', `${scope} revoked by an administrator`);
  if (result.suspendedUntil > 0) {
    const until = new Date(result.suspendedUntil).toISOString();
    const reason = suspensionRule(result.suspendReason);
    return deny('session', 'session-suspended', 'policy', ErrorCode.Suspended, `${scope} suspended until ${until} (${reason})`, {
      data: { scope, suspendedUntil: until, reason },
    });
  }
  return undefined;
}

/** The session stage's verdict; Warn-level findings go to `ctx.warnings`. */
export function sessionDenial(
  ctx: CheckContext,
  identity: SessionIdentity,
  c: CompiledSession,
  obs: SessionObservation,
  result: ObservationResult,
  country: string,
  retryAfterSeconds: number,
): Denial | undefined {
  const standing = standingDenial(result, 'session');
  if (standing !== undefined) return standing;
  if (result.churned) {
    return deny('session', 'session-churn', 'throttle', ErrorCode.Throttled, 'too many new sessions from this client address; retry later', {
      retryAfterSeconds,
    });
  }
  if (result.expired !== '' && !result.renewed) {
    return result.expired === 'lifetime'
      ? rejected('session-expired', `session older than maxLifetime ${c.spec.maxLifetime ?? '24h'}; start a new session`)
      : rejected('session-idle-timeout', `session idle longer than idleTimeout ${c.spec.idleTimeout ?? '2h'}; start a new session`);
  }
  const findings: Array<{ action: string; denial: Denial }> = [];
  if (result.mismatch !== '') {
    // The addresses go to the security event only: the caller may be the hijacker, who must
    // not learn where the session's owner is.
    const excerpt = result.mismatch === 'sourceAddress' ? `bound to ${result.boundValue}, request from ${identity.address}` : undefined;
    findings.push({
      action: c.onMismatch,
      denial: rejected(
        'session-binding-mismatch',
        `session is bound to another ${result.mismatch} than this request's`,
        { binding: result.mismatch, ...actionData(c.onMismatch, result) },
        excerpt,
      ),
    });
  }
  if (result.travelFrom !== '') {
    findings.push({
      action: c.travelAction,
      denial: rejected(
        'impossible-travel',
        `session changed country faster than ${c.spec.impossibleTravel?.minInterval ?? ''} allows`,
        { ...actionData(c.travelAction, result) },
        `from ${result.travelFrom} to ${country}`,
      ),
    });
  }
  if (result.replayIndex >= 0) {
    findings.push({
      action: c.onReplay,
      denial: rejected('id-replay', `JSON-RPC id already used in this session (replay)`, { ...idData(obs, result.replayIndex) }),
    });
  }
  if (result.tooOldIndex >= 0) {
    findings.push({
      action: c.onReplay,
      denial: rejected('id-too-old', `JSON-RPC id goes back more than reorderWindow ${c.reorderWindow}: it cannot be told apart from a replay`, {
        ...idData(obs, result.tooOldIndex),
      }),
    });
  }
  if (result.gapIndex >= 0) {
    findings.push({
      action: c.onGap,
      denial: rejected('id-gap', `JSON-RPC id jumps ahead more than reorderWindow ${c.reorderWindow}`, {
        direction: 'forward',
        ...idData(obs, result.gapIndex),
      }),
    });
  }
  let first: Denial | undefined;
  for (const f of findings) {
    if (f.action === 'Off') continue;
    if (f.action === 'Warn') ctx.warnings.push({ ...f.denial, warnOnly: true });
    else first ??= f.action === 'Suspend' ? { ...f.denial, code: ErrorCode.Suspended } : f.denial;
  }
  return first;
}

function idData(obs: SessionObservation, index: number): Record<string, string | number> {
  const id = obs.ids[index];
  return id?.kind === 'int' ? { id: id.id } : {};
}

export function storeUnavailableDenial(message: string): Denial {
  return deny('session', 'state-store-unavailable', 'policy', ErrorCode.InternalError, `session state unavailable: ${message}`);
}
