/**
 * The Helm chart (deploy/helm/mcp-warden) with the real Helm CLI (scripts/install-helm.sh):
 * lint, what `helm template` renders for the values users set, the schema rejecting bad
 * values, and install, upgrade and uninstall against a real API server. No kubelet runs here,
 * so pods are never started and nothing waits for readiness.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { KubeClient, loadKubeConfig, type KubeObject } from '../../operator/runtime/kube-client.js';
import { CUSTOM_RESOURCE_DEFINITIONS, NAMESPACES, NETWORK_POLICIES, resourcePath, type ResourceType } from '../../operator/runtime/resources.js';
import { CHART_DIR, generateDeployManifests, helmBinary, helmTemplate, REPO_ROOT } from '../../scripts/gen-deploy.js';
import { startCluster, type TestCluster } from '../support/cluster.js';

const run = promisify(execFile);
const NS = 'mcp-warden';

const type = (group: string, version: string, kind: string, plural: string, namespaced: boolean): ResourceType => ({ group, version, kind, plural, namespaced });
const DEPLOYMENTS = type('apps', 'v1', 'Deployment', 'deployments', true);
const SERVICES = type('', 'v1', 'Service', 'services', true);
const SERVICE_ACCOUNTS = type('', 'v1', 'ServiceAccount', 'serviceaccounts', true);
const ROLES = type('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true);
const ROLE_BINDINGS = type('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true);
const CLUSTER_ROLES = type('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false);
const CLUSTER_ROLE_BINDINGS = type('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false);

interface SecurityContext {
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  securityContext?: SecurityContext;
}
interface Deployment extends KubeObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { securityContext?: SecurityContext; containers: Container[]; initContainers?: Container[]; serviceAccountName?: string } };
  };
}
interface Service extends KubeObject {
  spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: unknown }> };
}

/** Runs helm with its own config/cache/data folders, so nothing outside the test is read or written. */
async function helm(home: string, args: string[], kubeconfig?: string): Promise<string> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    ...(kubeconfig !== undefined ? { KUBECONFIG: kubeconfig } : {}),
  };
  const { stdout } = await run(helmBinary(), args, { env, maxBuffer: 64 << 20 });
  return stdout;
}

/** helm's error output (stderr, then stdout, where lint reports) when it fails; a test failure when it does not. */
async function helmError(home: string, args: string[]): Promise<string> {
  const result = await helm(home, args).then(
    (stdout) => ({ failed: false, text: stdout }),
    (err: unknown) => {
      const { stdout, stderr } = err as { stdout?: unknown; stderr?: unknown };
      return { failed: true, text: `${String(stderr ?? err)}\n${String(stdout ?? '')}` };
    },
  );
  expect(result.failed, `helm ${args.join(' ')} should have failed:\n${result.text.slice(0, 500)}`).toBe(true);
  return result.text;
}

async function render(args: string[] = []): Promise<KubeObject[]> {
  return parseAllDocuments(await helmTemplate(args))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => d !== null);
}

