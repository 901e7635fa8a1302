import { describe, expect, it } from 'vitest';
import { defaultServerSpec } from '../../../authz/api/defaults.js';
import type { MCPServer } from '../../../authz/api/types.js';
import { overlapCondition } from './overlap.js';

const server = (name: string, app: string): MCPServer => ({
  apiVersion: 'mcpwarden.io/v1alpha1',
  kind: 'MCPServer',
  metadata: { name, namespace: 'demo' },
  spec: { ...defaultServerSpec(8080), selector: { matchLabels: { app } } },
});
const pod = (name: string, app: string): { metadata: { name: string; labels: Record<string, string> } } => ({ metadata: { name, labels: { app } } });

describe('overlapCondition', () => {
  it('names the pods another server also selects and which server the webhook picks, from either side', () => {
    const pods = [pod('files-0', 'files'), pod('files-1', 'files')];
    const onB = overlapCondition(server('b-files', 'files'), pods, [server('a-files', 'files'), server('web', 'web')], 4);
    expect(onB).toMatchObject({ type: 'SelectorOverlap', status: 'True', reason: 'PodsSelectedTwice', observedGeneration: 4 });
    expect(onB.message).toBe('pod(s) files-0, files-1 also selected by MCPServer a-files; such a pod gets the sidecar of demo/a-files only (first by name): make the selectors disjoint');
    const onA = overlapCondition(server('a-files', 'files'), pods, [server('b-files', 'files')], 1);
    expect(onA.message).toContain('also selected by MCPServer b-files; such a pod gets the sidecar of demo/a-files only');
  });

  it('is False when the other servers select other pods (and with no other server)', () => {
    const pods = [pod('files-0', 'files')];
    expect(overlapCondition(server('files', 'files'), pods, [server('web', 'web')], 1)).toMatchObject({ status: 'False', reason: 'NoOverlap' });
    expect(overlapCondition(server('files', 'files'), pods, [], 1)).toMatchObject({ status: 'False', reason: 'NoOverlap' });
  });
});
