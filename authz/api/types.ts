/**
 * mcpwarden.io/v1alpha1 resource types, as users write them in YAML (after defaults are
 * applied by `applyDefaults`). The JSON Schema in `schema.ts` is the single source of truth
 * for field names, defaults and descriptions; these types mirror it.
 */

export const API_GROUP = 'mcpwarden.io';
export const API_VERSION = 'v1alpha1';
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generation?: number;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** A tool definition as an MCP server lists it in tools/list. */
export interface ToolDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ToolFinding {
  rule: string;
  severity?: 'low' | 'medium' | 'high' | 'critical';
  excerpt?: string;
}

export type ToolState = 'Approved' | 'Unapproved' | 'Drifted' | 'Denied';

export interface DiscoveredTool {
  name: string;
  digest: string;
  state?: ToolState;
  findings?: ToolFinding[];
}

export interface MCPServerSpec {
  selector?: LabelSelector;
  upstream: { port: number; path: string; host?: string };
  listener: { port: number };
  trustedProxies: string[];
  auth?: {
    jwt?: { issuer: string; audiences?: string[]; jwksUri: string };
  };
  discovery?: { interval: string; enabled?: boolean };
}

export interface MCPServerStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  tools?: DiscoveredTool[];
  /** Number of tools whose live digest differs from the pin (printer column "Drifted"). */
  driftedTools?: number;
  /** status.tools names joined with ", " (printer column "Tools"). */
  toolsSummary?: string;
}

export interface MCPServer {
  apiVersion: typeof API_GROUP_VERSION;
  kind: 'MCPServer';
  metadata: ObjectMeta;
  spec: MCPServerSpec;
  status?: MCPServerStatus;
}

export type PolicyMode = 'Enforce' | 'Audit';
export type ToolAction = 'Allow' | 'Deny';
export type DetectorAction = 'Deny' | 'Audit' | 'Off';
export type BehaviorAction = 'Warn' | 'Throttle' | 'Suspend' | 'Deny';

export type ArgumentKind =
  | 'path'
  | 'shell'
  | 'command'
  | 'sql'
  | 'sql-fragment'
  | 'url'
  | 'text'
  | 'identifier'
  | 'opaque';

export interface SqlArgumentOptions {
  readOnly: boolean;
  allowFunctions?: string[];
  denyFunctions?: string[];
  maxRows?: number;
}

export interface ArgumentRule {
  kind: ArgumentKind;
  /** path: glob roots allowed after normalisation; url: host globs allowed. */
  allow?: string[];
  /** path: glob roots denied after normalisation; url: host globs denied. */
  deny?: string[];
  /** url: allowed schemes. */
  schemes?: string[];
  /** command: allowed argv[0] values. */
  commands?: string[];
  sql?: SqlArgumentOptions;
  maxLength?: number;
}

export interface ToolRule {
  name: string;
  action: ToolAction;
  definition?: ToolDefinition | Omit<ToolDefinition, 'name'>;
  digest?: string;
  /** Keys are top-level argument names or JSON pointers (`/filter/path`). */
  arguments?: Record<string, ArgumentRule>;
  /** CEL over {principal, claims, tool, args, source}; the call is allowed only when true. */
  when?: string;
  /** Principals allowed to call the tool (exact, or `*` suffix glob). Empty means anyone. */
  principals?: string[];
}

export interface DetectionSpec {
  commandInjection: DetectorAction;
  sqlInjection: DetectorAction;
  pathTraversal: DetectorAction;
  ssrf: DetectorAction;
  promptInjection: DetectorAction;
}

export type SessionBinding =
  | 'sourceAddress'
  | 'userAgent'
  | 'clientCertificate'
  | 'token'
  | 'principal';

export interface SessionSpec {
  bind: SessionBinding[];
  sourcePrefix?: { ipv4: number; ipv6: number };
  onMismatch: 'Deny' | 'Suspend';
  maxLifetime: string;
  idleTimeout: string;
  requestIds: {
    onReplay: 'Deny' | 'Warn' | 'Off';
    reorderWindow: number;
    onGap?: 'Deny' | 'Warn' | 'Off';
    /** Sessions without Mcp-Session-Id (stateless revision): how long an id+message is remembered (default 5m). */
    replayWindow?: string;
  };
  impossibleTravel?: { minInterval: string; action?: 'Deny' | 'Suspend' | 'Warn' };
  onStoreUnavailable?: 'FailClosed' | 'FailOpen';
}

export type BehaviorDetector = 'rate' | 'loop' | 'enumeration' | 'burst' | 'bulkAccess';

export interface BehaviorRule {
  detector: BehaviorDetector;
  threshold?: number;
  window?: string;
  factor?: number;
  argument?: string;
  tool?: string;
  scope?: 'session' | 'principal';
  action: BehaviorAction;
}

export interface ProtocolSpec {
  maxBodyBytes: number;
  versions: string[];
  maxDepth: number;
  maxWidth: number;
  maxBatchSize: number;
  /** Extra methods allowed beyond the revision's table (e.g. vendor extensions). */
  allowMethods?: string[];
  /** Methods refused even though the revision defines them. */
  denyMethods?: string[];
}

export interface MCPPolicySpec {
  targetRefs: Array<{ name: string; kind?: 'MCPServer' }>;
  mode: PolicyMode;
  protocol: ProtocolSpec;
  tools: { default: ToolAction; rules: ToolRule[] };
  detection: DetectionSpec;
  session: SessionSpec;
  behavior: BehaviorRule[];
  actions: { throttle: { retryAfter: string }; suspend: { duration: string } };
}

export interface MCPPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  targets?: string[];
  /** spec.targetRefs names joined with ", " (printer column "Targets"). */
  targetsSummary?: string;
}

export interface MCPPolicy {
  apiVersion: typeof API_GROUP_VERSION;
  kind: 'MCPPolicy';
  metadata: ObjectMeta;
  spec: MCPPolicySpec;
  status?: MCPPolicyStatus;
}

export type WardenResource = MCPServer | MCPPolicy;
