/**
 * The CRDs on a real API server: they install and become Established, accept the examples
 * and the documented manifests, apply their defaults, reject invalid policies with messages
 * that name the field, describe every field (what `kubectl explain` prints) and serve the
 * printer columns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient, loadKubeConfig, type KubeObject } from '../../operator/runtime/kube-client.js';
import { CUSTOM_RESOURCE_DEFINITIONS, MCPPOLICIES, MCPSERVERS, NAMESPACES, resourcePath } from '../../operator/runtime/resources.js';
import { validateResource } from '../../authz/api/validate.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { installCrds, readManifests } from './crd-install.js';

const NS = 'crd-test';

const server = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'mcpwarden.io/v1alpha1',
  kind: 'MCPServer',
  metadata: { name, namespace: NS },
  spec,
});
const policy = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'mcpwarden.io/v1alpha1',
  kind: 'MCPPolicy',
  metadata: { name, namespace: NS },
  spec,
});

/** The API server's answer to creating `obj`: the stored object, or its error message. */
async function create(client: KubeClient, obj: KubeObject): Promise<{ stored?: KubeObject; error?: KubeApiError }> {
  const type = obj.kind === 'MCPServer' ? MCPSERVERS : MCPPOLICIES;
  try {
    return { stored: await client.create<KubeObject>(type, obj.metadata?.namespace, obj) };
  } catch (err) {
    if (err instanceof KubeApiError) return { error: err };
    throw err;
  }
}

