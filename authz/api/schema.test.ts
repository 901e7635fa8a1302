import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { Environment } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { generateCrds } from '../../scripts/gen-crds.js';
import {
  mcpPolicySpecSchema,
  mcpPolicyStatusSchema,
  mcpServerSpecSchema,
  mcpServerStatusSchema,
  toAjvSchema,
  type CelRule,
  type SchemaNode,
} from './schema.js';
import { CEL_EQUIVALENTS } from './validate.js';

/**
 * CEL as the API server runs it for CRDs: with the Kubernetes IP and CIDR libraries
 * (isIP, isCIDR; approximated here with node:net, the real ones are exercised in test/operator).
 */
const cel = new Environment({ unlistedVariablesAreDyn: true })
  .registerFunction('isIP(string): bool', (value: string) => isIP(value) !== 0)
  .registerFunction('isCIDR(string): bool', (value: string) => {
    const [address = '', prefix, ...rest] = value.split('/');
    const family = isIP(address);
    return family !== 0 && rest.length === 0 && prefix !== undefined && /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
  });
const evaluate = (expression: string, context: Record<string, unknown>): unknown => cel.evaluate(expression, context);

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const ROOTS: Record<string, SchemaNode> = {
  'MCPServer.spec': mcpServerSpecSchema,
  'MCPServer.status': mcpServerStatusSchema,
  'MCPPolicy.spec': mcpPolicySpecSchema,
  'MCPPolicy.status': mcpPolicyStatusSchema,
};

/** Every schema node below a root, with its path (`items` as `[]`, map values as `{}`). */
function nodes(node: unknown, path: string, out: Array<[string, Record<string, unknown>]> = []): Array<[string, Record<string, unknown>]> {
  if (typeof node !== 'object' || node === null) return out;
  const schema = node as Record<string, unknown>;
  out.push([path, schema]);
  for (const [name, child] of Object.entries((schema.properties as Record<string, unknown> | undefined) ?? {})) nodes(child, `${path}.${name}`, out);
  if (schema.items !== undefined) nodes(schema.items, `${path}[]`, out);
  if (typeof schema.additionalProperties === 'object') nodes(schema.additionalProperties, `${path}{}`, out);
  return out;
}

function celRules(): Array<[string, CelRule]> {
  return Object.entries(ROOTS).flatMap(([name, schema]) =>
    nodes(schema, name).flatMap(([path, node]) => ((node['x-kubernetes-validations'] as CelRule[] | undefined) ?? []).map((rule): [string, CelRule] => [path, rule])),
  );
}

describe('the schema teaches the API (kubectl explain)', () => {
  it('has a description on every field, stating the default where there is one', () => {
    const missing: string[] = [];
    const undocumentedDefaults: string[] = [];
    for (const [name, schema] of Object.entries(ROOTS)) {
      for (const [path, node] of nodes(schema, name)) {
        if (typeof node.description !== 'string' || node.description.trim().length < 3) missing.push(path);
        if (node.default !== undefined && !/Defaults to|When omitted/.test(String(node.description))) undocumentedDefaults.push(path);
      }
    }
    expect(missing).toEqual([]);
    expect(undocumentedDefaults).toEqual([]);
  });

  it('states the documented defaults in the descriptions', () => {
    const policy = Object.fromEntries(nodes(mcpPolicySpecSchema, 'spec').map(([p, n]) => [p, String(n.description)]));
    expect(policy['spec.mode']).toMatch(/Defaults to Enforce\.$/);
    expect(policy['spec.protocol.maxBodyBytes']).toMatch(/Defaults to 1048576\./);
    expect(policy['spec.detection.promptInjection']).toMatch(/Defaults to Audit\./);
    expect(policy['spec.session.bind']).toMatch(/Defaults to \[sourceAddress, token\]\./);
    expect(policy['spec.behavior']).toContain('"detector":"bulkAccess","argument":"path","threshold":200,"window":"60s","action":"Suspend"');
    const server = Object.fromEntries(nodes(mcpServerSpecSchema, 'spec').map(([p, n]) => [p, String(n.description)]));
    expect(server['spec.listener.port']).toMatch(/Defaults to 15080\./);
    expect(server['spec.discovery.interval']).toMatch(/Defaults to 10m\./);
  });

  it('gives every enumerated field its values and ArgumentRule.kind the nine kinds', () => {
    const kind = nodes(mcpPolicySpecSchema, 'spec').find(([p]) => p === 'spec.tools.rules[].arguments{}.kind')?.[1];
    expect(kind?.enum).toEqual(['path', 'shell', 'command', 'sql', 'sql-fragment', 'url', 'text', 'identifier', 'opaque']);
  });
});

