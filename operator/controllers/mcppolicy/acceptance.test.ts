import { describe, expect, it } from 'vitest';
import { defaultPolicySpec, defaultServerSpec } from '../../../authz/api/defaults.js';
import type { MCPPolicy, MCPServer, ToolRule } from '../../../authz/api/types.js';
import { policyVerdict } from './acceptance.js';

const server = (name: string): MCPServer => ({ apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPServer', metadata: { name, namespace: 'demo' }, spec: defaultServerSpec(8080) });
const policy = (name: string, targets: string[], rules: ToolRule[] = []): MCPPolicy => {
  const spec = defaultPolicySpec(targets.map((t) => ({ name: t })));
  return { apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPPolicy', metadata: { name, namespace: 'demo' }, spec: { ...spec, tools: { default: 'Deny', rules } } };
};
const cond = (v: ReturnType<typeof policyVerdict>, type: string) => v.conditions.find((c) => c.type === type);

describe('policyVerdict', () => {
  it('accepts a policy whose targets exist and lists them', () => {
    const v = policyVerdict(policy('p', ['files']), [server('files'), server('other')], [], 3);
    expect(v.targets).toEqual(['demo/files']);
    expect(cond(v, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted', observedGeneration: 3 });
    expect(cond(v, 'ResolvedRefs')).toMatchObject({ status: 'True' });
  });

  it('names the missing targets, and rejects when none resolve', () => {
    const partial = policyVerdict(policy('p', ['files', 'ghost']), [server('files')], [], 1);
    expect(cond(partial, 'Accepted')?.status).toBe('True');
    expect(cond(partial, 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'TargetNotFound', message: 'no MCPServer named ghost in namespace demo' });
    const none = policyVerdict(policy('p', ['ghost']), [server('files')], [], 1);
    expect(cond(none, 'Accepted')).toMatchObject({ status: 'False', reason: 'TargetNotFound' });
    expect(none.targets).toEqual([]);
  });

  it('reports contradicting pins and actions of other policies on the same server', () => {
    const mine = policy('mine', ['files'], [{ name: 'query', action: 'Allow', digest: `sha256:${'a'.repeat(64)}` }, { name: 'read_file', action: 'Allow' }]);
    const theirs = policy('theirs', ['files'], [{ name: 'query', action: 'Allow', digest: `sha256:${'b'.repeat(64)}` }, { name: 'read_file', action: 'Deny' }]);
    const v = policyVerdict(mine, [server('files')], [mine, theirs], 1);
    expect(cond(v, 'Conflicted')).toMatchObject({ status: 'True', reason: 'ConflictingPins' });
    expect(cond(v, 'Conflicted')?.message).toMatch(/tool query on demo\/files is pinned .* by MCPPolicy theirs.*tool read_file .* denied by MCPPolicy theirs; Deny wins/);
    const elsewhere = policy('elsewhere', ['other'], [{ name: 'query', action: 'Deny' }]);
    expect(cond(policyVerdict(mine, [server('files'), server('other')], [mine, elsewhere], 1), 'Conflicted')).toMatchObject({ status: 'False', reason: 'NoConflicts' });
  });
});

describe('policyVerdict, informational conflicts', () => {
  it('reports an explicit Allow that another policy denies through tools.default: Deny, from both sides', () => {
    const strict = policy('strict', ['files'], [{ name: 'read_file', action: 'Allow' }]);
    const open = { ...policy('open', ['files'], [{ name: 'run_backup', action: 'Allow' }]) };
    open.spec = { ...open.spec, tools: { default: 'Allow', rules: open.spec.tools.rules } };
    const here = cond(policyVerdict(strict, [server('files')], [strict, open], 1), 'Conflicted');
    expect(here).toMatchObject({ status: 'True', reason: 'ConflictingDefaults' });
    expect(here?.message).toContain('run_backup on demo/files allowed by MCPPolicy open are denied here by tools.default: Deny; deny-overrides decides');
    const there = cond(policyVerdict(open, [server('files')], [strict, open], 1), 'Conflicted');
    expect(there?.message).toContain('run_backup on demo/files allowed here are denied by tools.default: Deny of MCPPolicy strict');
    // A tool both name is not a default conflict; neither is a default Allow.
    const agreeing = policy('agreeing', ['files'], [{ name: 'read_file', action: 'Allow' }]);
    expect(cond(policyVerdict(strict, [server('files')], [strict, agreeing], 1), 'Conflicted')).toMatchObject({ status: 'False', reason: 'NoConflicts' });
  });

  it('reports Enforce and Audit policies on one server', () => {
    const enforce = policy('enforce', ['files']);
    const audit = policy('audit', ['files']);
    audit.spec = { ...audit.spec, mode: enforce.spec.mode === 'Enforce' ? 'Audit' : 'Enforce' };
    const c = cond(policyVerdict(enforce, [server('files')], [enforce, audit], 1), 'Conflicted');
    expect(c).toMatchObject({ status: 'True', reason: 'MixedModes' });
    expect(c?.message).toContain('deny-overrides decides');
  });
});
