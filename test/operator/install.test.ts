/**
 * The install path against a real API server: deploy/operator.yaml and deploy/authz.yaml
 * apply cleanly (every object is valid), the operator runs with exactly the RBAC of
 * deploy/operator.yaml (as its ServiceAccount), the authz service's role is read-only, and
 * the operator over examples/*.yaml writes the status and printer columns users see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Condition } from '../../authz/api/types.js';
import { watchClusterManifests } from '../../authz/config/cluster.js';
import { startOperator, type RunningOperator } from '../../operator/operator.js';
import { isNotFound, KubeApiError, KubeClient, loadKubeConfig, type KubeObject } from '../../operator/runtime/kube-client.js';
import { silentLogger } from '../../operator/runtime/logger.js';
import { MCPPOLICIES, MCPSERVERS, NAMESPACES, NETWORK_POLICIES, resourcePath, type ResourceType } from '../../operator/runtime/resources.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { installCrds, readManifests } from './crd-install.js';

const OPERATOR_SA = 'system:serviceaccount:mcp-warden:mcp-warden-operator';
const AUTHZ_SA = 'system:serviceaccount:mcp-warden:mcp-warden-authz';
const SA_GROUPS = ['system:serviceaccounts', 'system:serviceaccounts:mcp-warden', 'system:authenticated'];

const KINDS: Record<string, ResourceType> = Object.fromEntries(
  (
    [
      ['', 'v1', 'Namespace', 'namespaces', false],
      ['', 'v1', 'ServiceAccount', 'serviceaccounts', true],
      ['', 'v1', 'Service', 'services', true],
      ['apps', 'v1', 'Deployment', 'deployments', true],
      ['rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false],
      ['rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false],
      ['rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true],
      ['rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true],
      ['networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true],
      ['mcpwarden.io', 'v1alpha1', 'MCPServer', 'mcpservers', true],
      ['mcpwarden.io', 'v1alpha1', 'MCPPolicy', 'mcppolicies', true],
    ] as const
  ).map(([group, version, kind, plural, namespaced]) => [kind, { group, version, kind, plural, namespaced }]),
);

async function applyAll(client: KubeClient, docs: KubeObject[]): Promise<string[]> {
  const applied: string[] = [];
  for (const doc of docs) {
    const type = KINDS[doc.kind ?? ''];
    if (type === undefined) throw new Error(`no resource type for kind ${doc.kind ?? '(none)'}`);
    // Field validation Strict: an unknown or misspelt field fails instead of being dropped.
    await client.request('PATCH', resourcePath(type, doc.metadata?.namespace, doc.metadata?.name), {
      body: doc,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'install-test', fieldValidation: 'Strict' },
    });
    applied.push(`${doc.kind ?? ''}/${doc.metadata?.name ?? ''}`);
  }
  return applied;
}

type WithStatus = KubeObject & { status?: { observedGeneration?: number; conditions?: Condition[]; targets?: string[]; targetsSummary?: string; tools?: unknown[] } };
type Table = { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[]; object?: { metadata?: { name?: string } } }> };

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

const cond = (obj: WithStatus, type: string): Condition | undefined => obj.status?.conditions?.find((c) => c.type === type);

describe('install manifests and examples on a real API server', () => {
  let cluster: TestCluster;
  let admin: KubeClient;
  let operator: RunningOperator | undefined;

  beforeAll(async () => {
    cluster = await startCluster({ users: [{ name: OPERATOR_SA, groups: SA_GROUPS }, { name: AUTHZ_SA, groups: SA_GROUPS }] });
    admin = new KubeClient(loadKubeConfig(cluster.kubeconfigPath));
    await installCrds(admin);
  });
  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
  });

  it('applies deploy/operator.yaml and deploy/authz.yaml with strict field validation', async () => {
    const docs = await readManifests('deploy');
    const applied = await applyAll(admin, docs);
    expect(applied).toEqual(
      expect.arrayContaining([
        'Deployment/mcp-warden-operator',
        'Service/mcp-warden-webhook',
        'ClusterRole/mcp-warden-operator',
        'Deployment/mcp-warden-authz',
        'Service/mcp-warden-authz',
        'ClusterRole/mcp-warden-authz',
        'NetworkPolicy/mcp-warden-authz',
      ]),
    );
    const webhookService = await admin.request<{ spec: { ports: Array<{ port: number; targetPort: unknown }> } }>('GET', resourcePath(KINDS.Service!, 'mcp-warden', 'mcp-warden-webhook'));
    expect(webhookService.spec.ports).toEqual([expect.objectContaining({ port: 443, targetPort: 'webhook' })]);
    const operatorDeployment = await admin.request<{ spec: { replicas: number; template: { spec: { containers: Array<{ args: string[]; ports: Array<{ containerPort: number }> }> } } } }>(
      'GET',
      resourcePath(KINDS.Deployment!, 'mcp-warden', 'mcp-warden-operator'),
    );
    const container = operatorDeployment.spec.template.spec.containers[0];
    // More than one replica needs leader election.
    expect(operatorDeployment.spec.replicas).toBeGreaterThan(1);
    expect(container?.args).toContain('--leader-elect');
    expect(container?.ports).toEqual([expect.objectContaining({ containerPort: 9443 })]);
    const authzService = await admin.request<{ spec: { ports: Array<{ port: number }> } }>('GET', resourcePath(KINDS.Service!, 'mcp-warden', 'mcp-warden-authz'));
    expect(authzService.spec.ports.map((p) => p.port)).toEqual([9191]);
  });

  it('runs the operator over examples/*.yaml with only the RBAC of deploy/operator.yaml', async () => {
    for (const ns of ['demo']) await admin.create(NAMESPACES, undefined, { metadata: { name: ns } }).catch(() => undefined);
    const saClient = new KubeClient(loadKubeConfig(await cluster.kubeconfigFor(OPERATOR_SA)));
    operator = await startOperator({
      client: saClient,
      logger: silentLogger,
      operatorNamespace: 'mcp-warden',
      leaderElect: true,
      identity: 'install-test',
      lease: { durationSeconds: 3, renewDeadlineMs: 2000, retryPeriodMs: 500 },
      authzAddress: { host: 'mcp-warden-authz.mcp-warden.svc', port: 9191 },
      webhook: {
        listenHost: '127.0.0.1',
        listenPort: 0,
        endpoint: { url: 'https://127.0.0.1:0/' },
        hosts: ['127.0.0.1'],
        configurationName: 'mcp-warden-sidecar-injector',
        secretName: 'mcp-warden-webhook-tls',
      },
    });
    await operator.leading;
    await applyAll(admin, await readManifests('examples'));

    // The demo MCPServer selects no pods here (no selector): not Ready, and it says why.
    const server = await eventually('MCPServer status', async () => {
      const s = await admin.get<WithStatus>(MCPSERVERS, 'demo', 'warden-demo');
      return s.status?.observedGeneration === s.metadata?.generation && cond(s, 'Ready') !== undefined ? s : undefined;
    });
    expect(cond(server, 'Ready')).toMatchObject({ status: 'False', reason: 'NoMatchingPods', message: expect.stringContaining('spec.selector selects no pods') });
    expect(cond(server, 'Injected')).toMatchObject({ status: 'False', reason: 'NoMatchingPods' });
    expect(cond(server, 'Discovered')).toMatchObject({ status: 'Unknown', reason: 'NoReadyPod', message: 'no pod is selected to list tools from' });
    expect(cond(server, 'ToolsApproved')).toMatchObject({ status: 'Unknown', reason: 'NotDiscovered' });
    expect(cond(server, 'Drifted')).toMatchObject({ status: 'False', reason: 'NoDrift' });
    expect(cond(server, 'SelectorOverlap')).toMatchObject({ status: 'False', reason: 'NoOverlap' });
    expect(server.status?.conditions?.every((c) => c.observedGeneration === server.metadata?.generation)).toBe(true);
    // An empty selector selects no pods, so no NetworkPolicy (its empty podSelector would select all).
    expect(await saClient.getOrUndefined(NETWORK_POLICIES, 'demo', 'warden-demo-mcp-warden')).toBeUndefined();

    const demoPolicy = await eventually('the demo policy accepted', async () => {
      const p = await admin.get<WithStatus>(MCPPOLICIES, 'demo', 'warden-demo-policy');
      return cond(p, 'Accepted')?.status === 'True' ? p : undefined;
    });
    expect(demoPolicy.status?.targets).toEqual(['demo/warden-demo']);
    expect(cond(demoPolicy, 'ResolvedRefs')).toMatchObject({ status: 'True', reason: 'ResolvedRefs' });
    expect(cond(demoPolicy, 'Conflicted')).toMatchObject({ status: 'False', reason: 'NoConflicts' });
    const minimal = await eventually('the minimal policy judged', async () => {
      const p = await admin.get<WithStatus>(MCPPOLICIES, 'default', 'minimal-example');
      return cond(p, 'Accepted') !== undefined ? p : undefined;
    });
    expect(cond(minimal, 'Accepted')).toMatchObject({ status: 'False', reason: 'TargetNotFound', message: expect.stringContaining('no MCPServer named my-mcp-server in namespace default') });
    expect(minimal.status?.targets).toEqual([]);
    expect(minimal.status?.targetsSummary).toBe('my-mcp-server');

    // kubectl get mcps,mcpp: the Table API with the CRDs' printer columns.
    const table = async (type: ResourceType, ns: string): Promise<Array<Record<string, unknown>>> => {
      const t = await admin.request<Table>('GET', resourcePath(type, ns), { accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' });
      return t.rows.map((r) => Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, r.cells[i]])));
    };
    expect(await table(MCPSERVERS, 'demo')).toEqual([expect.objectContaining({ Name: 'warden-demo', Ready: 'False', Drifted: 0 })]);
    expect(await table(MCPPOLICIES, 'demo')).toEqual([expect.objectContaining({ Name: 'warden-demo-policy', Mode: 'Enforce', Targets: 'warden-demo', Accepted: 'True' })]);
    expect(await table(MCPPOLICIES, 'default')).toEqual([expect.objectContaining({ Name: 'minimal-example', Targets: 'my-mcp-server', Accepted: 'False' })]);
    // Every target in the column, not only the first: a second policy naming two servers.
    await admin.create(MCPPOLICIES, 'demo', { metadata: { name: 'two-targets', namespace: 'demo' }, spec: { targetRefs: [{ name: 'warden-demo' }, { name: 'ghost' }] } });
    const rows = await eventually('the two-target row', async () => {
      const r = await table(MCPPOLICIES, 'demo');
      return r.find((row) => row.Name === 'two-targets')?.Targets !== null && r.length === 2 ? r : undefined;
    });
    expect(rows.find((row) => row.Name === 'two-targets')).toMatchObject({ Targets: 'warden-demo, ghost', Accepted: 'True' });
  });

  it('gives the authz service read-only access that is enough for cluster mode', async () => {
    const kubeconfig = await cluster.kubeconfigFor(AUTHZ_SA);
    const watcher = await watchClusterManifests(kubeconfig, () => undefined, () => undefined, { debounceMs: 20 });
    try {
      const load = watcher.current();
      expect(load?.servers.map((s) => s.metadata.name)).toContain('warden-demo');
    } finally {
      await watcher.close();
    }
    const authz = new KubeClient(loadKubeConfig(kubeconfig));
    const denied = await authz.mergePatch(MCPSERVERS, 'demo', 'warden-demo', { metadata: { labels: { x: 'y' } } }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(denied).toBeInstanceOf(KubeApiError);
    expect((denied as KubeApiError).status).toBe(403);
    expect(isNotFound(denied)).toBe(false);
  });
});
