import { existsSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test cluster', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ users: [{ name: 'nobody', groups: [] }] });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves the pinned Kubernetes version over TLS signed by its CA', async () => {
    const version = await cluster.get('/version');
    expect(version.status).toBe(200);
    expect(JSON.parse(version.body)).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\.35\./) });
  });

  it('lets the admin kubeconfig list namespaces', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toContain('default');
  });

  it('enforces RBAC: a user without bindings is forbidden', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(await cluster.kubeconfigFor('nobody'));
    const core = kc.makeApiClient(CoreV1Api);
    await expect(core.listNamespace()).rejects.toMatchObject({ code: 403 });
  });

  it('stops both processes and removes its folder', async () => {
    const { pids, dir } = cluster;
    expect(alive(pids.etcd) && alive(pids.apiserver)).toBe(true);
    await cluster.stop();
    expect(alive(pids.etcd)).toBe(false);
    expect(alive(pids.apiserver)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
