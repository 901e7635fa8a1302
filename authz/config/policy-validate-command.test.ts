import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../commands.js';
import { loadManifests } from './load.js';
import { runPolicyValidateCommand } from './policy-validate-command.js';

const examples = join(dirname(fileURLToPath(import.meta.url)), '../../examples');

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runPolicyValidateCommand(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-warden-validate-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mcp-warden policy validate', () => {
  it('prints ok per file and exits 0 for valid manifests', async () => {
    const result = await run([join(examples, 'demo.yaml'), join(examples, 'minimal-policy.yaml')]);
    expect(result).toEqual({
      code: 0,
      out: `ok: ${join(examples, 'demo.yaml')}: 2 resources\nok: ${join(examples, 'minimal-policy.yaml')}: 1 resource\n`,
      err: '',
    });
  });

  it('prints each error as file:doc N: path: message and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: mcpwarden.io/v1alpha1\nkind: MCPPolicy\nmetadata: {name: p}\nspec:\n  targetRefs: [{name: s}]\n  tools: {rules: [{name: a, action: allow}]}\n  behavior: [{detector: burst, action: Warn}]\n',
    );
    const result = await run([file]);
    expect(result.code).toBe(1);
    expect(result.out).toBe('');
    expect(result.err).toBe(
      `${file}:doc 2: spec.tools.rules[0].action: must be one of Allow, Deny; found "allow" (did you mean "Allow"?)\n`,
    );
    await writeFile(file, 'apiVersion: mcpwarden.io/v1alpha1\nkind: MCPPolicy\nmetadata: {name: p}\nspec:\n  targetRefs: [{name: s}]\n  behavior: [{detector: burst, action: Warn}]\n');
    expect((await run([file])).err).toBe(`${file}:doc 1: spec.behavior[0].factor: detector burst needs factor\n`);
  });

  it('checks names across all files given, and mentions skipped documents', async () => {
    const policy = 'apiVersion: mcpwarden.io/v1alpha1\nkind: MCPPolicy\nmetadata: {name: p}\nspec: {targetRefs: [{name: s}]}\n';
    await writeFile(join(dir, 'a.yaml'), `${policy}---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n`);
    await writeFile(join(dir, 'b.yaml'), policy);
    const result = await run([join(dir, 'a.yaml'), join(dir, 'b.yaml')]);
    expect(result.code).toBe(1);
    expect(result.out).toBe(`ok: ${join(dir, 'a.yaml')}: 1 resource (1 other document skipped)\n`);
    expect(result.err).toMatch(/b\.yaml:doc 1: metadata\.name: duplicate MCPPolicy default\/p: already defined in .*a\.yaml document 1/);
  });

  it('exits 2 for unreadable input and bad usage', async () => {
    const missing = join(dir, 'missing.yaml');
    expect(await run([missing])).toEqual({ code: 2, out: '', err: `${missing}: cannot read: no such file or directory\n` });
    expect((await run([])).code).toBe(2);
    expect((await run(['--bogus'])).code).toBe(2);
    expect((await run(['--help'])).code).toBe(0);
  });

  it('reports YAML syntax errors with their line', async () => {
    const file = join(dir, 'syntax.yaml');
    await writeFile(file, 'apiVersion: mcpwarden.io/v1alpha1\nkind: MCPPolicy\nmetadata: {name: p\n');
    const result = await run([file]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(new RegExp(`^${file}:doc 1: YAML syntax error at line \\d+: `));
  });

  it('is registered as `mcp-warden policy validate`', async () => {
    const write = process.stdout.write.bind(process.stdout);
    let out = '';
    process.stdout.write = ((chunk: string) => {
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      expect(await main(['policy', 'validate', examples])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect(out).toContain(`ok: ${join(examples, 'demo.yaml')}: 2 resources`);
  });
});

describe('examples/', () => {
  it('all validate, and the demo has the brief’s server, policy and five pinned tools', async () => {
    const result = await loadManifests(examples);
    expect(result.errors).toEqual([]);
    expect(result.servers.map((s) => `${s.metadata.namespace}/${s.metadata.name}`)).toEqual(['demo/warden-demo']);
    const demo = result.servers[0];
    expect(demo?.spec.upstream).toEqual({ port: 3001, path: '/mcp', host: '127.0.0.1' });
    expect(demo?.spec.listener.port).toBe(10000);
    const policy = result.policies.find((p) => p.metadata.name === 'warden-demo-policy');
    expect(policy?.metadata.namespace).toBe('demo');
    expect(policy?.spec.targetRefs.map((t) => t.name)).toEqual(['warden-demo']);
    const rules = policy?.spec.tools.rules ?? [];
    expect(rules.map((r) => r.name)).toEqual(['read_file', 'run_backup', 'query', 'get_customer_list', 'get_user']);
    for (const rule of rules) {
      expect(rule.definition?.inputSchema?.additionalProperties, rule.name).toBe(false);
      expect(rule.definition?.description, rule.name).toMatch(/\w/);
    }
    const kinds = Object.fromEntries(rules.flatMap((r) => Object.entries(r.arguments ?? {}).map(([arg, a]) => [`${r.name}.${arg}`, a.kind])));
    expect(kinds).toEqual({ 'read_file.path': 'path', 'run_backup.filename': 'shell', 'query.sql': 'sql' });
    expect(rules.find((r) => r.name === 'query')?.arguments?.sql?.sql?.readOnly).toBe(true);
    const minimal = result.policies.find((p) => p.metadata.name === 'minimal-example');
    expect(minimal?.spec.behavior).toHaveLength(3);
  });
});
