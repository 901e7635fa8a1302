import { describe, expect, it } from 'vitest';
import { defaultPolicySpec, defaultServerSpec } from '../api/defaults.js';
import type { DetectionSpec, MCPPolicy, MCPServer, ToolRule } from '../api/types.js';
import { buildSnapshot } from '../config/snapshot.js';
import { createEngine } from '../pipeline/decide.js';
import type { CompiledToolRule } from '../pipeline/compiled.js';
import { buildContext, buildRequest } from '../../test/support/context.js';
import { argumentsStage, compileArgumentInspection } from './arguments.js';

const DETECTION: DetectionSpec = { commandInjection: 'Deny', sqlInjection: 'Deny', pathTraversal: 'Deny', ssrf: 'Deny', promptInjection: 'Audit' };

describe('compileArgumentInspection', () => {
  it('denies the brief examples with a message naming the argument and the detector', () => {
    const { inspect } = compileArgumentInspection(
      'run_backup',
      { filename: { kind: 'shell' }, path: { kind: 'path' }, url: { kind: 'url' } },
      undefined,
      DETECTION,
    );
    const [shell] = inspect({ filename: 'backup.tar; rm -rf / ;' });
    expect(shell?.action).toBe('Deny');
    expect(shell?.denial).toMatchObject({ stage: 'arguments', class: 'policy', code: -32020, rule: 'shell-separator' });
    expect(shell?.denial.message).toBe(`tool "run_backup": argument "/filename" rejected by commandInjection: command separator ';'`);
    expect(shell?.denial.data).toMatchObject({ argument: '/filename', detector: 'commandInjection' });
    expect(inspect({ path: '../../../../etc/passwd' })[0]?.denial.rule).toBe('path-traversal');
    expect(inspect({ url: 'http://169.254.169.254/' })[0]?.denial.rule).toBe('ssrf-metadata');
    expect(inspect({ filename: 'backup.tar', path: 'docs/a.md', url: 'https://example.com/' })).toEqual([]);
  });

  it('infers kinds from the pinned inputSchema where the policy is silent, and reports them', () => {
    const schema = {
      type: 'object',
      properties: { path: { type: 'string' }, note: { type: 'string' }, target: { type: 'string', format: 'uri' }, page: { type: 'integer' } },
    };
    const { inspect, inferred } = compileArgumentInspection('read_file', { note: { kind: 'opaque' } }, schema, DETECTION);
    expect(inferred).toEqual(
      expect.arrayContaining([
        { pointer: '/note', kind: 'opaque', reason: 'policy arguments.note', source: 'policy' },
        { pointer: '/path', kind: 'path', reason: 'property name "path"', source: 'inferred' },
        { pointer: '/target', kind: 'url', reason: 'format "uri"', source: 'inferred' },
        { pointer: '/page', kind: 'opaque', reason: 'type integer', source: 'inferred' },
      ]),
    );
    expect(inspect({ path: '/etc/shadow' })[0]?.denial.rule).toBe('path-sensitive-root');
    expect(inspect({ target: 'http://[::1]/' })[0]?.denial.rule).toBe('ssrf-private-address');
    expect(inspect({ note: '$(id); ../../etc/passwd' })).toEqual([]);
  });

  it('walks nested objects and arrays; JSON-pointer rules; array strings take the array kind', () => {
    const { inspect } = compileArgumentInspection('sync', { '/filter/dir': { kind: 'path', allow: ['/data/**'] }, targets: { kind: 'url' } }, undefined, DETECTION);
    expect(inspect({ filter: { dir: '/data/a' }, targets: ['https://a.example/', 'https://b.example/'] })).toEqual([]);
    const [outside] = inspect({ filter: { dir: '/srv/x' } });
    expect(outside?.denial.rule).toBe('path-outside-allowlist');
    expect(outside?.denial.data?.argument).toBe('/filter/dir');
    const [second] = inspect({ targets: ['https://a.example/', 'http://127.0.0.1:2375/'] });
    expect(second?.denial.rule).toBe('ssrf-private-address');
    expect(second?.denial.data?.argument).toBe('/targets/1');
    const [nested] = inspect({ targets: [{ primary: 'gopher://x/' }] });
    expect(nested?.denial.rule).toBe('ssrf-scheme');
  });

  it('falls back to the key name when neither policy nor schema knows the argument', () => {
    const { inspect } = compileArgumentInspection('anything', undefined, undefined, DETECTION);
    expect(inspect({ options: { file_path: '../../etc/passwd' } })[0]?.denial.rule).toBe('path-traversal');
    expect(inspect({ webhookUrl: 'http://localhost/' })[0]?.denial.rule).toBe('ssrf-internal-host');
    expect(inspect({ comment: 'a; b | c' })).toEqual([]);
  });

  it('judges a key by its name on every call, also after many other names were seen', () => {
    const { inspect } = compileArgumentInspection('anything', undefined, undefined, DETECTION);
    for (let round = 0; round < 2; round++) {
      expect(inspect({ file_path: '../../etc/passwd' })[0]?.denial.rule).toBe('path-traversal');
      expect(inspect({ file_path: 'docs/readme.md', page_token: '../../etc/passwd' })).toEqual([]);
      // Hundreds of distinct names (more than are remembered) change nothing.
      const junk = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${round}_${i}`, 'x']));
      expect(inspect(junk)).toEqual([]);
    }
    expect(inspect({ webhook_url: 'http://169.254.169.254/' })[0]?.denial.rule).toBe('ssrf-metadata');
  });

  it('follows spec.detection: Off skips, Audit records, Deny refuses', () => {
    const rules = { filename: { kind: 'shell' as const } };
    const off = compileArgumentInspection('t', rules, undefined, { ...DETECTION, commandInjection: 'Off' }).inspect;
    expect(off({ filename: 'a; b' })).toEqual([]);
    const audit = compileArgumentInspection('t', rules, undefined, { ...DETECTION, commandInjection: 'Audit' }).inspect;
    expect(audit({ filename: 'a; b' }).map((f) => f.action)).toEqual(['Audit']);
    const denyAll = compileArgumentInspection('t', rules, undefined, DETECTION).inspect;
    expect(denyAll({ filename: 'a; b' }).map((f) => f.action)).toEqual(['Deny']);
  });

  it('enforces maxLength', () => {
    const { inspect } = compileArgumentInspection('t', { id: { kind: 'identifier', maxLength: 8 } }, undefined, DETECTION);
    expect(inspect({ id: 'abc' })).toEqual([]);
    expect(inspect({ id: 'x'.repeat(9) })[0]?.denial.rule).toBe('argument-too-long');
  });

  it('refuses, rather than allows, arguments beyond the walk budget', () => {
    const budget = { maxNodes: 100, maxDepth: 5, maxInspectedChars: 1000 };
    const { inspect } = compileArgumentInspection('t', { paths: { kind: 'path' } }, undefined, DETECTION, budget);
    expect(inspect({ paths: Array.from({ length: 200 }, () => 'a.txt') })[0]?.denial.rule).toBe('arguments-budget-exceeded');
    let deep: unknown = 'x';
    for (let i = 0; i < 10; i++) deep = { a: deep };
    expect(inspect({ paths: deep as Record<string, unknown> })[0]?.denial.rule).toBe('arguments-budget-exceeded');
    expect(inspect({ paths: ['a/'.repeat(300), 'b/'.repeat(300)] })[0]?.denial.rule).toBe('arguments-budget-exceeded');
    expect(inspect({ paths: ['a.txt', 'b.txt'] })).toEqual([]);
  });

  it('refuses a bad glob at load, naming the tool and argument', () => {
    expect(() => compileArgumentInspection('read_file', { path: { kind: 'path', allow: [''] } }, undefined, DETECTION)).toThrow(/read_file.*arguments\.path/);
  });
});

describe('argumentsStage', () => {
  const toolRule = (name: string, rules: ToolRule['arguments'], detection = DETECTION): CompiledToolRule => ({
    name,
    action: 'Allow',
    pinnedDigest: undefined,
    definition: undefined,
    checkSchema: undefined,
    inspectArguments: compileArgumentInspection(name, rules, undefined, detection).inspect,
    authorize: undefined,
  });
  const call = (name: string, args: Record<string, unknown>, rule: CompiledToolRule | undefined) => ({
    message: { kind: 'request' as const, id: 1, method: 'tools/call', params: { name, arguments: args } },
    name,
    arguments: args,
    rule,
  });

  it('returns the first Deny finding and records Audit findings', () => {
    const ctx = buildContext();
    const audited = toolRule('notes', { path: { kind: 'path' } }, { ...DETECTION, pathTraversal: 'Audit' });
    const denied = toolRule('run_backup', { filename: { kind: 'shell' } });
    ctx.toolCalls.push(call('notes', { path: '../x' }, audited), call('run_backup', { filename: 'a|b' }, denied));
    const denial = argumentsStage(ctx);
    expect(denial?.rule).toBe('shell-separator');
    expect(ctx.audited.map((d) => d.rule)).toEqual(['path-traversal']);
  });

  it('allows clean calls and skips tools without inspection', () => {
    const ctx = buildContext();
    ctx.toolCalls.push(call('run_backup', { filename: 'backup.tar' }, toolRule('run_backup', { filename: { kind: 'shell' } })), call('other', { x: '; id' }, undefined));
    expect(argumentsStage(ctx)).toBeUndefined();
    expect(ctx.audited).toEqual([]);
  });
});

describe('end to end through the engine', () => {
  const server: MCPServer = { apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPServer', metadata: { name: 'files', namespace: 'demo' }, spec: defaultServerSpec(8080) };
  const spec = defaultPolicySpec([{ name: 'files' }]);
  const policy: MCPPolicy = {
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPPolicy',
    metadata: { name: 'files', namespace: 'demo' },
    spec: {
      ...spec,
      tools: {
        default: 'Deny',
        rules: [
          { name: 'run_backup', action: 'Allow', arguments: { filename: { kind: 'shell' } } },
          { name: 'read_file', action: 'Allow', arguments: { path: { kind: 'path', allow: ['/data/public/**'] } } },
          { name: 'fetch', action: 'Allow', arguments: { url: { kind: 'url' } } },
        ],
      },
    },
  };
  const build = buildSnapshot({ servers: [server], policies: [policy] }, 1, Date.UTC(2026, 7, 1));
  const engine = createEngine({ snapshot: () => build.snapshot });
  const callTool = (name: string, args: Record<string, unknown>) =>
    engine.decide(buildRequest({ body: { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args } }, headers: { 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': 's1' } }));

  it.each([
    ['run_backup', { filename: 'backup.tar; rm -rf / ;' }, 'shell-separator'],
    ['read_file', { path: '../../../../etc/passwd' }, 'path-traversal'],
    ['read_file', { path: '/data/private/x' }, 'path-outside-allowlist'],
    ['fetch', { url: 'http://169.254.169.254/' }, 'ssrf-metadata'],
  ])('%s %j → %s', async (name, args, rule) => {
    const verdict = await callTool(name, args);
    expect(build.problems).toEqual([]);
    expect(verdict.allowed).toBe(false);
    expect(verdict.denial).toMatchObject({ stage: 'arguments', rule, code: -32020 });
  });

  it.each([
    ['run_backup', { filename: 'backup.tar' }],
    ['read_file', { path: '/data/public/report.pdf' }],
    ['fetch', { url: 'https://example.com/feed.xml' }],
  ])('%s %j is allowed', async (name, args) => {
    const verdict = await callTool(name, args);
    expect(verdict.denial).toBeUndefined();
    expect(verdict.allowed).toBe(true);
  });
});
