/**
 * Stages 7 and 8 as the one async hook of the decision engine: per policy, it derives the
 * session identity, sends the session and behaviour updates of the request to the state store
 * in one call (one Redis round trip), and turns the answers into at most one enforced denial.
 * Warn findings go to `ctx.warnings`. In Audit mode the store records nothing that blocks or
 * suspends, and the denial is returned for the engine to audit.
 */
import type pino from 'pino';
import type { CompiledPolicy } from '../pipeline/compiled.js';
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';
import { durationOr } from '../session/duration.js';
import { bundledGeoLookup, type GeoLookup } from '../session/geo.js';
import { principalRef, requestPrincipal, sessionIdentity } from '../session/identity.js';
import type { Observation, StateStore } from '../state/store.js';
import { behaviorDenials, compileBehavior, planBehavior, type CompiledBehaviorRule } from './behavior.js';
import { compileSession, sessionDenial, sessionObservation, standingDenial, storeUnavailableDenial, type CompiledSession } from './session.js';

export { sessionIdentity } from '../session/identity.js';
export { createStoreFromOptions } from '../state/create-store.js';
export type { StateStore } from '../state/store.js';

export interface StatefulChecks {
  /** Runs session integrity then behaviour for one policy's view of a request; may push to ctx.warnings / ctx.audited; returns the denial to enforce (or undefined). */
  check(ctx: CheckContext): Promise<Denial | undefined>;
  close(): Promise<void>;
}

export interface StatefulOptions {
  readonly store: StateStore;
  /** Milliseconds since the epoch; defaults to the request's `receivedAtMs`. */
  readonly clock?: () => number;
  /** IP → country for impossible travel; the bundled database when omitted. */
  readonly geo?: GeoLookup;
  readonly logger?: pino.Logger;
}

interface CompiledStateful {
  readonly session: CompiledSession;
  readonly behavior: readonly CompiledBehaviorRule[];
  readonly retryAfterSeconds: number;
  readonly suspendMs: number;
}

function compile(policy: CompiledPolicy): CompiledStateful {
  const spec = policy.spec;
  return {
    session: compileSession(spec.session),
    behavior: compileBehavior(spec.behavior ?? []),
    retryAfterSeconds: Math.max(1, Math.ceil(durationOr(spec.actions?.throttle?.retryAfter, 30_000, 'spec.actions.throttle.retryAfter') / 1_000)),
    suspendMs: durationOr(spec.actions?.suspend?.duration, 15 * 60_000, 'spec.actions.suspend.duration'),
  };
}

export function createStatefulChecks(options: StatefulOptions): StatefulChecks {
  const { store, logger } = options;
  // Compiled once per policy object: a reload brings new objects, the old ones are collected.
  const compiled = new WeakMap<CompiledPolicy, CompiledStateful>();
  let geo = options.geo;
  let storeDown = false;

  function compiledFor(policy: CompiledPolicy): CompiledStateful {
    let c = compiled.get(policy);
    if (c === undefined) {
      c = compile(policy);
      compiled.set(policy, c);
    }
    return c;
  }

  function countryOf(address: string): string {
    geo ??= bundledGeoLookup();
    return geo.country(address) ?? '';
  }

  async function check(ctx: CheckContext): Promise<Denial | undefined> {
    const c = compiledFor(ctx.policy);
    const identity = sessionIdentity(ctx);
    ctx.sessionId = identity.ref;
    const enforcing = ctx.policy.mode === 'Enforce';
    const now = options.clock?.() ?? ctx.request.receivedAtMs;
    const country = c.session.travelMinIntervalMs > 0 ? countryOf(identity.address) : '';
    const plan = planBehavior(ctx, c.behavior, enforcing, identity.principal !== '');
    const session = sessionObservation(ctx, identity, c.session, enforcing, country);
    const observations: Observation[] = [
      { ref: identity.ref, policy: ctx.policy.key, nowMs: now, suspendMs: c.suspendMs, session, counters: plan.session.map((p) => p.op) },
    ];
    if (plan.principal.length > 0) {
      observations.push({
        ref: principalRef(ctx, requestPrincipal(ctx)),
        policy: ctx.policy.key,
        nowMs: now,
        suspendMs: c.suspendMs,
        counters: plan.principal.map((p) => p.op),
      });
    }

    let results;
    try {
      results = await store.observe(observations);
      if (storeDown) logger?.info({ store: store.kind }, 'session state store reachable again');
      storeDown = false;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!storeDown) logger?.warn({ store: store.kind, err: message }, 'session state store unavailable');
      storeDown = true;
      const denial = storeUnavailableDenial(message.slice(0, 200));
      if (!c.session.failOpen) return denial;
      ctx.warnings.push({ ...denial, warnOnly: true });
      return undefined;
    }

    const [sessionResult, principalResult] = results;
    if (sessionResult === undefined) return storeUnavailableDenial('no answer');
    for (const r of [sessionResult, principalResult]) {
      if (r !== undefined && r.suspendedNow > 0) {
        logger?.info({ session: identity.ref, policy: ctx.policy.key, until: new Date(r.suspendedNow).toISOString() }, 'session suspended');
      }
    }
    const sessionVerdict = sessionDenial(ctx, identity, c.session, session, sessionResult, country, c.retryAfterSeconds);
    if (sessionVerdict !== undefined) return sessionVerdict;
    if (principalResult !== undefined) {
      const standing = standingDenial(principalResult, 'principal');
      if (standing !== undefined) return standing;
    }
    const bySession = behaviorDenials(ctx, plan.session, sessionResult.counters, 'session', c.retryAfterSeconds, sessionResult.suspendedNow);
    const byPrincipal =
      principalResult === undefined
        ? undefined
        : behaviorDenials(ctx, plan.principal, principalResult.counters, 'principal', c.retryAfterSeconds, principalResult.suspendedNow);
    return bySession ?? byPrincipal;
  }

  return {
    async check(ctx) {
      try {
        return await check(ctx);
      } catch (err) {
        // A fault here is a denial with its own rule, never an accidental allow.
        const message = err instanceof Error ? err.message : String(err);
        return deny('session', 'session-check-failed', 'policy', ErrorCode.InternalError, `session checks failed: ${message.slice(0, 200)}`);
      }
    },
    close: () => store.close(),
  };
}
