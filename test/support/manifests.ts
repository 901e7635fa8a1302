/**
 * MCPServer/MCPPolicy manifests for tests and the benchmark, with pins generated
 * from a live server's tools/list (the same digests the operator's discovery records).
 */
import { toolDigest } from '../../authz/api/digest.js';
import type { ArgumentRule, MCPServer, ToolDefinition } from '../../authz/api/types.js';

// Listing live tools and writing manifest files are shared with `mcp-warden demo`.
export { listLiveTools, writeManifests } from '../../authz/runtime/manifests.js';

/** The identity fields of a listed tool, as a policy pin carries them. */
export function pinnedDefinition(tool: ToolDefinition): ToolDefinition {
  const pin: ToolDefinition = { name: tool.name };
  if (tool.title !== undefined) pin.title = tool.title;
  if (tool.description !== undefined) pin.description = tool.description;
  if (tool.inputSchema !== undefined) pin.inputSchema = tool.inputSchema;
  if (tool.outputSchema !== undefined) pin.outputSchema = tool.outputSchema;
  if (tool.annotations !== undefined) pin.annotations = tool.annotations;
  return pin;
}

export interface ServerManifestOptions {
  readonly name: string;
  readonly namespace: string;
  readonly upstreamPort: number;
  readonly listenerPort: number;
  readonly path?: string;
  /** Live tools: recorded in status.tools as discovery would. */
  readonly tools?: readonly ToolDefinition[];
  readonly auth?: MCPServer['spec']['auth'];
}

export function serverManifest(o: ServerManifestOptions): MCPServer {
  return {
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPServer',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      upstream: { host: '127.0.0.1', port: o.upstreamPort, path: o.path ?? '/mcp' },
      listener: { port: o.listenerPort },
      trustedProxies: [],
      ...(o.auth !== undefined ? { auth: o.auth } : {}),
    },
    ...(o.tools !== undefined
      ? { status: { tools: o.tools.map((t) => ({ name: t.name, digest: toolDigest(t), state: 'Approved' as const })) } }
      : {}),
  };
}

export interface PolicyManifestOptions {
  readonly name: string;
  readonly namespace: string;
  readonly server: string;
  /** Tools approved (pinned by definition); everything else is denied. */
  readonly tools: readonly ToolDefinition[];
  readonly arguments?: Readonly<Record<string, Readonly<Record<string, ArgumentRule>>>>;
  /** Extra fields per tool rule (`when`, `principals` …). */
  readonly ruleExtras?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly maxBodyBytes?: number;
  /** Extra spec fields (session, behavior, detection …) merged in as written. */
  readonly spec?: Readonly<Record<string, unknown>>;
}

export function policyManifest(o: PolicyManifestOptions): Record<string, unknown> {
  return {
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPPolicy',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      targetRefs: [{ name: o.server }],
      mode: 'Enforce',
      protocol: { maxBodyBytes: o.maxBodyBytes ?? 65_536 },
      tools: {
        default: 'Deny',
        rules: o.tools.map((tool) => {
          const { name, ...definition } = pinnedDefinition(tool);
          const args = o.arguments?.[name];
          return { name, action: 'Allow', definition, ...(args !== undefined ? { arguments: args } : {}), ...o.ruleExtras?.[name] };
        }),
      },
      ...o.spec,
    },
  };
}

/**
 * Argument rules for the sample server's tools: those of examples/demo.yaml, with read_file
 * narrowed to `public/` so a test can show an allowlist refusing a path without `../`.
 */
export const SAMPLE_ARGUMENT_RULES: Readonly<Record<string, Readonly<Record<string, ArgumentRule>>>> = {
  read_file: { path: { kind: 'path', allow: ['public/**'] } },
  run_backup: { filename: { kind: 'shell' } },
  query: { sql: { kind: 'sql', sql: { readOnly: true } } },
};
