/**
 * Compiles validated MCPServer/MCPPolicy resources into the frozen Snapshot the engine runs.
 * Every expensive thing (schemas, CEL, globs, method tables, argument kinds) is built here,
 * once per load; a resource that cannot be compiled is reported with its field and the load
 * is rejected as a whole (the last good snapshot stays in service) — unless `isolateInvalid`
 * is set (cluster mode, where there is no single edit to roll back): then only the servers an
 * invalid policy targets fail closed, and everything else keeps working.
 */
import { toolDigest } from '../api/digest.js';
import type { MCPPolicy, MCPServer, ToolDefinition, ToolRule } from '../api/types.js';
import type { CompiledPolicy, CompiledServer, CompiledToolRule, Snapshot } from '../pipeline/compiled.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';
import { compileArgumentInspection } from '../stages/arguments.js';
import { compileAuthorization } from '../stages/authorization.js';
import { compileProtocol } from '../stages/protocol.js';
import { PinnedSchemaCache } from '../stages/schema.js';
import { builtinDefaultPolicy } from './builtin-policy.js';

export interface CompileProblem {
  /** `Kind namespace/name`. */
  readonly resource: string;
  /** Field path inside the resource (`spec.tools.rules[2].when`). */
  readonly path: string;
  readonly message: string;
}

/** What the load step tells the user about inferred argument kinds (also used by `explain`). */
export interface InferenceNote {
  readonly policy: string;
  readonly server: string;
  readonly tool: string;
  readonly pointer: string;
  readonly kind: string;
  readonly source: 'policy' | 'inferred';
  readonly reason: string;
}

export interface SnapshotBuild {
  readonly snapshot: Snapshot | undefined;
  readonly problems: readonly CompileProblem[];
  readonly inferences: readonly InferenceNote[];
  /** Not fatal: e.g. a policy whose target server is not (yet) configured. */
  readonly warnings: readonly string[];
}

/** A policy the loader refused (it never reached compilation), and the servers it names. */
export interface RejectedPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly targets: readonly string[];
  readonly message: string;
}

export interface SnapshotOptions {
  /**
   * Judge each policy on its own: a policy that does not compile (or is in `rejected`) makes
   * the servers it targets deny every request (rule `policy-invalid`) instead of rejecting the
   * whole load. Its problems are still reported.
   */
  readonly isolateInvalid?: boolean | undefined;
  /** Policies refused before compilation (schema errors); only used with `isolateInvalid`. */
  readonly rejected?: readonly RejectedPolicy[] | undefined;
}

function policyInvalid(policy: string, message: string): Denial {
  return deny('config', 'policy-invalid', 'policy', ErrorCode.UnknownServer, `MCPPolicy ${policy} is invalid, so this server denies every request until it is fixed: ${message}`, {
    data: { policy },
  });
}

function keyOf(meta: { namespace?: string; name: string }): string {
  return `${meta.namespace ?? 'default'}/${meta.name}`;
}

function targets(policy: MCPPolicy, server: MCPServer): boolean {
  if ((policy.metadata.namespace ?? 'default') !== (server.metadata.namespace ?? 'default')) return false;
  return policy.spec.targetRefs.some((ref) => ref.name === server.metadata.name);
}

function ruleDefinition(rule: ToolRule, live: ReadonlyMap<string, ToolDefinition>): ToolDefinition | undefined {
  if (rule.definition !== undefined) return { ...rule.definition, name: rule.name };
  return live.get(rule.name);
}

interface CompileEnv {
  readonly schemas: PinnedSchemaCache;
  readonly problems: CompileProblem[];
  readonly inferences: InferenceNote[];
}

