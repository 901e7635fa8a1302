import { describe, expect, it } from 'vitest';
import { AuthorizationCompileError, compileAuthorization } from './authorization.js';

const base = { tool: 'query', args: {}, source: { address: '10.0.0.7', principal: undefined } } as const;

describe('tool authorization', () => {
  it('needs nothing when the rule sets neither principals nor when', () => {
    expect(compileAuthorization({ name: 'query' })).toBeUndefined();
  });

  it('allows a CEL condition over claims and denies otherwise', () => {
    const check = compileAuthorization({ name: 'query', when: 'claims.groups.exists(g, g == "analysts")' })!;
    expect(check({ ...base, principal: 'alice', claims: { groups: ['analysts'] } })).toBeUndefined();
    const denial = check({ ...base, principal: 'bob', claims: { groups: ['sales'] } });
    expect(denial?.rule).toBe('condition-false');
    expect(denial?.class).toBe('policy');
    expect(denial?.code).toBe(-32030);
  });

  it('fails closed when the expression cannot be evaluated (missing claim)', () => {
    const check = compileAuthorization({ name: 'query', when: 'claims.groups.exists(g, g == "analysts")' })!;
    expect(check({ ...base, principal: 'carol', claims: {} })?.rule).toBe('condition-error');
  });

  it('sees tool arguments and the source', () => {
    const check = compileAuthorization({ name: 'get_user', when: 'args.id < 100 && source.address.startsWith("10.")' })!;
    expect(check({ ...base, tool: 'get_user', principal: undefined, claims: {}, args: { id: 7 } })).toBeUndefined();
    expect(check({ ...base, tool: 'get_user', principal: undefined, claims: {}, args: { id: 700 } })?.rule).toBe('condition-false');
  });

  it('restricts by principal, exact or prefix', () => {
    const check = compileAuthorization({ name: 'query', principals: ['alice', 'spiffe://prod/ns/agents/*'] })!;
    expect(check({ ...base, principal: 'alice', claims: {} })).toBeUndefined();
    expect(check({ ...base, principal: 'spiffe://prod/ns/agents/sa/bot', claims: {} })).toBeUndefined();
    expect(check({ ...base, principal: 'mallory', claims: {} })?.rule).toBe('principal-not-allowed');
    expect(check({ ...base, principal: undefined, claims: {} })?.rule).toBe('principal-not-allowed');
  });

  it('rejects bad expressions at load, naming the rule', () => {
    expect(() => compileAuthorization({ name: 'query', when: 'claims.groups.exists(g, ' })).toThrow(AuthorizationCompileError);
    expect(() => compileAuthorization({ name: 'query', when: 'nosuchvar == 1' })).toThrow(/tools.rules\[query\].when/);
    expect(() => compileAuthorization({ name: 'query', when: '"a" + "b"' })).toThrow(/bool/);
  });
});
