import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadManifestFiles, loadManifests } from './load.js';

const SERVER = `apiVersion: mcpwarden.io/v1alpha1
kind: MCPServer
metadata: {name: files, namespace: demo}
spec:
  upstream: {port: 8080}
`;

const POLICY = `apiVersion: mcpwarden.io/v1alpha1
kind: MCPPolicy
metadata: {name: files-strict, namespace: demo}
spec:
  targetRefs: [{name: files}]
  tools:
    rules:
      - name: read_file
        arguments:
          path: {kind: path, allow: ["/data/**"]}
`;

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: files-mcp}
spec: {replicas: 1}
`;

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-warden-load-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('loadManifests', () => {
  it('reads a multi-document file: ours validated with defaults, others skipped with a note', async () => {
    const file = await write('all.yaml', `${SERVER}---\n${DEPLOYMENT}---\n---\n${POLICY}`);
    const notes: string[] = [];
    const result = await loadManifests(file, { debug: (m) => notes.push(m) });
    expect(result.errors).toEqual([]);
    expect(result.servers.map((s) => s.metadata.name)).toEqual(['files']);
    expect(result.servers[0]?.spec.listener.port).toBe(15080);
    expect(result.policies[0]?.spec.detection.promptInjection).toBe('Audit');
    expect(result.policies[0]?.spec.tools.rules[0]?.action).toBe('Allow');
    expect(result.skipped).toEqual([{ file, document: 2, apiVersion: 'apps/v1', kind: 'Deployment' }]);
    expect(notes).toEqual([`${file}: document 2: skipping Deployment (apps/v1): not an mcpwarden.io resource`]);
  });

  it('returns frozen resources (the snapshot is immutable)', async () => {
    const result = await loadManifests(await write('p.yaml', POLICY));
    const policy = result.policies[0];
    expect(Object.isFrozen(policy?.spec.tools.rules)).toBe(true);
    expect(() => {
      (policy?.spec.behavior as unknown[]).push({});
    }).toThrow();
  });

  it('reads a directory: yaml, yml and json, sorted, skipping dotfiles, other files and folders', async () => {
    await write('b-policy.yml', POLICY);
    await write('a-server.json', JSON.stringify(JSON.parse(JSON.stringify({ apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPServer', metadata: { name: 'json-server' }, spec: { upstream: { port: 9000 } } }))));
    await write('c-server.yaml', SERVER);
    await write('.hidden.yaml', 'this: is: not: valid');
    await write('README.md', '# not a manifest');
    await mkdir(join(dir, 'nested.yaml'));
    await write('nested.yaml/inner.yaml', SERVER);
    const result = await loadManifests(dir);
    expect(result.errors).toEqual([]);
    expect(result.files).toEqual(['a-server.json', 'b-policy.yml', 'c-server.yaml'].map((f) => join(dir, f)));
    expect(result.servers.map((s) => `${s.metadata.namespace}/${s.metadata.name}`)).toEqual(['default/json-server', 'demo/files']);
    expect(result.policies).toHaveLength(1);
  });

  it('follows symlinks as a ConfigMap volume lays them out', async () => {
    await mkdir(join(dir, '..2025_01_01'));
    await writeFile(join(dir, '..2025_01_01', 'policy.yaml'), POLICY);
    await symlink('..2025_01_01', join(dir, '..data'));
    await symlink(join('..data', 'policy.yaml'), join(dir, 'policy.yaml'));
    const result = await loadManifests(dir);
    expect(result.errors).toEqual([]);
    expect(result.policies.map((p) => p.metadata.name)).toEqual(['files-strict']);
  });

  it('reports validation errors with file, 1-based document and field path', async () => {
    const file = await write('bad.yaml', `${SERVER}---\n${POLICY.replace('kind: path', 'kind: filepath')}`);
    const result = await loadManifests(file);
    expect(result.errors).toEqual([
      {
        file,
        document: 2,
        path: 'spec.tools.rules[0].arguments.path.kind',
        message: expect.stringMatching(/^must be one of path, shell, command, sql, sql-fragment, url, text, identifier, opaque; found "filepath"/),
        reason: 'invalid',
        resource: 'MCPPolicy demo/files-strict',
      },
    ]);
    expect(result.servers).toHaveLength(1);
    expect(result.policies).toHaveLength(0);
  });

  it('reports YAML syntax errors with the line', async () => {
    const file = await write('broken.yaml', `${SERVER}---\napiVersion: mcpwarden.io/v1alpha1\nkind: MCPPolicy\nmetadata: {name: x\nspec: {}\n`);
    const result = await loadManifests(file);
    expect(result.errors.length).toBeGreaterThan(0);
    expect(result.errors[0]).toMatchObject({ file, document: 2, path: '', reason: 'syntax' });
    expect(result.errors[0]?.line).toBeGreaterThanOrEqual(9);
    expect(result.errors[0]?.message).toMatch(/^YAML syntax error at line \d+: /);
  });

  it('refuses duplicate keys and alias bombs', async () => {
    const dup = await write('dup.yaml', `${SERVER}  upstream: {port: 9090}\n`);
    expect((await loadManifests(dup)).errors[0]).toMatchObject({ reason: 'syntax', message: expect.stringMatching(/unique/) });
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    const bomb = await write('bomb.yaml', `${lines.join('\n')}\n`);
    expect((await loadManifests(bomb)).errors[0]).toMatchObject({ reason: 'syntax', message: expect.stringMatching(/alias/i) });
  });

  it('refuses the same kind, namespace and name twice, naming the first place', async () => {
    const first = await write('one.yaml', POLICY);
    const second = await write('two.yaml', `${SERVER}---\n${POLICY}`);
    const result = await loadManifests(dir);
    expect(result.errors).toEqual([
      {
        file: second,
        document: 2,
        path: 'metadata.name',
        reason: 'duplicate',
        resource: 'MCPPolicy demo/files-strict',
        message: `duplicate MCPPolicy demo/files-strict: already defined in ${first} document 1; names must be unique per kind and namespace`,
      },
    ]);
    // Same name in another namespace, or of another kind, is fine.
    await write('two.yaml', `${SERVER}---\n${POLICY.replace('namespace: demo', 'namespace: other')}`);
    expect((await loadManifests(dir)).errors).toEqual([]);
  });

  it('treats our API group with an unknown kind or version as an error, not as someone else’s document', async () => {
    const file = await write('typo.yaml', POLICY.replace('kind: MCPPolicy', 'kind: MCPPolicies'));
    const result = await loadManifests(file);
    expect(result.skipped).toEqual([]);
    expect(result.errors[0]).toMatchObject({ path: 'kind', message: expect.stringContaining('did you mean "MCPPolicy"') });
  });

  it('expands kind: List documents (kubectl get -o yaml)', async () => {
    const file = await write(
      'list.yaml',
      `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: mcpwarden.io/v1alpha1\n    kind: MCPServer\n    metadata: {name: a}\n    spec: {upstream: {port: 1}}\n  - apiVersion: mcpwarden.io/v1alpha1\n    kind: MCPServer\n    metadata: {name: b}\n    spec: {upstream: {port: 0}}\n`,
    );
    const result = await loadManifests(file);
    expect(result.servers.map((s) => s.metadata.name)).toEqual(['a']);
    expect(result.errors).toMatchObject([{ document: 1, path: 'items[1].spec.upstream.port', message: 'must be >= 1; found number 0' }]);
  });

  it('reports a path that cannot be read', async () => {
    const missing = join(dir, 'nope.yaml');
    const result = await loadManifests(missing);
    expect(result.errors).toEqual([{ file: missing, document: 0, path: '', reason: 'unreadable', message: 'cannot read nope.yaml: no such file or directory' }]);
  });

  it('loads several files as one configuration', async () => {
    const a = await write('a.yaml', SERVER);
    const b = await write('b.yaml', POLICY);
    const result = await loadManifestFiles([a, b]);
    expect(result.errors).toEqual([]);
    expect(result.servers).toHaveLength(1);
    expect(result.policies).toHaveLength(1);
  });

  it('fingerprints the content: same text, same fingerprint', async () => {
    const file = await write('p.yaml', POLICY);
    const one = await loadManifests(file);
    const two = await loadManifests(file);
    await write('p.yaml', `${POLICY}# comment\n`);
    const three = await loadManifests(file);
    expect(one.fingerprint).toBe(two.fingerprint);
    expect(three.fingerprint).not.toBe(one.fingerprint);
  });
});
