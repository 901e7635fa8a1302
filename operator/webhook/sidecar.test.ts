import { describe, expect, it } from 'vitest';
import { defaultServerSpec } from '../../authz/api/defaults.js';
import type { MCPServer } from '../../authz/api/types.js';
import { injectionPatch, SIDECAR_CONTAINER } from './sidecar.js';
import { review } from './server.js';

const server: MCPServer = {
  apiVersion: 'mcpwarden.io/v1alpha1',
  kind: 'MCPServer',
  metadata: { name: 'files', namespace: 'demo' },
  spec: { ...defaultServerSpec(8080), selector: { matchLabels: { app: 'files-mcp' } } },
};

function admission(pod: object, namespace = 'demo', operation = 'CREATE'): object {
  return { request: { uid: 'u1', namespace, operation, kind: { kind: 'Pod' }, object: pod } };
}
function patchOf(response: object): Array<{ op: string; path: string; value: unknown }> {
  const patch = (response as { patch?: string }).patch;
  return patch === undefined ? [] : (JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Array<{ op: string; path: string; value: unknown }>);
}

describe('sidecar injection', () => {
  const selected = { metadata: { labels: { app: 'files-mcp' } }, spec: { containers: [{ name: 'server' }] } };

  it('adds the hardened Envoy sidecar, its volumes and the annotation to a selected pod', () => {
    const ops = injectionPatch(selected, server, 'envoy:1');
    expect(ops.map((o) => o.path)).toEqual(['/spec/initContainers', '/spec/volumes', '/metadata/annotations']);
    const container = (ops[0]?.value as Array<Record<string, unknown>>)[0];
    expect(container).toMatchObject({ name: SIDECAR_CONTAINER, restartPolicy: 'Always', securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } });
  });

  it('appends to existing init containers, volumes and annotations without replacing them', () => {
    const pod = { metadata: { labels: { app: 'files-mcp' }, annotations: { a: 'b' } }, spec: { containers: [{ name: 'server' }], initContainers: [{ name: 'migrate' }], volumes: [{ name: 'data' }] } };
    const ops = injectionPatch(pod, server, 'envoy:1');
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual([
      'add /spec/initContainers/0',
      'add /spec/volumes/-',
      'add /spec/volumes/-',
      'add /metadata/annotations/mcpwarden.io~1injected-for',
    ]);
  });

  it('patches selected pods only, and each pod only once', () => {
    expect(patchOf(review(admission(selected), [server as never], 'envoy:1'))).not.toEqual([]);
    expect(review(admission({ metadata: { labels: { app: 'web' } }, spec: { containers: [] } }), [server as never], 'envoy:1')).toEqual({ uid: 'u1', allowed: true });
    expect(review(admission(selected, 'other'), [server as never], 'envoy:1')).toEqual({ uid: 'u1', allowed: true });
    expect(review(admission(selected, 'demo', 'UPDATE'), [server as never], 'envoy:1')).toEqual({ uid: 'u1', allowed: true });
    const already = { ...selected, spec: { containers: [{ name: 'server' }], initContainers: [{ name: SIDECAR_CONTAINER }] } };
    expect(review(admission(already), [server as never], 'envoy:1')).toEqual({ uid: 'u1', allowed: true });
    const optedOut = { metadata: { labels: { app: 'files-mcp' }, annotations: { 'mcpwarden.io/inject': 'false' } }, spec: { containers: [] } };
    expect(review(admission(optedOut), [server as never], 'envoy:1')).toEqual({ uid: 'u1', allowed: true });
  });
});
