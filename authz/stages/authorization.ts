/**
 * Stage 6 — who may call which tool. A tool rule may name `principals` (exact identities or
 * `prefix*`) and a CEL `when` expression over {principal, claims, tool, args, source}. The
 * principal is the verified JWT subject (from Envoy's jwt_authn metadata) or the client
 * certificate identity of the source peer. CEL programs are parsed and type-checked at load;
 * an evaluation error (a missing claim, a wrong type) denies: fail closed.
 *
 * Rules: principal-not-allowed, condition-false, condition-error.
 */
import { Environment } from '@marcbachmann/cel-js';
import type { ToolRule } from '../api/types.js';
import type { AuthorizationCheck, AuthorizationInput } from '../pipeline/compiled.js';
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

const celEnvironment = new Environment({ unlistedVariablesAreDyn: false })
  .registerVariable('principal', 'string')
  .registerVariable('claims', 'map')
  .registerVariable('tool', 'string')
  .registerVariable('args', 'map')
  .registerVariable('source', 'map');

export class AuthorizationCompileError extends Error {}

type PrincipalMatcher = (principal: string) => boolean;

function compilePrincipals(patterns: readonly string[]): PrincipalMatcher {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p === '*') return () => true;
    if (p.endsWith('*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (principal) => exact.has(principal) || prefixes.some((prefix) => principal.startsWith(prefix));
}

/** Compiles a rule's `principals` and `when`; undefined when the rule sets neither. */
export function compileAuthorization(rule: Pick<ToolRule, 'name' | 'principals' | 'when'>): AuthorizationCheck | undefined {
  const principals = rule.principals !== undefined && rule.principals.length > 0 ? compilePrincipals(rule.principals) : undefined;
  let program: ((ctx: Record<string, unknown>) => unknown) | undefined;
  if (rule.when !== undefined && rule.when.trim() !== '') {
    try {
      const parsed = celEnvironment.parse(rule.when);
      const typed = parsed.check();
      if (!typed.valid) throw typed.error ?? new Error('does not type-check');
      if (typed.type !== 'bool' && typed.type !== 'dyn') throw new Error(`must evaluate to bool, not ${typed.type}`);
      program = parsed as unknown as (ctx: Record<string, unknown>) => unknown;
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new AuthorizationCompileError(`tools.rules[${rule.name}].when: ${message}`);
    }
  }
  if (principals === undefined && program === undefined) return undefined;
  const when = rule.when;
  return (input: AuthorizationInput): Denial | undefined => {
    if (principals !== undefined && (input.principal === undefined || !principals(input.principal))) {
      return deny('authorization', 'principal-not-allowed', 'policy', ErrorCode.Unauthorized, `principal ${input.principal === undefined ? '(anonymous)' : `"${input.principal.slice(0, 128)}"`} may not call tool "${input.tool}"`, { data: { tool: input.tool } });
    }
    if (program !== undefined) {
      let result: unknown;
      try {
        result = program({
          principal: input.principal ?? '',
          claims: input.claims,
          tool: input.tool,
          args: input.args,
          source: input.source,
        });
      } catch (err) {
        const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
        return deny('authorization', 'condition-error', 'policy', ErrorCode.Unauthorized, `tool "${input.tool}": condition could not be evaluated (${message}); denied`, { data: { tool: input.tool } });
      }
      if (result !== true) {
        return deny('authorization', 'condition-false', 'policy', ErrorCode.Unauthorized, `tool "${input.tool}": condition not met: ${String(when).slice(0, 160)}`, { data: { tool: input.tool } });
      }
    }
    return undefined;
  };
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

/** The principal: the verified JWT subject, else the client certificate identity of the peer. */
export function principalOf(ctx: CheckContext): string | undefined {
  const sub = ctx.request.claims?.sub;
  return typeof sub === 'string' ? sub : ctx.request.source.principal;
}

export function authorizationStage(ctx: CheckContext): Denial | undefined {
  if (ctx.toolCalls.length === 0) return undefined;
  let principal: string | undefined;
  let resolved = false;
  for (const call of ctx.toolCalls) {
    const authorize = call.rule?.authorize;
    if (authorize === undefined) continue;
    if (!resolved) {
      principal = principalOf(ctx);
      resolved = true;
    }
    const denial = authorize({
      principal,
      claims: ctx.request.claims ?? EMPTY,
      tool: call.name,
      args: call.arguments,
      source: { address: ctx.request.source.address, principal: ctx.request.source.principal },
    });
    if (denial !== undefined) return denial;
  }
  return undefined;
}
