/**
 * The frozen, compiled form of the configuration that the request path runs. Everything
 * expensive (ajv schemas, CEL programs, glob matchers, method tables) is built once at load
 * by the `compile*` functions of each stage and stored here.
 */
import type {
  MCPPolicy,
  MCPPolicySpec,
  MCPServer,
  PolicyMode,
  ToolAction,
  ToolDefinition,
} from '../api/types.js';
import type { Denial } from './verdict.js';

/** Argument validation against the pinned inputSchema; returns a denial or undefined. */
export type ArgumentSchemaCheck = (args: Readonly<Record<string, unknown>>) => Denial | undefined;

/** Source attributes available to authorization rules. */
export interface AuthorizationInput {
  readonly principal: string | undefined;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly tool: string;
  readonly args: Readonly<Record<string, unknown>>;
  readonly source: { readonly address: string; readonly principal: string | undefined };
}

/** Authorization of one tool call (principals, claims, CEL `when`). */
export type AuthorizationCheck = (input: AuthorizationInput) => Denial | undefined;

/**
 * Argument inspection (stage 5) of one tool call. Returns findings: each finding is a
 * denial whose enforcement follows the detector's action (Deny → enforced, Audit → audited).
 */
export interface ArgumentFinding {
  readonly denial: Denial;
  readonly action: 'Deny' | 'Audit';
}
export type ArgumentInspection = (args: Readonly<Record<string, unknown>>) => readonly ArgumentFinding[];

export interface CompiledToolRule {
  readonly name: string;
  readonly action: ToolAction;
  /** `sha256:<hex>` of the approved definition, when pinned (by definition or digest). */
  readonly pinnedDigest: string | undefined;
  /** The approved definition, when the pin carries it (or discovery supplied it). */
  readonly definition: ToolDefinition | undefined;
  readonly checkSchema: ArgumentSchemaCheck | undefined;
  readonly inspectArguments: ArgumentInspection | undefined;
  readonly authorize: AuthorizationCheck | undefined;
}

export interface CompiledProtocol {
  readonly maxBodyBytes: number;
  readonly maxDepth: number;
  readonly maxWidth: number;
  readonly maxBatchSize: number;
  /** Protocol revisions this policy accepts. */
  readonly versions: ReadonlySet<string>;
  readonly allowMethods: ReadonlySet<string>;
  readonly denyMethods: ReadonlySet<string>;
}

export interface CompiledPolicy {
  /** `namespace/name` of the MCPPolicy (or `builtin/default`). */
  readonly key: string;
  readonly mode: PolicyMode;
  readonly resource: MCPPolicy;
  readonly spec: MCPPolicySpec;
  readonly protocol: CompiledProtocol;
  readonly toolDefault: ToolAction;
  readonly toolRules: ReadonlyMap<string, CompiledToolRule>;
  /** Inspection for tools allowed by `tools.default` without a rule (inferred kinds). */
  readonly inspectUnlistedArguments: ArgumentInspection | undefined;
}

export interface CompiledServer {
  /** `namespace/name`. */
  readonly key: string;
  readonly resource: MCPServer;
  /** Policies targeting this server, sorted by key; combined deny-overrides. */
  readonly policies: readonly CompiledPolicy[];
  /** Live digests reported by discovery (`status.tools`), by tool name. */
  readonly liveDigests: ReadonlyMap<string, string>;
  /** Live tool definitions (for schema/inference when pinned by digest only). */
  readonly liveDefinitions: ReadonlyMap<string, ToolDefinition>;
  /**
   * Set when a policy targeting this server is invalid and the snapshot isolates invalid
   * resources (cluster mode): every request to this server is denied with it (fail closed).
   */
  readonly invalid?: Denial | undefined;
}

export interface Snapshot {
  /** Monotonic number of the load that produced this snapshot. */
  readonly generation: number;
  readonly loadedAtMs: number;
  readonly servers: ReadonlyMap<string, CompiledServer>;
}
