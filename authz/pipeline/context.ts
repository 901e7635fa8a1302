/**
 * Per-policy working state of one check. Stages read what earlier stages derived (parsed
 * body, revision, tool calls) and record audit/warn findings; first enforced denial wins.
 */
import type { CompiledPolicy, CompiledServer, CompiledToolRule } from './compiled.js';
import type { WardenRequest } from './request.js';
import type { Denial, JsonRpcId } from './verdict.js';

/** One JSON-RPC message from the body, classified. */
export interface JsonRpcMessage {
  readonly kind: 'request' | 'notification' | 'response';
  /** null for notifications. */
  readonly id: JsonRpcId;
  /** undefined for responses. */
  readonly method: string | undefined;
  readonly params: Readonly<Record<string, unknown>> | undefined;
}

/** Result of the body parse, shared by every policy of the server (parsed once). */
export interface ParsedBody {
  /** The JSON value, or undefined when the body is empty (GET/DELETE). */
  readonly value: unknown;
  readonly byteLength: number;
  readonly maxDepthSeen: number;
  readonly maxWidthSeen: number;
  /** Set when parsing failed: the denial to report (parse error, depth, duplicate keys …). */
  readonly error: Denial | undefined;
}

export interface ToolCallContext {
  readonly message: JsonRpcMessage;
  readonly name: string;
  readonly arguments: Readonly<Record<string, unknown>>;
  /** The rule that applies (undefined when allowed by `tools.default`). */
  rule: CompiledToolRule | undefined;
}

export interface CheckContext {
  readonly request: WardenRequest;
  readonly server: CompiledServer;
  readonly policy: CompiledPolicy;
  readonly body: ParsedBody;
  /** Set by the protocol stage. */
  messages: readonly JsonRpcMessage[];
  batch: boolean;
  /** Negotiated/declared protocol revision, when known. */
  protocolVersion: string | undefined;
  /** Set by the protocol stage for tools/call requests. */
  toolCalls: ToolCallContext[];
  readonly audited: Denial[];
  readonly warnings: Denial[];
  /** Session identity, set by the session stage (for events and the verdict). */
  sessionId: string | undefined;
}

export type SyncStage = (ctx: CheckContext) => Denial | undefined;