describe('CEL rules and their TypeScript equivalents', () => {
  // For each rule: values of `self` on which it holds and on which it fails.
  const samples: Record<string, { holds: unknown[]; fails: unknown[] }> = {
    'listener.port must differ from upstream.port: Envoy and the MCP server share the pod network': {
      holds: [{ upstream: { port: 8080 }, listener: { port: 15080 } }, { upstream: { port: 8080 } }],
      fails: [{ upstream: { port: 8080 }, listener: { port: 8080 } }],
    },
    'sql options apply only to kind sql or sql-fragment': {
      holds: [{ kind: 'sql', sql: { readOnly: true } }, { kind: 'sql-fragment', sql: { readOnly: false } }, { kind: 'path' }],
      fails: [{ kind: 'path', sql: { readOnly: true } }],
    },
    'commands apply only to kind command or shell': {
      holds: [{ kind: 'command', commands: ['tar'] }, { kind: 'shell', commands: ['tar'] }, { kind: 'text' }],
      fails: [{ kind: 'sql', commands: ['tar'] }],
    },
    'schemes apply only to kind url': {
      holds: [{ kind: 'url', schemes: ['https'] }, { kind: 'path' }],
      fails: [{ kind: 'path', schemes: ['https'] }],
    },
    'allow applies only to kind path or url': {
      holds: [{ kind: 'path', allow: ['/a/**'] }, { kind: 'url', allow: ['x'] }, { kind: 'text', deny: ['x'] }],
      fails: [{ kind: 'text', allow: ['x'] }],
    },
    'deny applies only to kind path or url': {
      holds: [{ kind: 'path', deny: ['/a/**'] }, { kind: 'url', deny: ['x'] }, { kind: 'text', allow: ['x'] }],
      fails: [{ kind: 'sql', deny: ['x'] }],
    },
    'definition.name must equal the rule name (or be omitted)': {
      holds: [{ name: 'a' }, { name: 'a', definition: {} }, { name: 'a', definition: { name: 'a' } }],
      fails: [{ name: 'a', definition: { name: 'b' } }],
    },
    'detector burst needs factor': {
      holds: [{ detector: 'burst', factor: 3, action: 'Warn' }, { detector: 'rate', action: 'Warn' }],
      fails: [{ detector: 'burst', action: 'Warn' }],
    },
    'detector bulkAccess needs argument': {
      holds: [{ detector: 'bulkAccess', argument: 'path', action: 'Warn' }, { detector: 'loop', action: 'Warn' }],
      fails: [{ detector: 'bulkAccess', action: 'Warn' }],
    },
    'detectors other than burst need threshold and window': {
      holds: [{ detector: 'burst', factor: 2, action: 'Warn' }, { detector: 'rate', threshold: 1, window: '1s', action: 'Warn' }],
      fails: [{ detector: 'rate', threshold: 1, action: 'Warn' }, { detector: 'loop', window: '1s', action: 'Warn' }],
    },
    'trustedProxies entries must be IPv4 or IPv6 addresses or CIDRs such as 10.0.0.0/8 or fd00::/8': {
      holds: [{ trustedProxies: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1'] }, { trustedProxies: [] }, {}],
      fails: [{ trustedProxies: ['999.1.1.1/99'] }, { trustedProxies: ['10.0.0.0/33'] }, { trustedProxies: ['10.0.0.0/8', 'fd00::/129'] }, { trustedProxies: ['1.2.3'] }],
    },
    'definition needs inputSchema: the schema arguments are validated against': {
      holds: [{ name: 'a' }, { name: 'a', definition: { inputSchema: { type: 'object' } } }],
      fails: [{ name: 'a', definition: { description: 'x' } }],
    },
    'retryAfter must be at least 1s (Retry-After is sent in whole seconds)': {
      holds: [{ retryAfter: '1s' }, { retryAfter: '1500ms' }, { retryAfter: '30s' }, {}],
      fails: [{ retryAfter: '0s' }, { retryAfter: '999ms' }],
    },
    ...Object.fromEntries(
      ['interval', 'window', 'maxLifetime', 'idleTimeout', 'duration'].map((name) => [
        `${name} must be longer than zero`,
        { holds: [{ [name]: '1ms' }, { [name]: '1h30m' }, {}], fails: [{ [name]: '0s' }, { [name]: '0h0m' }] },
      ]),
    ),
    'idleTimeout must not be longer than maxLifetime': {
      holds: [{ idleTimeout: '2h', maxLifetime: '24h' }, { idleTimeout: '90m', maxLifetime: '1h30m' }, {}],
      fails: [{ idleTimeout: '25h', maxLifetime: '24h' }, { idleTimeout: '1s', maxLifetime: '999ms' }],
    },
  };

  it('every CEL rule has a TypeScript equivalent and samples on both sides', () => {
    const messages = celRules().map(([, rule]) => rule.message);
    expect(new Set(messages).size).toBe(messages.length);
    expect([...messages].sort()).toEqual(Object.keys(CEL_EQUIVALENTS).sort());
    expect([...messages].sort()).toEqual(Object.keys(samples).sort());
  });

  it.each(celRules().map(([path, rule]) => [path, rule] as const))('%s: CEL and TypeScript agree (%o)', (_path, rule) => {
    const tsCheck = CEL_EQUIVALENTS[rule.message];
    const sample = samples[rule.message];
    expect(tsCheck).toBeDefined();
    expect(sample).toBeDefined();
    for (const [expected, values] of [[true, sample?.holds ?? []], [false, sample?.fails ?? []]] as const) {
      for (const self of values) {
        expect(evaluate(rule.rule, { self }), `CEL ${rule.rule} on ${JSON.stringify(self)}`).toBe(expected);
        expect(tsCheck?.(self as Record<string, unknown>), `TypeScript on ${JSON.stringify(self)}`).toBe(expected);
      }
    }
  });
});

describe('the ajv form of the schema', () => {
  it('drops Kubernetes keywords, closes listed objects and keeps free-form ones open', () => {
    const ajvSchema = JSON.stringify(toAjvSchema(mcpPolicySpecSchema));
    expect(ajvSchema).not.toContain('x-kubernetes');
    const spec = toAjvSchema(mcpPolicySpecSchema) as { additionalProperties?: unknown; properties: Record<string, Record<string, unknown>> };
    expect(spec.additionalProperties).toBe(false);
    const rules = spec.properties.tools?.properties as Record<string, { items: { properties: Record<string, Record<string, unknown>> } }>;
    const definition = rules.rules?.items.properties.definition as { properties: Record<string, Record<string, unknown>> };
    expect(definition.properties.inputSchema?.additionalProperties).toBeUndefined();
    const versions = (spec.properties.protocol?.properties as Record<string, Record<string, unknown>>).versions;
    expect(versions?.uniqueItems).toBe(true);
  });
});

describe('generated CRDs', () => {
  const crds = generateCrds();

  it('are committed exactly as the generator writes them, in crds/ and in the Helm chart (run `npm run gen:crds`)', async () => {
    expect(crds.map((c) => c.file)).toEqual(['crds/mcpwarden.io_mcpservers.yaml', 'crds/mcpwarden.io_mcppolicies.yaml']);
    expect(crds.flatMap((c) => c.files)).toEqual([
      'crds/mcpwarden.io_mcpservers.yaml',
      'deploy/helm/mcp-warden/crds/mcpwarden.io_mcpservers.yaml',
      'crds/mcpwarden.io_mcppolicies.yaml',
      'deploy/helm/mcp-warden/crds/mcpwarden.io_mcppolicies.yaml',
    ]);
    for (const crd of crds) {
      for (const file of crd.files) expect(await readFile(join(root, file), 'utf8'), file).toBe(crd.text);
    }
    // Nothing else in either folder: a CRD dropped from the schema must not linger in the chart.
    for (const dir of ['crds', 'deploy/helm/mcp-warden/crds']) {
      const names = (await readdir(join(root, dir))).sort();
      expect(names, dir).toEqual(crds.map((c) => c.file.slice('crds/'.length)).sort());
    }
  });

  it('are structural: every property typed (or preserving unknown fields), no forbidden keywords', () => {
    const problems: string[] = [];
    for (const crd of crds) {
      const versions = (crd.object.spec as { versions: Array<{ schema: { openAPIV3Schema: unknown } }> }).versions;
      for (const [path, node] of nodes(versions[0]?.schema.openAPIV3Schema, crd.file)) {
        if (node.type === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) problems.push(`${path}: no type`);
        if (node.properties !== undefined && node.additionalProperties !== undefined) problems.push(`${path}: properties with additionalProperties`);
        if (node.uniqueItems !== undefined) problems.push(`${path}: uniqueItems (use x-kubernetes-list-type: set)`);
        for (const forbidden of ['$ref', 'oneOf', 'anyOf', 'allOf', 'not', 'definitions', 'const']) {
          if (node[forbidden] !== undefined) problems.push(`${path}: ${forbidden}`);
        }
        const keys = node['x-kubernetes-list-map-keys'] as string[] | undefined;
        const items = node.items as { required?: string[]; properties?: Record<string, { default?: unknown }> } | undefined;
        for (const key of keys ?? []) {
          if (!(items?.required ?? []).includes(key) && items?.properties?.[key]?.default === undefined) problems.push(`${path}: map key ${key} neither required nor defaulted`);
        }
        if (node.type === 'array' && node.items === undefined) problems.push(`${path}: array without items`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('name the group, version, kinds, short names, category, scope, status subresource and columns', () => {
    const [servers, policies] = crds.map((c) => c.object as { metadata: { name: string }; spec: Record<string, unknown> });
    expect(servers?.metadata.name).toBe('mcpservers.mcpwarden.io');
    expect(servers?.spec).toMatchObject({
      group: 'mcpwarden.io',
      scope: 'Namespaced',
      names: { kind: 'MCPServer', plural: 'mcpservers', shortNames: ['mcps'], categories: ['mcp'] },
      versions: [{ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } }],
    });
    expect(policies?.spec).toMatchObject({ names: { kind: 'MCPPolicy', plural: 'mcppolicies', shortNames: ['mcpp'], categories: ['mcp'] } });
    const columns = (crd: { spec: Record<string, unknown> } | undefined): string[] =>
      ((crd?.spec.versions as Array<{ additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }>)[0]?.additionalPrinterColumns ?? []).map(
        (c) => `${c.name}=${c.jsonPath}`,
      );
    expect(columns(servers)).toEqual([
      'Ready=.status.conditions[?(@.type=="Ready")].status',
      'Drifted=.status.driftedTools',
      'Tools=.status.toolsSummary',
      'Age=.metadata.creationTimestamp',
    ]);
    expect(columns(policies)).toEqual([
      'Mode=.spec.mode',
      'Targets=.status.targetsSummary',
      'Accepted=.status.conditions[?(@.type=="Accepted")].status',
      'Age=.metadata.creationTimestamp',
    ]);
  });
});
