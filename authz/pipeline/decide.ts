/**
 * The decision engine: `decide(request) → Verdict`. It knows nothing of gRPC or Kubernetes.
 * The body is parsed once per request (with the loosest limits of the server's policies);
 * each policy then runs the stages in order, first denial wins. Several policies on one
 * server combine deny-overrides: any enforced denial denies; Audit-mode policies only record
 * what they would have denied. Any exception is a denial (fail closed).
 */
import { parseBody } from '../jsonrpc/parse.js';
import type { CompiledServer, Snapshot } from './compiled.js';
import type { CheckContext, ParsedBody } from './context.js';
import type { WardenRequest } from './request.js';
import { SYNC_STAGES } from './stages.js';
import { deny, ErrorCode, type Denial, type JsonRpcId, type Verdict } from './verdict.js';

/** Stages 7 and 8 (session, behaviour): async because their state may live in Redis. */
export interface StatefulStage {
  check(ctx: CheckContext): Promise<Denial | undefined>;
}

export interface EngineOptions {
  /** Returns the current frozen snapshot (swapped atomically on reload). */
  readonly snapshot: () => Snapshot | undefined;
  readonly stateful?: StatefulStage | undefined;
  /**
   * Names the session of a request denied before stage 7 ran, so its security event still
   * says whose session it was. Called on the deny path only.
   */
  readonly identifySession?: ((ctx: CheckContext) => string) | undefined;
}

export interface Engine {
  decide(request: WardenRequest): Promise<Verdict>;
}

const EMPTY_BODY: ParsedBody = Object.freeze({ value: undefined, byteLength: 0, maxDepthSeen: 0, maxWidthSeen: 0, error: undefined });
const NONE: readonly Denial[] = Object.freeze([]);

export function resolveServer(snapshot: Snapshot, serverKey: string | undefined): CompiledServer | undefined {
  if (serverKey !== undefined && serverKey !== '') return snapshot.servers.get(serverKey);
  // Without the context extension, a config holding exactly one MCPServer applies.
  if (snapshot.servers.size === 1) return snapshot.servers.values().next().value;
  return undefined;
}

/** Parses the body once for every policy of the server, with the loosest of their limits. */
export function parseForServer(request: WardenRequest, server: CompiledServer): ParsedBody {
  const size = typeof request.body === 'string' ? request.body.length : request.body.byteLength;
  if (size === 0) return EMPTY_BODY;
  let maxBytes = 0;
  let maxDepth = 0;
  let maxWidth = 0;
  for (const p of server.policies) {
    if (p.protocol.maxBodyBytes > maxBytes) maxBytes = p.protocol.maxBodyBytes;
    if (p.protocol.maxDepth > maxDepth) maxDepth = p.protocol.maxDepth;
    if (p.protocol.maxWidth > maxWidth) maxWidth = p.protocol.maxWidth;
  }
  return parseBody(request.body, { maxBytes, maxDepth, maxWidth });
}

/** Limits for reading just the id of a request that is denied before its server is known. */
const PEEK_LIMITS = { maxBytes: 64 * 1024, maxDepth: 64, maxWidth: 10_000 } as const;

function idOf(value: unknown): JsonRpcId {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const id = (value as Record<string, unknown>).id;
    if (typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id))) return id;
  }
  return null;
}

/** The request's own id for denials that happen before parsing (no config, unknown server, fault). */
function peekId(request: WardenRequest): JsonRpcId {
  const size = typeof request.body === 'string' ? request.body.length : request.body.byteLength;
  if (size === 0 || size > PEEK_LIMITS.maxBytes) return null;
  const parsed = parseBody(request.body, PEEK_LIMITS);
  return parsed.error === undefined ? idOf(parsed.value) : null;
}

function firstId(ctx: CheckContext | undefined): JsonRpcId {
  const message = ctx?.messages[0];
  if (message !== undefined) return message.id;
  // The protocol stage did not run or failed: recover the id when the body is a plain object.
  return idOf(ctx?.body.value);
}

function verdictOf(
  allowed: boolean,
  denial: Denial | undefined,
  audited: readonly Denial[],
  warnings: readonly Denial[],
  server: CompiledServer | undefined,
  ctx: CheckContext | undefined,
  request?: WardenRequest,
): Verdict {
  return {
    allowed,
    denial,
    audited,
    warnings,
    jsonRpcId: ctx === undefined && request !== undefined ? peekId(request) : firstId(ctx),
    serverKey: server?.key,
    policyKey: ctx?.policy.key,
    tool: ctx?.toolCalls[0]?.name,
    method: ctx?.messages[0]?.method,
    sessionId: ctx?.sessionId,
  };
}

function newContext(request: WardenRequest, server: CompiledServer, index: number, body: ParsedBody): CheckContext {
  return {
    request,
    server,
    policy: server.policies[index]!,
    body,
    messages: [],
    batch: false,
    protocolVersion: undefined,
    toolCalls: [],
    audited: [],
    warnings: [],
    sessionId: undefined,
  };
}

function runSyncStages(ctx: CheckContext): Denial | undefined {
  for (const stage of SYNC_STAGES) {
    const denial = stage(ctx);
    if (denial !== undefined) return denial;
  }
  return undefined;
}

export function createEngine(options: EngineOptions): Engine {
  const { stateful, identifySession } = options;

  async function decide(request: WardenRequest): Promise<Verdict> {
    const snapshot = options.snapshot();
    if (snapshot === undefined) {
      return verdictOf(false, deny('config', 'no-config', 'policy', ErrorCode.UnknownServer, 'MCP Warden has no valid configuration yet; denying'), NONE, NONE, undefined, undefined, request);
    }
    const server = resolveServer(snapshot, request.serverKey);
    if (server === undefined) {
      const name = request.serverKey ?? '(none)';
      return verdictOf(false, deny('config', 'unknown-server', 'policy', ErrorCode.UnknownServer, `no MCPServer ${name} in the configuration`, { data: { server: name } }), NONE, NONE, undefined, undefined, request);
    }
    if (server.invalid !== undefined) return verdictOf(false, server.invalid, NONE, NONE, server, undefined, request);

    const body = parseForServer(request, server);
    let audited: Denial[] | undefined;
    let warnings: Denial[] | undefined;
    let last: CheckContext | undefined;
    for (let i = 0; i < server.policies.length; i++) {
      const ctx = newContext(request, server, i, body);
      last = ctx;
      let denial = runSyncStages(ctx);
      if (denial === undefined && stateful !== undefined) denial = await stateful.check(ctx);
      if (ctx.audited.length > 0) (audited ??= []).push(...ctx.audited);
      if (ctx.warnings.length > 0) (warnings ??= []).push(...ctx.warnings);
      if (denial === undefined) continue;
      if (ctx.sessionId === undefined && identifySession !== undefined) ctx.sessionId = identifySession(ctx);
      if (ctx.policy.mode === 'Enforce') {
        return verdictOf(false, denial, audited ?? NONE, warnings ?? NONE, server, ctx);
      }
      (audited ??= []).push(denial);
    }
    return verdictOf(true, undefined, audited ?? NONE, warnings ?? NONE, server, last);
  }

  return {
    async decide(request) {
      try {
        return await decide(request);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return verdictOf(false, deny('internal', 'internal-error', 'policy', ErrorCode.InternalError, `internal error while judging the request; denied (${message.slice(0, 200)})`), NONE, NONE, undefined, undefined, request);
      }
    },
  };
}