function compileRule(
  policy: MCPPolicy,
  server: CompiledServerDraft,
  rule: ToolRule,
  index: number,
  env: CompileEnv,
): CompiledToolRule | undefined {
  const resource = `MCPPolicy ${keyOf(policy.metadata)}`;
  const at = `spec.tools.rules[${index}]`;
  const definition = ruleDefinition(rule, server.liveDefinitions);
  const definitionDigest = rule.definition !== undefined && definition !== undefined ? toolDigest(definition) : undefined;
  if (rule.digest !== undefined && definitionDigest !== undefined && rule.digest !== definitionDigest) {
    env.problems.push({ resource, path: `${at}.digest`, message: `digest ${rule.digest} does not match the digest of ${at}.definition (${definitionDigest}); pin one or make them agree` });
    return undefined;
  }
  const pinnedDigest = rule.digest ?? definitionDigest;
  const inputSchema = definition?.inputSchema;
  try {
    const checkSchema = inputSchema !== undefined && pinnedDigest !== undefined ? env.schemas.compile(rule.name, pinnedDigest, inputSchema) : undefined;
    const inspection = compileArgumentInspection(rule.name, rule.arguments, inputSchema, policy.spec.detection);
    for (const note of inspection.inferred) {
      env.inferences.push({ policy: keyOf(policy.metadata), server: server.key, tool: rule.name, ...note });
    }
    const authorize = compileAuthorization(rule);
    return { name: rule.name, action: rule.action, pinnedDigest, definition, checkSchema, inspectArguments: inspection.inspect, authorize };
  } catch (err) {
    env.problems.push({ resource, path: at, message: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

interface CompiledServerDraft {
  readonly key: string;
  readonly liveDigests: ReadonlyMap<string, string>;
  readonly liveDefinitions: ReadonlyMap<string, ToolDefinition>;
}

function compilePolicy(policy: MCPPolicy, server: CompiledServerDraft, env: CompileEnv): CompiledPolicy | undefined {
  const before = env.problems.length;
  const rules = new Map<string, CompiledToolRule>();
  policy.spec.tools.rules.forEach((rule, index) => {
    const compiled = compileRule(policy, server, rule, index, env);
    if (compiled !== undefined) rules.set(rule.name, compiled);
  });
  let protocol;
  try {
    protocol = compileProtocol(policy.spec.protocol);
  } catch (err) {
    env.problems.push({ resource: `MCPPolicy ${keyOf(policy.metadata)}`, path: 'spec.protocol', message: err instanceof Error ? err.message : String(err) });
  }
  if (env.problems.length > before || protocol === undefined) return undefined;
  // Tools allowed by `tools.default: Allow` without a rule have no pinned schema: their
  // arguments still go through the detectors, with kinds inferred from argument names.
  const unlisted = policy.spec.tools.default === 'Allow' ? compileArgumentInspection('*', undefined, undefined, policy.spec.detection).inspect : undefined;
  return Object.freeze({
    key: keyOf(policy.metadata),
    mode: policy.spec.mode,
    resource: policy,
    spec: policy.spec,
    protocol,
    toolDefault: policy.spec.tools.default,
    toolRules: rules,
    inspectUnlistedArguments: unlisted,
  });
}

export function buildSnapshot(
  resources: { readonly servers: readonly MCPServer[]; readonly policies: readonly MCPPolicy[] },
  generation: number,
  nowMs: number,
  options: SnapshotOptions = {},
): SnapshotBuild {
  const isolate = options.isolateInvalid === true;
  const env: CompileEnv = { schemas: new PinnedSchemaCache(), problems: [], inferences: [] };
  const servers = new Map<string, CompiledServer>();
  for (const server of resources.servers) {
    const key = keyOf(server.metadata);
    const liveDigests = new Map<string, string>();
    for (const tool of server.status?.tools ?? []) liveDigests.set(tool.name, tool.digest);
    const draft: CompiledServerDraft = { key, liveDigests, liveDefinitions: new Map() };
    const targeting = resources.policies.filter((p) => targets(p, server));
    const sources = targeting.length > 0 ? targeting : [builtinDefaultPolicy(server)];
    const policies: CompiledPolicy[] = [];
    let invalid: Denial | undefined;
    for (const policy of sources) {
      const before = env.problems.length;
      const compiled = compilePolicy(policy, draft, env);
      if (compiled !== undefined) policies.push(compiled);
      else if (invalid === undefined) {
        const first = env.problems[before];
        invalid = policyInvalid(keyOf(policy.metadata), first !== undefined ? `${first.path}: ${first.message}` : 'it does not compile');
      }
    }
    const refused = options.rejected?.find((r) => r.namespace === (server.metadata.namespace ?? 'default') && r.targets.includes(server.metadata.name));
    if (invalid === undefined && refused !== undefined) invalid = policyInvalid(`${refused.namespace}/${refused.name}`, refused.message);
    policies.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const compiledServer: CompiledServer = { key, resource: server, policies, liveDigests, liveDefinitions: draft.liveDefinitions };
    servers.set(key, Object.freeze(isolate && invalid !== undefined ? { ...compiledServer, invalid } : compiledServer));
  }
  // A policy whose targets are absent is not an error (GitOps may apply the server later), but say so.
  const warnings = resources.policies
    .filter((policy) => !resources.servers.some((server) => targets(policy, server)))
    .map((policy) => `MCPPolicy ${keyOf(policy.metadata)}: no MCPServer named ${policy.spec.targetRefs.map((r) => r.name).join(', ')} in namespace ${policy.metadata.namespace ?? 'default'}`);
  if (env.problems.length > 0 && !isolate) return { snapshot: undefined, problems: env.problems, inferences: env.inferences, warnings };
  return {
    snapshot: Object.freeze({ generation, loadedAtMs: nowMs, servers }),
    problems: env.problems,
    inferences: env.inferences,
    warnings,
  };
}
