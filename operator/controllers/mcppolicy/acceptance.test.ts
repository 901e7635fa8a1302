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
