/**
 * `mcp-warden operator --leader-elect` as a real process, killed (SIGKILL) in the middle of a reconcile —
 * while it waits on a slow tools/list after a spec change — and started again: the new
 * process converges to the new generation, repeats no Event, creates nothing twice, and
 * then stops writing.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Condition, ToolDefinition } from '../../authz/api/types.js';
import { KubeClient, loadKubeConfig, type KubeObject } from '../../operator/runtime/kube-client.js';
import { CONFIGMAPS, EVENTS, LEASES, MCPPOLICIES, MCPSERVERS, NAMESPACES, PODS, resourcePath } from '../../operator/runtime/resources.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { nodeModuleCommand, spawnManaged, type ManagedProcess } from '../support/processes.js';
import { installCrds } from './crd-install.js';
import { startMcpFixture, type McpFixture } from './mcp-fixture.js';

const NS = 'demo';
const tool: ToolDefinition = { name: 'query', description: 'Run a read-only SQL query', inputSchema: { type: 'object', properties: { sql: { type: 'string' } } } };
type WithStatus = KubeObject & { spec: Record<string, unknown>; status?: { observedGeneration?: number; conditions?: Condition[] } };

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('operator process killed mid-reconcile', () => {
  let cluster: TestCluster;
  let client: KubeClient;
  let mcp: McpFixture;
  let operator: ManagedProcess | undefined;

  const startOperatorProcess = (name: string): ManagedProcess => {
    const cli = fileURLToPath(new URL('../../cli.ts', import.meta.url));
    const { command, args } = nodeModuleCommand(cli, [
      'operator',
      '--kubeconfig', cluster.kubeconfigPath,
      '--operator-namespace', 'mcp-warden',
      '--authz-address', '127.0.0.1:9191',
      '--no-webhook',
      '--leader-elect',
      '--log-level', 'warn',
    ]);
    return spawnManaged(name, command, args);
  };
  const server = (): Promise<WithStatus> => client.get<WithStatus>(MCPSERVERS, NS, 'files');

  beforeAll(async () => {
    cluster = await startCluster();
    client = new KubeClient(loadKubeConfig(cluster.kubeconfigPath));
    await installCrds(client);
    await client.create(NAMESPACES, undefined, { metadata: { name: NS } });
    await client.create(NAMESPACES, undefined, { metadata: { name: 'mcp-warden' } });
    mcp = await startMcpFixture('stateless', [tool]);
    await client.create(MCPSERVERS, NS, {
      metadata: { name: 'files', namespace: NS },
      spec: { selector: { matchLabels: { app: 'files-mcp' } }, upstream: { port: mcp.port }, discovery: { interval: '10m' } },
    });
    await client.create(MCPPOLICIES, NS, { metadata: { name: 'strict', namespace: NS }, spec: { targetRefs: [{ name: 'files' }], tools: { rules: [{ name: 'query' }] } } });
    // A pod that already carries the sidecar (as the webhook leaves it), running at the fixture's address.
    await client.create(PODS, NS, {
      metadata: { name: 'files-0', namespace: NS, labels: { app: 'files-mcp' } },
      spec: { containers: [{ name: 'server', image: 'files:1' }, { name: 'mcp-warden-envoy', image: 'envoy:1' }] },
    });
    await client.request('PATCH', resourcePath(PODS, NS, 'files-0', 'status'), {
      contentType: 'application/merge-patch+json',
      body: { status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] } },
    });
  });
  afterAll(async () => {
    await operator?.stop('SIGTERM', 5000);
    await mcp?.close();
    await cluster?.stop();
  });

  it('converges after SIGKILL during discovery, without duplicate writes', async () => {
    operator = startOperatorProcess('operator-1');
    await eventually('Discovered', async () => ((await server()).status?.conditions?.find((c) => c.type === 'Discovered')?.status === 'True' ? true : undefined));

    // Change the spec and catch the operator while it waits on the slow server.
    mcp.delayMs = 8000;
    const callsBefore = mcp.listCalls;
    const current = await server();
    await client.replace(MCPSERVERS, { ...current, spec: { ...current.spec, discovery: { interval: '5m' } } });
    await eventually('tools/list in flight', async () => (mcp.listCalls > callsBefore ? true : undefined));
    const holder = async (): Promise<string | undefined> =>
      (await client.getOrUndefined<KubeObject & { spec?: { holderIdentity?: string } }>(LEASES, 'mcp-warden', 'mcp-warden-operator'))?.spec?.holderIdentity;
    const killedHolder = await holder();
    expect(killedHolder).toMatch(/-\d+$/);
    await operator.stop('SIGKILL');
    expect((await server()).status?.observedGeneration).toBe(1);

    mcp.delayMs = 0;
    operator = startOperatorProcess('operator-2');
    // The killed leader never released its Lease: the new process takes over once it expires (15 s).
    const converged = await eventually(
      'generation 2 observed',
      async () => {
        const s = await server();
        return s.status?.observedGeneration === 2 && s.status.conditions?.every((c) => c.observedGeneration === 2) ? s : undefined;
      },
      45_000,
    );
    const newHolder = await holder();
    expect(newHolder).toMatch(/-\d+$/);
    expect(newHolder).not.toBe(killedHolder);
    expect(converged.status?.conditions?.find((c) => c.type === 'Discovered')).toMatchObject({ status: 'True', reason: 'ToolsListed' });
    expect(converged.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });

    const configMaps = await client.list(CONFIGMAPS, NS, { labelSelector: 'mcpwarden.io/server=files' });
    expect(configMaps.items.map((c) => c.metadata?.name)).toEqual(['files-mcp-warden-envoy']);
    const events = (await client.list<KubeObject & { reason?: string; count?: number; involvedObject?: { name?: string } }>(EVENTS, NS)).items;
    const keys = events.map((e) => `${e.involvedObject?.name ?? ''}/${e.reason ?? ''}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(events.every((e) => (e.count ?? 1) === 1)).toBe(true);
    expect(keys).toContain('files/Ready');

    // Settled: nothing more is written.
    const versions = async (): Promise<string[]> =>
      Promise.all([server(), client.get(MCPPOLICIES, NS, 'strict'), client.get(CONFIGMAPS, NS, 'files-mcp-warden-envoy')]).then((objs) =>
        objs.map((o) => o.metadata?.resourceVersion ?? ''),
      );
    const before = await versions();
    await new Promise((r) => setTimeout(r, 2000));
    expect(await versions()).toEqual(before);
  }, 120_000);
});
