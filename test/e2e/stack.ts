/**
 * The e2e data path on loopback: an MCP server (already running) → the authz service (a
 * child process with manifests generated from the server's live tools/list) → Envoy with
 * the rendered sidecar config. Clients talk to `protectedUrl`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ArgumentRule, MCPServer, ToolDefinition } from '../../authz/api/types.js';
import type { DownstreamTls } from '../../authz/sidecar/render.js';
import { startAuthzProcess, type AuthzProcess } from '../support/authz.js';
import { startEnvoy, type RunningEnvoy } from '../support/envoy.js';
import { listLiveTools, policyManifest, serverManifest, writeManifests } from '../support/manifests.js';
import type { RunningMcpServer } from '../support/mcp-servers.js';
import { freePort } from '../support/processes.js';

export interface ProtectedStack {
  readonly server: MCPServer;
  /** The MCPPolicy document the authz service was started with. */
  readonly policy: Record<string, unknown>;
  readonly tools: readonly ToolDefinition[];
  readonly authz: AuthzProcess;
  readonly envoy: RunningEnvoy;
  readonly protectedUrl: string;
  readonly directUrl: string;
  readonly configDir: string;
  /** Rewrites the manifests the authz service watches (it reloads them in place). */
  publish(docs: readonly unknown[]): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  readonly upstream: RunningMcpServer;
  readonly name: string;
  readonly namespace?: string;
  /** Which listed tools the policy approves (default: all). */
  readonly approve?: (tool: ToolDefinition) => boolean;
  readonly arguments?: Readonly<Record<string, Readonly<Record<string, ArgumentRule>>>>;
  readonly ruleExtras?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly maxBodyBytes?: number;
  readonly policySpec?: Readonly<Record<string, unknown>>;
  /** ext_authz timeout (ms). */
  readonly authzTimeoutMs?: number;
  /** MCPServer spec.auth (JWT verified by Envoy). */
  readonly auth?: MCPServer['spec']['auth'];
  /** TLS (and client certificates) on the Envoy listener. */
  readonly tls?: DownstreamTls;
}

export async function startProtectedStack(o: StackOptions): Promise<ProtectedStack> {
  const namespace = o.namespace ?? 'e2e';
  const tools = await listLiveTools(o.upstream.url);
  const configDir = await mkdtemp(join(tmpdir(), `mcp-warden-${o.name}-`));
  const manifestDir = join(configDir, 'manifests');
  const server = serverManifest({ name: o.name, namespace, upstreamPort: o.upstream.port, listenerPort: await freePort(), tools, ...(o.auth !== undefined ? { auth: o.auth } : {}) });
  const maxBodyBytes = o.maxBodyBytes ?? 65_536;
  const policy = policyManifest({
    name: `${o.name}-policy`,
    namespace,
    server: o.name,
    tools: tools.filter(o.approve ?? (() => true)),
    maxBodyBytes,
    ...(o.arguments !== undefined ? { arguments: o.arguments } : {}),
    ...(o.ruleExtras !== undefined ? { ruleExtras: o.ruleExtras } : {}),
    ...(o.policySpec !== undefined ? { spec: o.policySpec } : {}),
  });
  await writeManifests(manifestDir, 'warden.yaml', [server, policy]);
  const authz = await startAuthzProcess({ configPath: manifestDir });
  let envoy: RunningEnvoy;
  try {
    envoy = await startEnvoy({
      server,
      authzAddress: authz.address,
      maxBodyBytes,
      dir: join(configDir, 'envoy'),
      ...(o.authzTimeoutMs !== undefined ? { timeoutMs: o.authzTimeoutMs } : {}),
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
    });
  } catch (err) {
    await authz.stop();
    throw err;
  }
  return {
    server,
    policy,
    tools,
    authz,
    envoy,
    protectedUrl: envoy.url,
    directUrl: o.upstream.url,
    configDir,
    async publish(docs) {
      await writeManifests(manifestDir, 'warden.yaml', docs);
    },
    async stop() {
      await envoy.stop();
      await authz.stop();
      await rm(configDir, { recursive: true, force: true });
    },
  };
}

export interface ConnectAs {
  /** Sent as `Authorization: Bearer …`. */
  readonly bearer?: string;
  /** A fetch that presents a client certificate (TLS listeners) or binds a source address. */
  readonly fetch?: typeof fetch;
  /** Join an existing session (the SDK then skips initialize), e.g. a stolen one. */
  readonly sessionId?: string;
}

/** An official SDK client connected over Streamable HTTP. */
export async function connect(url: string, options?: ClientOptions, as: ConnectAs = {}): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'mcp-warden-e2e', version: '1.0.0' }, options);
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(as.bearer !== undefined ? { requestInit: { headers: { authorization: `Bearer ${as.bearer}` } } } : {}),
    ...(as.fetch !== undefined ? { fetch: as.fetch } : {}),
    ...(as.sessionId !== undefined ? { sessionId: as.sessionId } : {}),
  });
  await client.connect(transport);
  return { client, transport };
}

export interface SurfacedDenial {
  readonly status: number;
  readonly id: string | number | null;
  readonly code: number;
  readonly message: string;
  readonly stage: string;
  readonly rule: string;
}

/**
 * The denial the SDK surfaced: the client throws a StreamableHTTPError carrying the HTTP
 * status and the response body, which is the JSON-RPC error MCP Warden wrote.
 */
export function surfacedDenial(err: unknown): SurfacedDenial {
  if (!(err instanceof StreamableHTTPError)) throw new Error(`expected the SDK to surface an HTTP denial, got: ${String(err)}`);
  const text = err.message.slice(err.message.indexOf('{'));
  const body = JSON.parse(text) as { jsonrpc: string; id: string | number | null; error: { code: number; message: string; data: { stage: string; rule: string } } };
  if (body.jsonrpc !== '2.0') throw new Error(`not a JSON-RPC body: ${text}`);
  return { status: err.code ?? 0, id: body.id, code: body.error.code, message: body.error.message, stage: body.error.data.stage, rule: body.error.data.rule };
}

/** Runs `call` and returns the denial it was refused with (fails when it was not refused). */
export async function expectDenied(call: () => Promise<unknown>): Promise<SurfacedDenial> {
  let result: unknown;
  try {
    result = await call();
  } catch (err) {
    return surfacedDenial(err);
  }
  throw new Error(`expected a denial, but the call succeeded: ${JSON.stringify(result).slice(0, 500)}`);
}
