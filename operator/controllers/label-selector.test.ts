import { describe, expect, it } from 'vitest';
import { selectorMatches } from './label-selector.js';

describe('selectorMatches', () => {
  const pod = { app: 'files-mcp', tier: 'backend' };

  it('matches labels and every expression operator', () => {
    expect(selectorMatches({ matchLabels: { app: 'files-mcp' } }, pod)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'db'] }] }, pod)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['frontend'] }] }, pod)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, pod)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] }, pod)).toBe(true);
  });

  it('rejects pods that miss any requirement', () => {
    expect(selectorMatches({ matchLabels: { app: 'files-mcp', tier: 'frontend' } }, pod)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['db'] }] }, pod)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] }, pod)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'canary', operator: 'Exists' }] }, pod)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, pod)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }, pod)).toBe(false);
    expect(selectorMatches({ matchLabels: { app: 'files-mcp' } }, undefined)).toBe(false);
  });

  it('selects nothing with an empty or missing selector (no sidecar in every pod by accident)', () => {
    expect(selectorMatches(undefined, pod)).toBe(false);
    expect(selectorMatches({}, pod)).toBe(false);
    expect(selectorMatches({ matchLabels: {}, matchExpressions: [] }, pod)).toBe(false);
  });
});
