/**
 * Builds engine inputs for stage tests without Envoy: a WardenRequest, a CompiledPolicy with
 * every documented default (authz/api/defaults.ts), a CompiledServer, and the CheckContext
 * the pipeline would hand to the stages (body parsed exactly as decide() parses it).
 *
 *   const ctx = buildContext({ body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
 *   const ctx2 = buildContext({ method: 'GET', headers: { accept: 'text/event-stream' } },
 *                             { policy: { protocol: { versions: ['2025-06-18'] } } });
 */
import type { MCPPolicy, MCPPolicySpec, MCPServer, PolicyMode, ProtocolSpec, ToolAction } from '../../authz/api/types.js';
import { defaultPolicySpec, defaultServerSpec } from '../../authz/api/defaults.js';
import { parseForServer } from '../../authz/pipeline/decide.js';
import type { CompiledPolicy, CompiledServer, CompiledToolRule } from '../../authz/pipeline/compiled.js';
import type { CheckContext } from '../../authz/pipeline/context.js';
import type { SourcePeer, WardenRequest } from '../../authz/pipeline/request.js';
import { compileProtocol } from '../../authz/stages/protocol.js';

export interface TestRequestInit {
  /** HTTP method; POST when omitted. */
  readonly method?: string;
  /**
   * Headers (any case; stored lower-case). POSTs get `content-type: application/json` and
   * `accept: application/json, text/event-stream` unless given; `undefined` removes one.
   */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  /** Bytes or text are sent as-is; any other value is JSON-encoded. Omitted: empty body. */
  readonly body?: unknown;
  readonly declaredLength?: number;
  readonly path?: string;
  readonly source?: Partial<SourcePeer>;
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly serverKey?: string;
  readonly receivedAtMs?: number;
}

export function buildRequest(init: TestRequestInit = {}): WardenRequest {
  const method = (init.method ?? 'POST').toUpperCase();
  const headers: Record<string, string> = {};
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    headers.accept = 'application/json, text/event-stream';
  }
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    const key = name.toLowerCase();
    if (value === undefined) delete headers[key];
    else headers[key] = value;
  }
  let body: Uint8Array | string;
  if (init.body === undefined) body = '';
  else if (typeof init.body === 'string' || init.body instanceof Uint8Array) body = init.body;
  else body = JSON.stringify(init.body);
  return {
    requestId: 'test-request',
    httpMethod: method,
    path: init.path ?? '/mcp',
    headers,
    body,
    declaredLength: init.declaredLength,
    source: { address: '10.1.2.3', port: 40000, principal: undefined, certificate: undefined, ...init.source },
    claims: init.claims,
    serverKey: init.serverKey,
    receivedAtMs: init.receivedAtMs ?? Date.UTC(2026, 7, 1),
  };
}

export interface TestPolicyOptions {
  readonly name?: string;
  readonly namespace?: string;
  readonly mode?: PolicyMode;
  /** Overrides merged over the defaulted `spec.protocol`. */
  readonly protocol?: Partial<ProtocolSpec>;
  /** Other spec fields replaced wholesale. */
  readonly spec?: Partial<Omit<MCPPolicySpec, 'protocol'>>;
  readonly toolDefault?: ToolAction;
  readonly toolRules?: ReadonlyMap<string, CompiledToolRule>;
}

/** A CompiledPolicy with the documented defaults (tools.default Allow unless told). */
export function buildPolicy(options: TestPolicyOptions = {}): CompiledPolicy {
  const name = options.name ?? 'test-policy';
  const namespace = options.namespace ?? 'demo';
  const defaults = defaultPolicySpec([{ name: 'files' }]);
  const spec: MCPPolicySpec = {
    ...defaults,
    ...options.spec,
    mode: options.mode ?? options.spec?.mode ?? defaults.mode,
    protocol: { ...defaults.protocol, ...options.protocol },
  };
  const resource: MCPPolicy = { apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPPolicy', metadata: { name, namespace, generation: 1 }, spec };
  return {
    key: `${namespace}/${name}`,
    mode: spec.mode,
    resource,
    spec,
    protocol: compileProtocol(spec.protocol),
    toolDefault: options.toolDefault ?? 'Allow',
    toolRules: options.toolRules ?? new Map(),
    inspectUnlistedArguments: undefined,
  };
}

export function buildServer(policies: readonly CompiledPolicy[] = [buildPolicy()], name = 'files', namespace = 'demo'): CompiledServer {
  const resource: MCPServer = {
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPServer',
    metadata: { name, namespace, generation: 1 },
    spec: defaultServerSpec(8080),
  };
  return { key: `${namespace}/${name}`, resource, policies, liveDigests: new Map(), liveDefinitions: new Map() };
}

/** Parses the body the way decide() does: once, with the loosest limits of the server's policies. */
export { parseForServer };

export interface TestContextOptions {
  /** A compiled policy, or options to build one. */
  readonly policy?: CompiledPolicy | TestPolicyOptions;
  readonly server?: CompiledServer;
}

function isCompiledPolicy(value: CompiledPolicy | TestPolicyOptions): value is CompiledPolicy {
  return 'key' in value && 'resource' in value;
}

/** The CheckContext the pipeline would give the stages for this request. */
export function buildContext(init: TestRequestInit | WardenRequest = {}, options: TestContextOptions = {}): CheckContext {
  const request = 'requestId' in init ? init : buildRequest(init);
  const policy = options.policy === undefined ? buildPolicy() : isCompiledPolicy(options.policy) ? options.policy : buildPolicy(options.policy);
  const server = options.server ?? buildServer([policy]);
  return {
    request,
    server,
    policy,
    body: parseForServer(request, server),
    messages: [],
    batch: false,
    protocolVersion: undefined,
    toolCalls: [],
    audited: [],
    warnings: [],
    sessionId: undefined,
  };
}