describe('CRDs on a real API server', () => {
  let cluster: TestCluster;
  let client: KubeClient;
  let crds: KubeObject[];

  beforeAll(async () => {
    cluster = await startCluster();
    client = new KubeClient(loadKubeConfig(cluster.kubeconfigPath));
    crds = await installCrds(client);
    await client.create(NAMESPACES, undefined, { metadata: { name: NS } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('installs both CRDs with short names, category mcp and a status subresource', async () => {
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual(['mcppolicies.mcpwarden.io', 'mcpservers.mcpwarden.io']);
    const discovery = await client.request<{ resources: Array<{ name: string; shortNames?: string[]; categories?: string[] }> }>('GET', '/apis/mcpwarden.io/v1alpha1');
    const byName = new Map(discovery.resources.map((r) => [r.name, r]));
    expect(byName.get('mcpservers')).toMatchObject({ shortNames: ['mcps'], categories: ['mcp'] });
    expect(byName.get('mcppolicies')).toMatchObject({ shortNames: ['mcpp'], categories: ['mcp'] });
    expect(byName.has('mcpservers/status')).toBe(true);
    expect(byName.has('mcppolicies/status')).toBe(true);
  });

  it('accepts the documented manifests and the examples', async () => {
    const documented = [
      server('files', {
        selector: { matchLabels: { app: 'files-mcp' } },
        upstream: { port: 8080, path: '/mcp' },
        listener: { port: 15080 },
        trustedProxies: ['10.0.0.0/8'],
        auth: { jwt: { issuer: 'https://idp.example', audiences: ['files-mcp'], jwksUri: 'https://idp.example/jwks' } },
        discovery: { interval: '10m' },
      }),
      policy('files-strict', {
        targetRefs: [{ name: 'files' }],
        mode: 'Enforce',
        protocol: { maxBodyBytes: 1048576, versions: ['2025-06-18', '2025-11-25', '2026-07-28'] },
        tools: {
          default: 'Deny',
          rules: [
            {
              name: 'read_file',
              action: 'Allow',
              definition: {
                description: 'Read a file from the shared data volume',
                inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
              },
              arguments: { path: { kind: 'path', allow: ['/data/public/**'] } },
            },
            {
              name: 'query',
              action: 'Allow',
              digest: `sha256:${'a'.repeat(64)}`,
              arguments: { sql: { kind: 'sql', sql: { readOnly: true } } },
              when: 'claims.groups.exists(g, g == "analysts")',
            },
          ],
        },
        detection: { commandInjection: 'Deny', sqlInjection: 'Deny', pathTraversal: 'Deny', ssrf: 'Deny', promptInjection: 'Audit' },
        session: {
          bind: ['sourceAddress', 'userAgent', 'clientCertificate', 'token'],
          onMismatch: 'Suspend',
          maxLifetime: '24h',
          idleTimeout: '2h',
          requestIds: { onReplay: 'Deny', reorderWindow: 32 },
        },
        behavior: [
          { detector: 'loop', threshold: 100, window: '60s', action: 'Throttle' },
          { detector: 'enumeration', threshold: 50, window: '60s', action: 'Suspend' },
          { detector: 'bulkAccess', argument: 'path', threshold: 200, window: '60s', action: 'Suspend' },
          { detector: 'rate', threshold: 50, window: '1s', action: 'Throttle' },
          { detector: 'burst', factor: 10, action: 'Warn' },
        ],
        actions: { throttle: { retryAfter: '30s' }, suspend: { duration: '15m' } },
      }),
    ];
    const examples = (await readManifests('examples')).filter((d) => d.apiVersion === 'mcpwarden.io/v1alpha1');
    for (const doc of [...documented, ...examples.map((d) => ({ ...d, metadata: { ...d.metadata, namespace: NS } }))]) {
      const { error } = await create(client, doc);
      expect(error?.message, `${doc.kind} ${doc.metadata?.name}`).toBeUndefined();
    }
  });

  it('fills in the documented defaults on a minimal server and policy', async () => {
    const s = await create(client, server('minimal', { selector: { matchLabels: { app: 'm' } }, upstream: { port: 8080 } }));
    expect(s.stored?.spec).toMatchObject({
      upstream: { port: 8080, path: '/mcp', host: '127.0.0.1' },
      listener: { port: 15080 },
      trustedProxies: [],
      discovery: { interval: '10m', enabled: true },
    });
    const p = await create(client, policy('minimal', { targetRefs: [{ name: 'minimal' }], tools: { rules: [{ name: 'read_file' }] } }));
    expect(p.stored?.spec).toMatchObject({
      targetRefs: [{ name: 'minimal', kind: 'MCPServer' }],
      mode: 'Enforce',
      protocol: { maxBodyBytes: 1048576 },
      tools: { default: 'Deny', rules: [{ name: 'read_file', action: 'Allow' }] },
      detection: { commandInjection: 'Deny', sqlInjection: 'Deny', pathTraversal: 'Deny', ssrf: 'Deny', promptInjection: 'Audit' },
      session: { onMismatch: 'Deny', maxLifetime: '24h', idleTimeout: '2h', requestIds: { onReplay: 'Deny' } },
      actions: { throttle: { retryAfter: '30s' }, suspend: { duration: '15m' } },
    });
    const behavior = (p.stored?.spec as { behavior?: Array<{ detector: string }> }).behavior ?? [];
    expect(behavior.map((b) => b.detector)).toEqual(expect.arrayContaining(['loop', 'rate', 'bulkAccess']));
  });

  it.each([
    ['an unknown enum value', policy('bad-mode', { targetRefs: [{ name: 'files' }], mode: 'Block' }), /spec\.mode: Unsupported value: "Block": supported values: "Enforce", "Audit"/],
    [
      'a duration that is not one',
      policy('bad-duration', { targetRefs: [{ name: 'files' }], session: { maxLifetime: '1 day' } }),
      /spec\.session\.maxLifetime: Invalid value: "1 day": spec\.session\.maxLifetime in body should match/,
    ],
    [
      'a cross-field CEL rule (idleTimeout longer than maxLifetime)',
      policy('bad-cel', { targetRefs: [{ name: 'files' }], session: { maxLifetime: '1h', idleTimeout: '2h' } }),
      /spec\.session\.idleTimeout: Invalid value: .*idleTimeout must not be longer than maxLifetime/,
    ],
    [
      'a CEL rule on a server (listener port equal to upstream port)',
      server('bad-port', { selector: { matchLabels: { app: 'x' } }, upstream: { port: 8080 }, listener: { port: 8080 } }),
      /spec\.listener\.port: Invalid value: .*listener\.port must differ from upstream\.port/,
    ],
    [
      'a burst detector without its factor',
      policy('bad-burst', { targetRefs: [{ name: 'files' }], behavior: [{ detector: 'burst', action: 'Warn' }] }),
      /spec\.behavior\[0\]\.factor: Invalid value: .*detector burst needs factor/,
    ],
    ['a policy without targetRefs', policy('no-targets', { mode: 'Audit' }), /spec\.targetRefs: Required value/],
    // Parity with validate.ts: what a manifest file is refused for, the API server refuses too.
    [
      'a zero Retry-After',
      policy('zero-retry', { targetRefs: [{ name: 'files' }], actions: { throttle: { retryAfter: '0s' } } }),
      /spec\.actions\.throttle\.retryAfter: Invalid value: .*retryAfter must be at least 1s/,
    ],
    [
      'a sub-second Retry-After',
      policy('short-retry', { targetRefs: [{ name: 'files' }], actions: { throttle: { retryAfter: '500ms' } } }),
      /spec\.actions\.throttle\.retryAfter: Invalid value: .*retryAfter must be at least 1s/,
    ],
    [
      'a zero behaviour window',
      policy('zero-window', { targetRefs: [{ name: 'files' }], behavior: [{ detector: 'rate', threshold: 5, window: '0s', action: 'Warn' }] }),
      /spec\.behavior\[0\]\.window: Invalid value: .*window must be longer than zero/,
    ],
    [
      'a zero session lifetime',
      policy('zero-lifetime', { targetRefs: [{ name: 'files' }], session: { maxLifetime: '0s', idleTimeout: '0s' } }),
      /spec\.session\.maxLifetime: Invalid value: .*maxLifetime must be longer than zero/,
    ],
    [
      'a zero idle timeout',
      policy('zero-idle', { targetRefs: [{ name: 'files' }], session: { idleTimeout: '0m' } }),
      /spec\.session\.idleTimeout: Invalid value: .*idleTimeout must be longer than zero/,
    ],
    [
      'a zero suspension',
      policy('zero-suspend', { targetRefs: [{ name: 'files' }], actions: { suspend: { duration: '0s' } } }),
      /spec\.actions\.suspend\.duration: Invalid value: .*duration must be longer than zero/,
    ],
    [
      'a zero discovery interval',
      server('zero-interval', { selector: { matchLabels: { app: 'x' } }, upstream: { port: 8080 }, discovery: { interval: '0s' } }),
      /spec\.discovery\.interval: Invalid value: .*interval must be longer than zero/,
    ],
    [
      'a trusted proxy that is not an address (999.1.1.1/99)',
      server('bad-proxy', { selector: { matchLabels: { app: 'x' } }, upstream: { port: 8080 }, trustedProxies: ['10.0.0.0/8', '999.1.1.1/99'] }),
      /spec\.trustedProxies: Invalid value: .*trustedProxies entries must be IPv4 or IPv6 addresses or CIDRs/,
    ],
    [
      'a trusted proxy with an IPv6 prefix beyond 128',
      server('bad-proxy6', { selector: { matchLabels: { app: 'x' } }, upstream: { port: 8080 }, trustedProxies: ['fd00::/129'] }),
      /spec\.trustedProxies: Invalid value: .*trustedProxies entries must be IPv4 or IPv6 addresses or CIDRs/,
    ],
    [
      'a pinned definition without inputSchema',
      policy('no-input-schema', { targetRefs: [{ name: 'files' }], tools: { rules: [{ name: 'read_file', definition: { description: 'Reads a file.' } }] } }),
      /spec\.tools\.rules\[0\]\.definition\.inputSchema: Invalid value: .*definition needs inputSchema/,
    ],
  ])('rejects %s with a message naming the field', async (_what, doc, message) => {
    const { stored, error } = await create(client, doc);
    expect(stored).toBeUndefined();
    expect(error?.status).toBe(422);
    expect(error?.message).toMatch(message);
    // The file loader refuses the same document.
    expect(validateResource(doc).ok).toBe(false);
  });

  it('accepts the boundary values next to the ones it refuses (both there and in files)', async () => {
    const docs = [
      policy('edge-durations', {
        targetRefs: [{ name: 'files' }],
        actions: { throttle: { retryAfter: '1s' }, suspend: { duration: '1ms' } },
        session: { maxLifetime: '1h30m', idleTimeout: '90m' },
        behavior: [{ detector: 'rate', threshold: 5, window: '250ms', action: 'Warn' }],
        tools: { rules: [{ name: 'read_file', definition: { description: 'Reads.', inputSchema: { type: 'object' } } }] },
      }),
      server('edge-proxies', { selector: { matchLabels: { app: 'x' } }, upstream: { port: 8080 }, trustedProxies: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1', '0.0.0.0/0'], discovery: { interval: '1s' } }),
    ];
    for (const doc of docs) {
      const { error } = await create(client, doc);
      expect(error?.message, doc.metadata?.name).toBeUndefined();
      expect(validateResource(doc).ok, doc.metadata?.name).toBe(true);
    }
  });

  it('describes every field, as kubectl explain shows it', async () => {
    const missing: string[] = [];
    const walk = (node: Record<string, unknown>, path: string, depth: number): void => {
      if (typeof node.description !== 'string' || node.description.trim() === '') missing.push(path);
      for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        // metadata is the standard ObjectMeta, which the API server documents itself.
        if (depth === 0 && name === 'metadata') continue;
        walk(child, `${path}.${name}`, depth + 1);
      }
      if (typeof node.items === 'object' && node.items !== null) walk(node.items as Record<string, unknown>, `${path}[]`, depth + 1);
    };
    for (const name of ['mcpservers.mcpwarden.io', 'mcppolicies.mcpwarden.io']) {
      const crd = await client.get<KubeObject & { spec: { versions: Array<{ schema: { openAPIV3Schema: Record<string, unknown> } }> } }>(
        CUSTOM_RESOURCE_DEFINITIONS,
        undefined,
        name,
      );
      const schema = crd.spec.versions[0]?.schema.openAPIV3Schema ?? {};
      walk(schema, name.split('.')[0] ?? name, 0);
      const spec = (schema.properties as Record<string, { properties: Record<string, { description: string }> }>).spec;
      if (name.startsWith('mcppolicies')) {
        expect(spec?.properties.mode?.description).toMatch(/Audit/);
        expect(spec?.properties.detection?.description).toBeTruthy();
      } else {
        expect(spec?.properties.selector?.description).toMatch(/pod/i);
      }
    }
    expect(missing).toEqual([]);
  });

  it('serves the printer columns', async () => {
    const table = await client.request<{ columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[] }> }>(
      'GET',
      resourcePath(MCPPOLICIES, NS),
      { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    );
    const columns = table.columnDefinitions.map((c) => c.name);
    expect(columns).toEqual(expect.arrayContaining(['Name', 'Mode', 'Age']));
    const modeColumn = columns.indexOf('Mode');
    expect(table.rows.map((r) => r.cells[modeColumn])).toContain('Enforce');
    const servers = await client.request<{ columnDefinitions: Array<{ name: string }> }>('GET', resourcePath(MCPSERVERS, NS), {
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    expect(servers.columnDefinitions.map((c) => c.name)).toEqual(expect.arrayContaining(['Name', 'Ready', 'Drifted', 'Age']));
  });

  it('shows every target and every tool in the Targets and Tools columns (from the summaries the operator writes)', async () => {
    const asTable = { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
    type Table = { columnDefinitions: Array<{ name: string }>; rows: Array<{ cells: unknown[]; object: { metadata: { name: string } } }> };
    const cell = (table: Table, name: string, column: string): unknown =>
      table.rows.find((r) => r.object.metadata.name === name)?.cells[table.columnDefinitions.findIndex((c) => c.name === column)];

    await create(client, policy('two-targets', { targetRefs: [{ name: 'warden-demo' }, { name: 'ghost' }] }));
    await client.apply(MCPPOLICIES, { metadata: { name: 'two-targets', namespace: NS }, status: { targetsSummary: 'warden-demo, ghost' } }, { subresource: 'status' });
    const policies = await client.request<Table>('GET', `${resourcePath(MCPPOLICIES, NS)}?includeObject=Metadata`, asTable);
    expect(cell(policies, 'two-targets', 'Targets')).toBe('warden-demo, ghost');

    await create(client, server('two-tools', { selector: { matchLabels: { app: 'two' } }, upstream: { port: 8080 } }));
    const tools = [
      { name: 'read_file', digest: `sha256:${'a'.repeat(64)}` },
      { name: 'run_backup', digest: `sha256:${'b'.repeat(64)}` },
    ];
    await client.apply(MCPSERVERS, { metadata: { name: 'two-tools', namespace: NS }, status: { tools, toolsSummary: 'read_file, run_backup', driftedTools: 1 } }, { subresource: 'status' });
    const servers = await client.request<Table>('GET', `${resourcePath(MCPSERVERS, NS)}?includeObject=Metadata`, asTable);
    expect(cell(servers, 'two-tools', 'Tools')).toBe('read_file, run_backup');
    expect(cell(servers, 'two-tools', 'Drifted')).toBe(1);
  });
});
