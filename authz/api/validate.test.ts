import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toolDigest } from './digest.js';
import { applyPolicyDefaults, defaultPolicySpec } from './defaults.js';
import { parseDurationMs, validateMCPPolicy, validateMCPServer, validateResource, type FieldError } from './validate.js';
import type { MCPPolicy, MCPServer } from './types.js';

function policy(spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'p', namespace: 'demo' }): unknown {
  return { apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPPolicy', metadata, spec: { targetRefs: [{ name: 'files' }], ...spec } };
}

function server(spec: Record<string, unknown>): unknown {
  return { apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPServer', metadata: { name: 'files', namespace: 'demo' }, spec };
}

function okPolicy(doc: unknown): MCPPolicy {
  const result = validateMCPPolicy(doc);
  if (!result.ok) throw new Error(`expected valid, got ${JSON.stringify(result.errors)}`);
  return result.resource;
}

function errorsOf(doc: unknown): FieldError[] {
  const result = validateResource(doc);
  if (result.ok) throw new Error('expected errors, got a valid resource');
  return [...result.errors];
}

const readFileDefinition = {
  description: 'Read a file from the shared data volume',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
};

describe('defaults (from the schema)', () => {
  it('gives a policy naming only targetRefs every documented default', () => {
    const { spec } = okPolicy(policy({}));
    expect(spec.mode).toBe('Enforce');
    expect(spec.protocol).toEqual({
      maxBodyBytes: 1048576,
      versions: ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'],
      maxDepth: 64,
      maxWidth: 10000,
      maxBatchSize: 32,
    });
    expect(spec.tools).toEqual({ default: 'Deny', rules: [] });
    expect(spec.detection).toEqual({
      commandInjection: 'Deny',
      sqlInjection: 'Deny',
      pathTraversal: 'Deny',
      ssrf: 'Deny',
      promptInjection: 'Audit',
    });
    expect(spec.session).toMatchObject({
      bind: ['sourceAddress', 'token'],
      onMismatch: 'Deny',
      maxLifetime: '24h',
      idleTimeout: '2h',
      requestIds: { onReplay: 'Deny', reorderWindow: 32, onGap: 'Warn', replayWindow: '5m' },
      onStoreUnavailable: 'FailClosed',
    });
    expect(spec.behavior).toEqual([
      { detector: 'loop', threshold: 100, window: '60s', action: 'Throttle', scope: 'session' },
      { detector: 'rate', threshold: 50, window: '1s', action: 'Throttle', scope: 'session' },
      { detector: 'bulkAccess', argument: 'path', threshold: 200, window: '60s', action: 'Suspend', scope: 'session' },
    ]);
    expect(spec.actions).toEqual({ throttle: { retryAfter: '30s' }, suspend: { duration: '15m' } });
    expect(spec.targetRefs).toEqual([{ name: 'files', kind: 'MCPServer' }]);
  });

  it('keeps what the user wrote and fills only the gaps', () => {
    const { spec } = okPolicy(
      policy({
        mode: 'Audit',
        protocol: { maxBodyBytes: 2048 },
        session: { requestIds: { reorderWindow: 8 } },
        behavior: [{ detector: 'rate', threshold: 5, window: '1s', action: 'Deny' }],
        tools: { rules: [{ name: 'read_file' }] },
      }),
    );
    expect(spec.mode).toBe('Audit');
    expect(spec.protocol.maxBodyBytes).toBe(2048);
    expect(spec.protocol.maxDepth).toBe(64);
    expect(spec.session.requestIds).toEqual({ onReplay: 'Deny', reorderWindow: 8, onGap: 'Warn', replayWindow: '5m' });
    expect(spec.behavior).toEqual([{ detector: 'rate', threshold: 5, window: '1s', action: 'Deny', scope: 'session' }]);
    expect(spec.tools.rules[0]?.action).toBe('Allow');
  });

  it('lets an empty behavior list turn behaviour detection off', () => {
    expect(okPolicy(policy({ behavior: [] })).spec.behavior).toEqual([]);
  });

  it('defaults MCPServer fields and the namespace', () => {
    const result = validateResource({
      apiVersion: 'mcpwarden.io/v1alpha1',
      kind: 'MCPServer',
      metadata: { name: 'files' },
      spec: { upstream: { port: 8080 } },
    });
    expect(result.ok).toBe(true);
    const resource = (result as { resource: MCPServer }).resource;
    expect(resource.metadata.namespace).toBe('default');
    expect(resource.spec).toEqual({
      upstream: { port: 8080, path: '/mcp', host: '127.0.0.1' },
      listener: { port: 15080 },
      trustedProxies: [],
      discovery: { interval: '10m', enabled: true },
    });
  });

  it('names a pinned definition after its rule and makes sql arguments read-only', () => {
    const { spec } = okPolicy(
      policy({
        tools: {
          rules: [
            { name: 'read_file', definition: readFileDefinition },
            { name: 'query', arguments: { sql: { kind: 'sql' } } },
          ],
        },
      }),
    );
    expect(spec.tools.rules[0]?.definition).toMatchObject({ name: 'read_file', description: readFileDefinition.description });
    expect(spec.tools.rules[1]?.arguments?.sql?.sql).toEqual({ readOnly: true });
  });

  it('does not modify its input and never shares default objects between results', () => {
    const input = policy({});
    const snapshot = JSON.stringify(input);
    const a = okPolicy(input);
    const b = okPolicy(input);
    expect(JSON.stringify(input)).toBe(snapshot);
    a.spec.behavior.push({ detector: 'burst', factor: 3, action: 'Warn' });
    a.spec.session.bind.push('userAgent');
    expect(b.spec.behavior).toHaveLength(3);
    expect(b.spec.session.bind).toEqual(['sourceAddress', 'token']);
    expect(defaultPolicySpec().session.bind).toEqual(['sourceAddress', 'token']);
  });

  it('applyPolicyDefaults fills a partial policy for the built-in default', () => {
    const filled = applyPolicyDefaults({
      apiVersion: 'mcpwarden.io/v1alpha1',
      kind: 'MCPPolicy',
      metadata: { name: 'builtin-default' },
      spec: { targetRefs: [{ name: 'files' }] },
    });
    expect(filled.metadata.namespace).toBe('default');
    expect(filled.spec.detection.promptInjection).toBe('Audit');
    expect(filled.spec.tools.default).toBe('Deny');
  });
});

describe('the ARCHITECTURE.md example', () => {
  const docs = parse(`
apiVersion: mcpwarden.io/v1alpha1
kind: MCPPolicy
metadata: {name: files-strict, namespace: demo}
spec:
  targetRefs: [{name: files}]
  mode: Enforce
  protocol:
    maxBodyBytes: 1048576
    versions: ["2025-06-18", "2025-11-25", "2026-07-28"]
  tools:
    default: Deny
    rules:
      - name: read_file
        action: Allow
        definition:
          description: Read a file from the shared data volume
          inputSchema:
            type: object
            properties: {path: {type: string}}
            required: [path]
            additionalProperties: false
        arguments:
          path: {kind: path, allow: ["/data/public/**"]}
      - name: query
        action: Allow
        digest: "sha256:${'ab'.repeat(32)}"
        arguments:
          sql: {kind: sql, sql: {readOnly: true}}
        when: 'claims.groups.exists(g, g == "analysts")'
  detection:
    commandInjection: Deny
    sqlInjection: Deny
    pathTraversal: Deny
    ssrf: Deny
    promptInjection: Audit
  session:
    bind: [sourceAddress, userAgent, clientCertificate, token]
    onMismatch: Suspend
    maxLifetime: 24h
    idleTimeout: 2h
    requestIds: {onReplay: Deny, reorderWindow: 32}
  behavior:
    - {detector: loop, threshold: 100, window: 60s, action: Throttle}
    - {detector: enumeration, threshold: 50, window: 60s, action: Suspend}
    - {detector: bulkAccess, argument: path, threshold: 200, window: 60s, action: Suspend}
    - {detector: rate, threshold: 50, window: 1s, action: Throttle}
    - {detector: burst, factor: 10, action: Warn}
  actions: {throttle: {retryAfter: 30s}, suspend: {duration: 15m}}
`) as unknown;

  it('validates as written', () => {
    const spec = okPolicy(docs).spec;
    expect(spec.session.onMismatch).toBe('Suspend');
    expect(spec.behavior).toHaveLength(5);
    expect(spec.tools.rules.map((r) => r.name)).toEqual(['read_file', 'query']);
  });

  it('accepts the MCPServer example, status included', () => {
    const result = validateMCPServer(
      parse(`
apiVersion: mcpwarden.io/v1alpha1
kind: MCPServer
metadata: {name: files, namespace: demo}
spec:
  selector: {matchLabels: {app: files-mcp}}
  upstream: {port: 8080, path: /mcp}
  listener: {port: 15080}
  trustedProxies: ["10.0.0.0/8"]
  auth:
    jwt: {issuer: https://idp.example, audiences: [files-mcp], jwksUri: https://idp.example/jwks}
  discovery: {interval: 10m}
status:
  observedGeneration: 3
  conditions:
    - {type: Ready, status: "True", reason: Ready, message: ok, lastTransitionTime: "2025-01-01T00:00:00Z"}
    - {type: ToolsApproved, status: "False", reason: Drifted, message: run_backup drifted, lastTransitionTime: "2025-01-01T00:00:00Z"}
  tools:
    - {name: read_file, digest: "sha256:${'0'.repeat(64)}", state: Approved}
    - {name: run_backup, digest: "sha256:${'1'.repeat(64)}", state: Drifted, findings: [{rule: hidden-instruction, excerpt: "ignore previous"}]}
  driftedTools: 1
`),
    );
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});

describe('errors name the field, the expectation and what was found', () => {
  it('wrong enum value, with a case hint', () => {
    expect(errorsOf(policy({ tools: { rules: [{ name: 'read_file', action: 'allow' }] } }))).toEqual([
      { path: 'spec.tools.rules[0].action', message: 'must be one of Allow, Deny; found "allow" (did you mean "Allow"?)' },
    ]);
  });

  it('unknown field, with a spelling hint', () => {
    const [error] = errorsOf(policy({ tool: { default: 'Allow' } }));
    expect(error?.path).toBe('spec.tool');
    expect(error?.message).toMatch(/^unknown field \(did you mean "tools"\?\); the fields here are: targetRefs, mode, protocol, tools/);
  });

  it('wrong type', () => {
    expect(errorsOf(policy({ session: { requestIds: { reorderWindow: '32' } } }))).toEqual([
      { path: 'spec.session.requestIds.reorderWindow', message: 'must be an integer; found "32"' },
    ]);
  });

  it('bad duration and bad digest', () => {
    const errors = errorsOf(
      policy({ actions: { suspend: { duration: '15 minutes' } }, tools: { rules: [{ name: 'q', digest: 'sha256:XYZ' }] } }),
    );
    expect(errors).toContainEqual({
      path: 'spec.actions.suspend.duration',
      message: 'must be a duration such as 30s, 15m, 1h30m or 250ms; found "15 minutes"',
    });
    expect(errors.find((e) => e.path === 'spec.tools.rules[0].digest')?.message).toMatch(/^must be "sha256:" followed by 64 lowercase hex digits/);
  });

  it('missing required fields and empty targetRefs', () => {
    expect(errorsOf({ apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPPolicy', metadata: {}, spec: { targetRefs: [] } })).toEqual([
      { path: 'metadata.name', message: 'required field is missing' },
      { path: 'spec.targetRefs', message: 'must have at least 1 item; found an empty list' },
    ]);
    expect(errorsOf(server({ upstream: {} }))).toEqual([{ path: 'spec.upstream.port', message: 'required field is missing' }]);
  });

  it('names that Kubernetes would refuse', () => {
    expect(errorsOf(policy({}, { name: 'Files_Strict' }))[0]?.path).toBe('metadata.name');
  });

  it('wrong apiVersion or kind', () => {
    expect(errorsOf({ apiVersion: 'mcpwarden.io/v1', kind: 'MCPPolicy', metadata: { name: 'x' }, spec: {} })).toEqual([
      { path: 'apiVersion', message: 'must be mcpwarden.io/v1alpha1; found "mcpwarden.io/v1"' },
    ]);
    expect(errorsOf({ apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPPolicies', metadata: { name: 'x' }, spec: {} })[0]?.message).toBe(
      'must be one of MCPServer, MCPPolicy; found "MCPPolicies" (did you mean "MCPPolicy"?)',
    );
    expect(errorsOf('a string')[0]?.path).toBe('');
  });

  it('protocol revision that does not exist, and repeated ones', () => {
    const errors = errorsOf(policy({ protocol: { versions: ['2025-06-18', '2025-06-18', '2099-01-01'] } }));
    expect(errors.map((e) => e.path)).toEqual(['spec.protocol.versions[2]', 'spec.protocol.versions[1]']);
    expect(errors[1]?.message).toBe('repeats "2025-06-18", already at [0]; each value may appear once');
  });
});

describe('cross-field rules (the CRD CEL rules, enforced in standalone mode too)', () => {
  it('tool rule names are unique', () => {
    expect(errorsOf(policy({ tools: { rules: [{ name: 'a' }, { name: 'b' }, { name: 'a', action: 'Deny' }] } }))).toEqual([
      {
        path: 'spec.tools.rules[2].name',
        message: 'duplicate name "a": already used by spec.tools.rules[0]; each name may appear once',
      },
    ]);
  });

  it('burst needs factor, bulkAccess needs argument, the others threshold and window', () => {
    const errors = errorsOf(
      policy({
        behavior: [
          { detector: 'burst', action: 'Warn' },
          { detector: 'bulkAccess', threshold: 10, window: '1m', action: 'Suspend' },
          { detector: 'rate', action: 'Throttle' },
          { detector: 'burst', factor: 4, action: 'Warn' },
        ],
      }),
    );
    expect(errors).toEqual([
      { path: 'spec.behavior[0].factor', message: 'detector burst needs factor' },
      { path: 'spec.behavior[1].argument', message: 'detector bulkAccess needs argument' },
      { path: 'spec.behavior[2].threshold', message: 'detectors other than burst need threshold and window' },
    ]);
  });

  it('argument options must fit the kind', () => {
    const errors = errorsOf(
      policy({
        tools: {
          rules: [
            {
              name: 't',
              arguments: {
                a: { kind: 'path', sql: { readOnly: true } },
                b: { kind: 'text', allow: ['x'] },
                c: { kind: 'url', schemes: ['https'], allow: ['*.example.com'] },
                d: { kind: 'identifier', deny: ['root'] },
              },
            },
          ],
        },
      }),
    );
    expect(errors).toEqual([
      { path: 'spec.tools.rules[0].arguments.a.sql', message: 'sql options apply only to kind sql or sql-fragment' },
      { path: 'spec.tools.rules[0].arguments.b.allow', message: 'allow applies only to kind path or url' },
      { path: 'spec.tools.rules[0].arguments.d.deny', message: 'deny applies only to kind path or url' },
    ]);
  });

  it('idleTimeout may not exceed maxLifetime', () => {
    expect(errorsOf(policy({ session: { idleTimeout: '25h' } }))).toEqual([
      { path: 'spec.session.idleTimeout', message: 'idleTimeout must not be longer than maxLifetime' },
    ]);
    okPolicy(policy({ session: { idleTimeout: '90m', maxLifetime: '1h30m' } }));
  });

  it('listener and upstream ports differ', () => {
    expect(errorsOf(server({ upstream: { port: 15080 } }))).toEqual([
      {
        path: 'spec.listener.port',
        message: 'listener.port must differ from upstream.port: Envoy and the MCP server share the pod network',
      },
    ]);
  });
});

describe('pins and tool definitions', () => {
  it('accepts a digest that matches the definition and refuses one that does not', () => {
    const digest = toolDigest({ name: 'read_file', ...readFileDefinition });
    okPolicy(policy({ tools: { rules: [{ name: 'read_file', definition: readFileDefinition, digest }] } }));
    const wrong = `sha256:${'0'.repeat(64)}`;
    const errors = errorsOf(policy({ tools: { rules: [{ name: 'read_file', definition: readFileDefinition, digest: wrong }] } }));
    expect(errors).toEqual([
      {
        path: 'spec.tools.rules[0].digest',
        message: `does not match definition: the definition digests to ${digest}; found ${wrong}. Remove one of them or correct the digest`,
      },
    ]);
  });

  it('refuses a definition named differently from its rule', () => {
    expect(errorsOf(policy({ tools: { rules: [{ name: 'read_file', definition: { ...readFileDefinition, name: 'write_file' } }] } }))).toEqual([
      { path: 'spec.tools.rules[0].definition.name', message: 'definition.name must equal the rule name (or be omitted)' },
    ]);
  });

  it('refuses definitions that are not valid tool definitions', () => {
    const rule = (definition: unknown): unknown => policy({ tools: { rules: [{ name: 't', definition }] } });
    expect(errorsOf(rule({ description: 'x' }))).toEqual([
      { path: 'spec.tools.rules[0].definition.inputSchema', message: expect.stringMatching(/^required field is missing: a pinned definition needs/) },
    ]);
    expect(errorsOf(rule({ inputSchema: { type: 'string' } }))).toEqual([
      { path: 'spec.tools.rules[0].definition.inputSchema.type', message: 'must be "object" (MCP tool schemas describe an object); found "string"' },
    ]);
    const [bad] = errorsOf(rule({ inputSchema: { type: 'object', properties: { a: { type: 'strng' } } } }));
    expect(bad?.path).toBe('spec.tools.rules[0].definition.inputSchema');
    expect(bad?.message).toMatch(/^is not a valid JSON Schema: properties\.a\.type/);
    const [unresolved] = errorsOf(rule({ inputSchema: { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } } }));
    expect(unresolved?.message).toMatch(/^is not a valid JSON Schema: .*missing/);
    const [extra] = errorsOf(rule({ inputSchema: { type: 'object' }, icons: [] }));
    expect(extra?.path).toBe('spec.tools.rules[0].definition.icons');
  });

  it('accepts draft-07 tool schemas', () => {
    okPolicy(
      policy({
        tools: {
          rules: [
            {
              name: 't',
              definition: { inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { a: { type: 'string' } } } },
            },
          ],
        },
      }),
    );
  });

  it('argument rules must name arguments the pinned schema has', () => {
    const errors = errorsOf(
      policy({
        tools: {
          rules: [
            {
              name: 'read_file',
              definition: readFileDefinition,
              arguments: { pth: { kind: 'path' }, '/path/inner': { kind: 'path' }, '/nope/x': { kind: 'text' } },
            },
          ],
        },
      }),
    );
    expect(errors).toEqual([
      {
        path: 'spec.tools.rules[0].arguments.pth',
        message: 'no argument "pth" in definition.inputSchema; its properties are: path (did you mean "path"?)',
      },
      { path: 'spec.tools.rules[0].arguments["/nope/x"]', message: 'no argument "nope" in definition.inputSchema; its properties are: path' },
    ]);
  });

  it('refuses a `when` that is not CEL', () => {
    const [error] = errorsOf(policy({ tools: { rules: [{ name: 'q', when: 'claims.groups.exists(g, g == "a"' }] } }));
    expect(error?.path).toBe('spec.tools.rules[0].when');
    expect(error?.message).toMatch(/^is not a valid CEL expression: /);
  });
});

describe('values checked in code', () => {
  it('trusted proxies must be addresses or CIDRs', () => {
    const errors = errorsOf(server({ upstream: { port: 8080 }, trustedProxies: ['10.0.0.0/8', 'fd00::/8', '10.0.0.0/33', '1.2.3/8', '::1'] }));
    expect(errors.map((e) => e.path)).toEqual(['spec.trustedProxies[2]', 'spec.trustedProxies[3]']);
    expect(errors[0]?.message).toBe('must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or fd00::/8; found "10.0.0.0/33"');
  });

  it('durations that must be positive, and Retry-After in whole seconds', () => {
    const errors = errorsOf(
      policy({
        behavior: [{ detector: 'rate', threshold: 1, window: '0s', action: 'Warn' }],
        actions: { throttle: { retryAfter: '500ms' } },
      }),
    );
    expect(errors).toEqual([
      { path: 'spec.behavior[0].window', message: 'must be longer than zero; found "0s"' },
      { path: 'spec.actions.throttle.retryAfter', message: 'must be at least 1s (Retry-After is sent in whole seconds); found "500ms"' },
    ]);
  });

  it('parses durations', () => {
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('60s')).toBe(60_000);
    expect(parseDurationMs('1d')).toBeUndefined();
    expect(parseDurationMs('')).toBeUndefined();
  });
});
