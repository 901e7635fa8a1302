/**
 * The generated CRDs against a real kube-apiserver: accepted (structural, CEL compiles within
 * the cost budget), defaults applied by the API server equal the ones ajv applies from the
 * same schema, and the CEL rules refuse what standalone validation refuses.
 */
import { request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCrds } from '../../scripts/gen-crds.js';
import { kubeBinariesPresent, startCluster, type TestCluster } from '../../test/support/cluster.js';
import { validateResource } from './validate.js';

const GROUP = 'mcpwarden.io';
const VERSION = 'v1alpha1';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

describe.skipIf(!kubeBinariesPresent())('CRDs on a real API server', () => {
  let cluster: TestCluster;
  let kc: KubeConfig;

  /** Raw JSON over HTTPS: the typed client re-serialises CRDs and drops x-kubernetes-* keys. */
  async function call(method: string, path: string, body?: unknown): Promise<Reply> {
    const options: RequestOptions = { method, headers: { 'content-type': 'application/json' } };
    await kc.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      const req = request(`${cluster.server}${path}`, options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  beforeAll(async () => {
    cluster = await startCluster();
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    for (const crd of generateCrds()) {
      const created = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd.object);
      if (created.status !== 201) throw new Error(`${crd.file} refused: ${JSON.stringify(created.body)}`);
    }
    const deadline = Date.now() + 30_000;
    for (const name of ['mcpservers.mcpwarden.io', 'mcppolicies.mcpwarden.io']) {
      for (;;) {
        const crd = await call('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        const conditions = ((crd.body.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []);
        if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
        if (Date.now() > deadline) throw new Error(`${name} not established: ${JSON.stringify(crd.body.status)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  async function create(plural: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = await call('POST', `/apis/${GROUP}/${VERSION}/namespaces/default/${plural}`, body);
    if (reply.status !== 201) throw new Error(`refused: ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  async function refusal(plural: string, body: Record<string, unknown>): Promise<string> {
    const reply = await call('POST', `/apis/${GROUP}/${VERSION}/namespaces/default/${plural}`, body);
    expect(reply.status, JSON.stringify(reply.body)).toBe(422);
    return String(reply.body.message);
  }

  it('applies the same defaults as standalone validation', async () => {
    const policy = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'MCPPolicy',
      metadata: { name: 'minimal', namespace: 'default' },
      spec: {
        targetRefs: [{ name: 'files' }],
        tools: { rules: [{ name: 'read_file', arguments: { path: { kind: 'path', allow: ['/data/**'] } } }] },
      },
    };
    const stored = await create('mcppolicies', policy);
    const local = validateResource(policy);
    expect(local.ok).toBe(true);
    expect(stored.spec).toEqual((local as { resource: { spec: unknown } }).resource.spec);

    const server = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'MCPServer',
      metadata: { name: 'files', namespace: 'default' },
      spec: { upstream: { port: 8080 } },
    };
    const storedServer = await create('mcpservers', server);
    const localServer = validateResource(server);
    expect(storedServer.spec).toEqual((localServer as { resource: { spec: unknown } }).resource.spec);
  });

  it('refuses what the CEL rules and list types refuse, with the same messages', async () => {
    const base = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'MCPPolicy',
      metadata: { name, namespace: 'default' },
      spec: { targetRefs: [{ name: 'files' }], ...spec },
    });
    expect(await refusal('mcppolicies', base('burst', { behavior: [{ detector: 'burst', action: 'Warn' }] }))).toContain('detector burst needs factor');
    expect(await refusal('mcppolicies', base('bulk', { behavior: [{ detector: 'bulkAccess', threshold: 2, window: '1s', action: 'Warn' }] }))).toContain(
      'detector bulkAccess needs argument',
    );
    expect(await refusal('mcppolicies', base('idle', { session: { idleTimeout: '25h' } }))).toContain('idleTimeout must not be longer than maxLifetime');
    expect(await refusal('mcppolicies', base('dup', { tools: { rules: [{ name: 'a' }, { name: 'a' }] } }))).toMatch(/Duplicate value/);
    expect(await refusal('mcppolicies', base('sqlpath', { tools: { rules: [{ name: 'a', arguments: { p: { kind: 'path', sql: { readOnly: true } } } }] } }))).toContain(
      'sql options apply only to kind sql or sql-fragment',
    );
    expect(await refusal('mcppolicies', base('notargets', { targetRefs: [] }))).toMatch(/spec.targetRefs/);
    expect(await refusal('mcppolicies', base('badmode', { mode: 'Enforcing' }))).toMatch(/Unsupported value: "Enforcing"/);
    expect(
      await refusal('mcpservers', {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'MCPServer',
        metadata: { name: 'same-port', namespace: 'default' },
        spec: { upstream: { port: 15080 } },
      }),
    ).toContain('listener.port must differ from upstream.port');
  });
});