const named = <T extends KubeObject>(objects: KubeObject[], kind: string, name: string): T => {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (found === undefined) throw new Error(`${kind}/${name} not rendered; got ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return found as T;
};
const deployments = (objects: KubeObject[]): Deployment[] => objects.filter((o): o is Deployment => o.kind === 'Deployment');
const container = (d: Deployment): Container => d.spec.template.spec.containers[0] as Container;

/** What the kubelet applies to a container: its own securityContext over the pod's. */
function effectiveSecurityContext(d: Deployment, c: Container): SecurityContext {
  return { ...d.spec.template.spec.securityContext, ...c.securityContext };
}

function expectHardened(objects: KubeObject[]): void {
  const all = deployments(objects).flatMap((d) => [...d.spec.template.spec.containers, ...(d.spec.template.spec.initContainers ?? [])].map((c) => ({ d, c })));
  expect(all.length).toBeGreaterThan(0);
  for (const { d, c } of all) {
    const sc = effectiveSecurityContext(d, c);
    const where = `${d.metadata?.name ?? ''}/${c.name}`;
    expect(sc.runAsNonRoot, where).toBe(true);
    expect(sc.readOnlyRootFilesystem, where).toBe(true);
    expect(sc.allowPrivilegeEscalation, where).toBe(false);
    expect(sc.capabilities?.drop, where).toContain('ALL');
    expect(sc.capabilities?.add ?? [], where).toEqual([]);
    expect(sc.seccompProfile?.type, where).toBe('RuntimeDefault');
  }
}

const CHART_LABELS = {
  'app.kubernetes.io/instance': 'mcp-warden',
  'app.kubernetes.io/managed-by': 'Helm',
  'app.kubernetes.io/part-of': 'mcp-warden',
  'helm.sh/chart': 'mcp-warden-0.1.0',
};

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'mcp-warden-helm-'));
});
afterAll(async () => {
  if (home !== undefined) await rm(home, { recursive: true, force: true });
});

type NetworkPolicyObject = KubeObject & { spec: { podSelector: unknown; policyTypes: string[]; ingress: unknown[] } };
const authzPolicy = (objects: KubeObject[]): NetworkPolicyObject => named<NetworkPolicyObject>(objects, 'NetworkPolicy', 'mcp-warden-authz');

describe('the Helm chart, rendered', () => {
  it('passes helm lint --strict, with the defaults and with Redis on', async () => {
    expect(await helm(home, ['lint', '--strict', CHART_DIR])).toContain('0 chart(s) failed');
    expect(await helm(home, ['lint', '--strict', CHART_DIR, '--set', 'redis.enabled=true,authz.metrics.enabled=true'])).toContain('0 chart(s) failed');
  });

  it('renders the defaults: two leader-elected operators, two authz replicas without Redis, the appVersion image, hardened containers', async () => {
    const objects = await render();
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`).sort()).toEqual([
      'ClusterRole/mcp-warden-authz',
      'ClusterRole/mcp-warden-operator',
      'ClusterRoleBinding/mcp-warden-authz',
      'ClusterRoleBinding/mcp-warden-operator',
      'Deployment/mcp-warden-authz',
      'Deployment/mcp-warden-operator',
      'NetworkPolicy/mcp-warden-authz',
      'Role/mcp-warden-operator',
      'RoleBinding/mcp-warden-operator',
      'Service/mcp-warden-authz',
      'Service/mcp-warden-webhook',
      'ServiceAccount/mcp-warden-authz',
      'ServiceAccount/mcp-warden-operator',
    ]);
    expectHardened(objects);
    const operator = named<Deployment>(objects, 'Deployment', 'mcp-warden-operator');
    expect(operator.spec.replicas).toBe(2);
    expect(container(operator).image).toBe('mcp-warden:0.1.0');
    expect(container(operator).args).toEqual([
      'operator',
      '--leader-elect',
      '--webhook-service=mcp-warden/mcp-warden-webhook:443',
      '--webhook-listen=0.0.0.0:9443',
      '--webhook-failure-policy=Fail',
      '--authz-address=mcp-warden-authz.mcp-warden.svc:9191',
      '--log-level=info',
    ]);
    // The per-MCPServer NetworkPolicies admit discovery from pods with exactly this label.
    expect(operator.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('mcp-warden-operator');
    const authz = named<Deployment>(objects, 'Deployment', 'mcp-warden-authz');
    expect(authz.spec.replicas).toBe(2);
    expect(container(authz).image).toBe('mcp-warden:0.1.0');
    expect(container(authz).args).toEqual(['authz', '--listen=0.0.0.0:9191', '--log-level=info']);
    expect(container(authz).args?.some((a) => a.startsWith('--redis'))).toBe(false);
    expect(container(authz).env).toBeUndefined();
    const authzService = named<Service>(objects, 'Service', 'mcp-warden-authz');
    expect(authzService.spec.ports).toEqual([{ name: 'grpc', port: 9191, targetPort: 'grpc', appProtocol: 'grpc' }]);
    expect(authzService.spec.selector).toEqual(authz.spec.selector.matchLabels);
    expect(named<Service>(objects, 'Service', 'mcp-warden-webhook').spec.selector).toEqual(operator.spec.selector.matchLabels);
    const authzRole = named<KubeObject & { rules: unknown[] }>(objects, 'ClusterRole', 'mcp-warden-authz');
    expect(authzRole.rules).toEqual([{ apiGroups: ['mcpwarden.io'], resources: ['mcpservers', 'mcppolicies'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('renders what users set: image, replicas (one operator runs without leader election), ports, metrics, failure policy, labels, scheduling', async () => {
    const objects = await render([
      '--set', 'image.repository=registry.example/mcp-warden,image.tag=1.2.3,image.pullPolicy=Always',
      '--set', 'operator.replicas=1,operator.webhook.failurePolicy=Ignore,operator.networkPolicy=false,operator.watchNamespace=team-a',
      '--set', 'authz.replicas=5,authz.port=7000,authz.metrics.enabled=true,authz.metrics.port=9000,authz.logLevel=debug',
      '--set', 'commonLabels.team=platform,authz.nodeSelector.pool=edge',
    ]);
    expectHardened(objects);
    const operator = named<Deployment>(objects, 'Deployment', 'mcp-warden-operator');
    expect(operator.spec.replicas).toBe(1);
    expect(container(operator).image).toBe('registry.example/mcp-warden:1.2.3');
    expect(container(operator).args).not.toContain('--leader-elect');
    expect(container(operator).args).toEqual(expect.arrayContaining(['--webhook-failure-policy=Ignore', '--no-network-policy', '--namespace=team-a', '--authz-address=mcp-warden-authz.mcp-warden.svc:7000']));
    const authz = named<Deployment>(objects, 'Deployment', 'mcp-warden-authz');
    expect(authz.spec.replicas).toBe(5);
    expect(container(authz).args).toEqual(['authz', '--listen=0.0.0.0:7000', '--metrics-listen=0.0.0.0:9000', '--log-level=debug']);
    expect(container(authz).ports).toEqual([{ name: 'grpc', containerPort: 7000 }, { name: 'metrics', containerPort: 9000 }]);
    expect((authz.spec.template.spec as { nodeSelector?: unknown }).nodeSelector).toEqual({ pool: 'edge' });
    expect(named<Service>(objects, 'Service', 'mcp-warden-authz').spec.ports.map((p) => [p.name, p.port])).toEqual([['grpc', 7000], ['metrics', 9000]]);
    for (const o of objects) expect(o.metadata?.labels?.team, `${o.kind}/${o.metadata?.name}`).toBe('platform');
    expect(authz.spec.template.metadata.labels.team).toBe('platform');
    // The gRPC port admits only namespaces opted in to injection; the metrics port is open.
    expect(authzPolicy(objects).spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'mcpwarden.io/injection': 'enabled' } } }], ports: [{ protocol: 'TCP', port: 7000 }] },
      { ports: [{ protocol: 'TCP', port: 9000 }] },
    ]);
  });

  it('lets only sidecar namespaces reach the authz gRPC port, unless its NetworkPolicy is turned off', async () => {
    const objects = await render();
    const authz = named<Deployment>(objects, 'Deployment', 'mcp-warden-authz');
    const policy = authzPolicy(objects);
    expect(policy.spec.podSelector).toEqual({ matchLabels: authz.spec.selector.matchLabels });
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toEqual([{ from: [{ namespaceSelector: { matchLabels: { 'mcpwarden.io/injection': 'enabled' } } }], ports: [{ protocol: 'TCP', port: 9191 }] }]);
    const off = await render(['--set', 'authz.networkPolicy=false']);
    expect(off.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  });

  it('with redis.enabled=true adds one hardened Redis only authz may reach, and points authz at it', async () => {
    const objects = await render(['--set', 'redis.enabled=true']);
    expectHardened(objects);
    const redis = named<Deployment>(objects, 'Deployment', 'mcp-warden-redis');
    expect(redis.spec.replicas).toBe(1);
    expect(container(redis).image).toMatch(/^redis:7\./);
    const redisService = named<Service>(objects, 'Service', 'mcp-warden-redis');
    expect(redisService.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis' }]);
    expect(redisService.spec.selector).toEqual(redis.spec.selector.matchLabels);
    const authz = named<Deployment>(objects, 'Deployment', 'mcp-warden-authz');
    expect(container(authz).args).toContain('--redis=redis://mcp-warden-redis.mcp-warden.svc:6379');
    const policy = named<KubeObject & { spec: { podSelector: unknown; ingress: Array<{ from: Array<{ podSelector: { matchLabels: unknown } }> }> } }>(objects, 'NetworkPolicy', 'mcp-warden-redis');
    expect(policy.spec.podSelector).toEqual({ matchLabels: redis.spec.selector.matchLabels });
    expect(policy.spec.ingress[0]?.from).toEqual([{ podSelector: { matchLabels: authz.spec.selector.matchLabels } }]);
  });

  it('points authz at an external Redis with its password from a Secret', async () => {
    const objects = await render(['--set', 'authz.redis.url=rediss://cache.example:6380,authz.redis.existingSecret=redis-auth,authz.redis.tls=true']);
    const authz = named<Deployment>(objects, 'Deployment', 'mcp-warden-authz');
    expect(container(authz).args).toEqual(expect.arrayContaining(['--redis=rediss://cache.example:6380', '--redis-tls']));
    expect(container(authz).env).toEqual([{ name: 'MCP_WARDEN_REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'password' } } }]);
    expect(objects.some((o) => o.metadata?.name === 'mcp-warden-redis')).toBe(false);
  });

  it('rejects bad values with an error that names the field', async () => {
    const bad = join(home, 'bad-values.yaml');
    await writeFile(bad, 'authz:\n  replicas: many\n');
    const wrongType = await helmError(home, ['template', 'mcp-warden', CHART_DIR, '-f', bad]);
    expect(wrongType).toContain("values don't meet the specifications of the schema");
    expect(wrongType).toMatch(/\/authz\/replicas.*got string, want integer/);
    // A misspelt key would otherwise be silently ignored.
    expect(await helmError(home, ['template', 'mcp-warden', CHART_DIR, '--set', 'authz.replica=3'])).toMatch(/\/authz.*additional properties 'replica' not allowed/);
    expect(await helmError(home, ['template', 'mcp-warden', CHART_DIR, '--set', 'operator.webhook.failurePolicy=Sometimes'])).toContain('/operator/webhook/failurePolicy');
    expect(await helmError(home, ['template', 'mcp-warden', CHART_DIR, '--set', 'redis.enabled=true,authz.redis.url=redis://elsewhere:6379'])).toContain(
      'set either redis.enabled',
    );
    // Linting catches the same file before an install.
    expect(await helmError(home, ['lint', CHART_DIR, '-f', bad])).toContain('/authz/replicas');
  });
});

describe('the plain manifests', () => {
  it('deploy/operator.yaml and deploy/authz.yaml are the chart rendered with its defaults (run `npm run gen:deploy`)', async () => {
    const manifests = await generateDeployManifests();
    expect(manifests.map((m) => m.file)).toEqual(['deploy/operator.yaml', 'deploy/authz.yaml']);
    for (const m of manifests) expect(await readFile(join(REPO_ROOT, m.file), 'utf8'), m.file).toBe(m.text);
    // Each file stands alone for kubectl: it creates the namespace it puts objects in.
    for (const m of manifests) expect(parse(m.text.split(/^---\n/m)[1] ?? '')).toMatchObject({ kind: 'Namespace', metadata: { name: NS } });
  });
});

describe('the Helm chart on a real API server', () => {
  let cluster: TestCluster;
  let admin: KubeClient;
  let kubeconfig: string;

  beforeAll(async () => {
    cluster = await startCluster();
    kubeconfig = cluster.kubeconfigPath;
    admin = new KubeClient(loadKubeConfig(kubeconfig));
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('helm install creates Established CRDs, RBAC, Deployments and Services, labelled by the chart', async () => {
    const out = await helm(home, ['install', 'mcp-warden', CHART_DIR, '--namespace', NS, '--create-namespace'], kubeconfig);
    expect(out).toContain('STATUS: deployed');
    // The notes say what runs and what uninstalling leaves behind.
    expect(out).toContain('operator: 2 replica(s) with leader election, webhook failurePolicy Fail');
    expect(out).toContain('authz:    2 replica(s) at mcp-warden-authz.mcp-warden.svc:9191, in-memory state per replica');
    expect(out).toContain('mcp-warden operator uninstall');
    for (const name of ['mcpservers.mcpwarden.io', 'mcppolicies.mcpwarden.io']) {
      const crd = await admin.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(CUSTOM_RESOURCE_DEFINITIONS, undefined, name);
      expect(crd.status?.conditions, name).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Established', status: 'True' })]));
    }
    const expected: Array<[ResourceType, string]> = [
      [DEPLOYMENTS, 'mcp-warden-operator'],
      [DEPLOYMENTS, 'mcp-warden-authz'],
      [SERVICES, 'mcp-warden-webhook'],
      [SERVICES, 'mcp-warden-authz'],
      [SERVICE_ACCOUNTS, 'mcp-warden-operator'],
      [SERVICE_ACCOUNTS, 'mcp-warden-authz'],
      [ROLES, 'mcp-warden-operator'],
      [ROLE_BINDINGS, 'mcp-warden-operator'],
      [CLUSTER_ROLES, 'mcp-warden-operator'],
      [CLUSTER_ROLES, 'mcp-warden-authz'],
      [CLUSTER_ROLE_BINDINGS, 'mcp-warden-operator'],
      [CLUSTER_ROLE_BINDINGS, 'mcp-warden-authz'],
    ];
    for (const [t, name] of expected) {
      const live = await admin.get(t, t.namespaced ? NS : undefined, name);
      expect(live.metadata?.labels, `${t.kind}/${name}`).toMatchObject(CHART_LABELS);
      expect(live.metadata?.annotations, `${t.kind}/${name}`).toMatchObject({ 'meta.helm.sh/release-name': 'mcp-warden', 'meta.helm.sh/release-namespace': NS });
    }
    const webhook = await admin.get<Service>(SERVICES, NS, 'mcp-warden-webhook');
    expect(webhook.spec.ports).toEqual([expect.objectContaining({ port: 443, targetPort: 'webhook' })]);
    const authz = await admin.get<Deployment>(DEPLOYMENTS, NS, 'mcp-warden-authz');
    expect(authz.spec.replicas).toBe(2);
    expect(await helm(home, ['status', 'mcp-warden', '--namespace', NS], kubeconfig)).toContain('STATUS: deployed');
  });

  it('every object the chart renders with its options on passes strict validation by the API server', async () => {
    const objects = await render([
      '--set', 'createNamespace=true,redis.enabled=true,authz.metrics.enabled=true,authz.redis.existingSecret=redis-auth,operator.replicas=1',
      '--set', 'imagePullSecrets[0].name=regcred,commonAnnotations.owner=platform,authz.podAnnotations.scrape=yes',
      '--set', 'operator.nodeSelector.pool=system,authz.tolerations[0].key=dedicated,authz.tolerations[0].operator=Exists',
      '--set', 'redis.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool',
      '--set', 'redis.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists',
    ]);
    const types: Record<string, ResourceType> = Object.fromEntries(
      [DEPLOYMENTS, SERVICES, SERVICE_ACCOUNTS, ROLES, ROLE_BINDINGS, CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, NETWORK_POLICIES, NAMESPACES].map((t) => [t.kind, t]),
    );
    const checked: string[] = [];
    for (const object of objects) {
      const t = types[object.kind ?? ''];
      if (t === undefined) throw new Error(`no resource type for ${object.kind ?? '(none)'}`);
      // A dry run (nothing is stored; forced over the fields helm owns), but an unknown or misspelt field fails.
      await admin.request('PATCH', resourcePath(t, t.namespaced ? object.metadata?.namespace : undefined, object.metadata?.name), {
        body: object,
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: 'helm-test', fieldValidation: 'Strict', dryRun: 'All', force: 'true' },
      });
      checked.push(`${object.kind ?? ''}/${object.metadata?.name ?? ''}`);
    }
    expect(checked).toEqual(expect.arrayContaining(['Deployment/mcp-warden-redis', 'NetworkPolicy/mcp-warden-redis', 'Service/mcp-warden-redis', 'Namespace/mcp-warden']));
  });

  it('helm upgrade --set authz.replicas=3 changes the authz Deployment and nothing else it should not', async () => {
    const out = await helm(home, ['upgrade', 'mcp-warden', CHART_DIR, '--namespace', NS, '--set', 'authz.replicas=3'], kubeconfig);
    expect(out).toContain('REVISION: 2');
    expect((await admin.get<Deployment>(DEPLOYMENTS, NS, 'mcp-warden-authz')).spec.replicas).toBe(3);
    expect((await admin.get<Deployment>(DEPLOYMENTS, NS, 'mcp-warden-operator')).spec.replicas).toBe(2);
    // A bad upgrade is refused before anything changes.
    await helmError(home, ['upgrade', 'mcp-warden', CHART_DIR, '--namespace', NS, '--kubeconfig', kubeconfig, '--set', 'authz.replicas=many']);
    expect((await admin.get<Deployment>(DEPLOYMENTS, NS, 'mcp-warden-authz')).spec.replicas).toBe(3);
  });

  it('helm upgrade --reuse-values --set redis.enabled=true adds the Redis and points the live authz Deployment at it', async () => {
    await helm(home, ['upgrade', 'mcp-warden', CHART_DIR, '--namespace', NS, '--reuse-values', '--set', 'redis.enabled=true'], kubeconfig);
    const redis = await admin.get<Deployment>(DEPLOYMENTS, NS, 'mcp-warden-redis');
    expect(redis.metadata?.labels).toMatchObject({ ...CHART_LABELS, 'app.kubernetes.io/component': 'redis' });
    expect((await admin.get<Service>(SERVICES, NS, 'mcp-warden-redis')).spec.ports).toEqual([expect.objectContaining({ port: 6379, targetPort: 'redis' })]);
    expect(await admin.getOrUndefined(NETWORK_POLICIES, NS, 'mcp-warden-redis')).toBeDefined();
    const authz = await admin.get<Deployment>(DEPLOYMENTS, NS, 'mcp-warden-authz');
    expect(container(authz).args).toContain('--redis=redis://mcp-warden-redis.mcp-warden.svc:6379');
    expect(authz.spec.replicas).toBe(3);
  });

  it('helm uninstall removes the namespaced and cluster-wide objects (Redis too) and keeps the CRDs', async () => {
    await helm(home, ['uninstall', 'mcp-warden', '--namespace', NS], kubeconfig);
    const gone: Array<[ResourceType, string]> = [
      [DEPLOYMENTS, 'mcp-warden-operator'],
      [DEPLOYMENTS, 'mcp-warden-authz'],
      [DEPLOYMENTS, 'mcp-warden-redis'],
      [SERVICES, 'mcp-warden-webhook'],
      [SERVICES, 'mcp-warden-authz'],
      [SERVICES, 'mcp-warden-redis'],
      [NETWORK_POLICIES, 'mcp-warden-redis'],
      [SERVICE_ACCOUNTS, 'mcp-warden-operator'],
      [ROLES, 'mcp-warden-operator'],
      [ROLE_BINDINGS, 'mcp-warden-operator'],
      [CLUSTER_ROLES, 'mcp-warden-operator'],
      [CLUSTER_ROLE_BINDINGS, 'mcp-warden-authz'],
    ];
    for (const [t, name] of gone) expect(await admin.getOrUndefined(t, t.namespaced ? NS : undefined, name), `${t.kind}/${name}`).toBeUndefined();
    // Helm never deletes CRDs: that would delete every MCPServer and MCPPolicy with them.
    expect(await admin.getOrUndefined(CUSTOM_RESOURCE_DEFINITIONS, undefined, 'mcpservers.mcpwarden.io')).toBeDefined();
    const left = await admin.request<{ items: KubeObject[] }>('GET', resourcePath(DEPLOYMENTS, NS));
    expect(left.items).toEqual([]);
  });
});
