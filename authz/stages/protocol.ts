/**
 * Stage 2: JSON-RPC 2.0 and MCP protocol rules, per revision.
 *
 * Needs: `ctx.body` (parsed by stage 1), request headers, `policy.protocol`.
 * Sets: `ctx.messages`, `ctx.batch`, `ctx.protocolVersion`, `ctx.toolCalls` (rule left
 * undefined for the tool stage).
 * Rules: empty-body, invalid-message, jsonrpc-version, invalid-method, invalid-params,
 * invalid-id, invalid-response, invalid-meta, invalid-tool-call, initialize-not-allowed,
 * protocol-version-mismatch, protocol-version-refused, batch-not-allowed, batch-too-large,
 * batch-mixed, initialize-in-batch, response-not-allowed, method-denied, method-not-found,
 * header-body-mismatch.
 *
 * An `Mcp-Session-Id` header on a stateless (2026-07-28) request is neither refused nor
 * trusted: the revision says servers SHOULD ignore it ("Backward Compatibility"), and the
 * session stage must not key sessions on it in that era.
 */
import type { ProtocolSpec } from '../api/types.js';
import { classifyMessage } from '../jsonrpc/message.js';
import { checkMirroredHeaders } from '../mcp/headers.js';
import { KNOWN_REVISIONS, META_CLIENT_CAPABILITIES, revisionTable, type RevisionTable } from '../mcp/revisions.js';
import { headerProtocolVersion, resolveProtocolVersion } from '../mcp/version.js';
import type { CompiledProtocol } from '../pipeline/compiled.js';
import type { CheckContext, JsonRpcMessage, ToolCallContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

/** Attacker-chosen strings put into error.data are cut to this length. */
const DATA_MAX = 64;

function clip(value: string): string {
  return value.length > DATA_MAX ? `${value.slice(0, DATA_MAX)}…` : value;
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${field}: must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function methodSet(values: readonly unknown[] | undefined, field: string): ReadonlySet<string> {
  const set = new Set<string>();
  (values ?? []).forEach((value, i) => {
    if (typeof value !== 'string' || value.trim() === '') throw new Error(`${field}[${i}]: must be a non-empty JSON-RPC method name`);
    set.add(value);
  });
  return set;
}

/** Validates and freezes `spec.protocol`; throws an Error naming the field on bad input. */
export function compileProtocol(spec: ProtocolSpec): CompiledProtocol {
  if (!Array.isArray(spec.versions) || spec.versions.length === 0) {
    throw new Error(`versions: list at least one MCP protocol revision (known: ${KNOWN_REVISIONS.join(', ')})`);
  }
  const versions = new Set<string>();
  spec.versions.forEach((version, i) => {
    if (typeof version !== 'string' || revisionTable(version) === undefined) {
      throw new Error(`versions[${i}]: unknown MCP protocol revision ${JSON.stringify(version)} (known: ${KNOWN_REVISIONS.join(', ')})`);
    }
    versions.add(version);
  });
  return Object.freeze({
    maxBodyBytes: positiveInteger(spec.maxBodyBytes, 'maxBodyBytes'),
    maxDepth: positiveInteger(spec.maxDepth, 'maxDepth'),
    maxWidth: positiveInteger(spec.maxWidth, 'maxWidth'),
    maxBatchSize: positiveInteger(spec.maxBatchSize, 'maxBatchSize'),
    versions,
    allowMethods: methodSet(spec.allowMethods, 'allowMethods'),
    denyMethods: methodSet(spec.denyMethods, 'denyMethods'),
  });
}

function invalidRequest(rule: string, message: string): Denial {
  return deny('protocol', rule, 'protocol', ErrorCode.InvalidRequest, message);
}

function checkVersion(version: string, protocol: CompiledProtocol): RevisionTable | Denial {
  const table = revisionTable(version);
  if (table === undefined || !protocol.versions.has(version)) {
    const why = table === undefined ? 'is not a known MCP protocol revision' : 'is not allowed by this policy';
    return deny('protocol', 'protocol-version-refused', 'protocol', ErrorCode.ProtocolRefused, `protocol version ${clip(version)} ${why} (allowed: ${[...protocol.versions].join(', ')})`, {
      data: { version: clip(version) },
    });
  }
  return table;
}

function checkMethod(message: JsonRpcMessage, table: RevisionTable, protocol: CompiledProtocol): Denial | undefined {
  if (message.kind === 'response') {
    if (table.clientResponses) return undefined;
    return invalidRequest('response-not-allowed', `protocol revision ${table.version} does not let clients send JSON-RPC responses`);
  }
  const method = message.method ?? '';
  if (protocol.denyMethods.has(method)) {
    return deny('protocol', 'method-denied', 'policy', ErrorCode.ProtocolRefused, `method ${clip(method)} is refused by policy`, { data: { method: clip(method) } });
  }
  const table_ = message.kind === 'request' ? table.requests : table.notifications;
  if (table_.has(method) || protocol.allowMethods.has(method)) return undefined;
  const what = message.kind === 'request' ? 'request' : 'notification';
  return deny('protocol', 'method-not-found', 'protocol', ErrorCode.MethodNotFound, `${clip(method)} is not a client ${what} in MCP protocol revision ${table.version}`, {
    data: { method: clip(method) },
  });
}

/** 2026-07-28: every request carries its revision and capabilities in `_meta` (schema RequestParams). */
function checkStatelessMeta(message: JsonRpcMessage, metaDeclared: boolean): Denial | undefined {
  if (message.kind !== 'request') return undefined;
  const meta = message.params?._meta;
  const capabilities = meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>)[META_CLIENT_CAPABILITIES] : undefined;
  if (!metaDeclared || capabilities === null || typeof capabilities !== 'object' || Array.isArray(capabilities)) {
    return deny('protocol', 'invalid-meta', 'protocol', ErrorCode.InvalidParams, 'requests of revision 2026-07-28 must carry params._meta with io.modelcontextprotocol/protocolVersion and io.modelcontextprotocol/clientCapabilities');
  }
  return undefined;
}

function toolCallOf(message: JsonRpcMessage): ToolCallContext | Denial {
  const name = message.params?.name;
  if (typeof name !== 'string' || name === '') {
    return deny('protocol', 'invalid-tool-call', 'protocol', ErrorCode.InvalidParams, 'tools/call requires params.name (a non-empty string)');
  }
  const args = message.params?.arguments;
  if (args === undefined || args === null) return { message, name, arguments: {}, rule: undefined };
  if (typeof args !== 'object' || Array.isArray(args)) {
    return deny('protocol', 'invalid-tool-call', 'protocol', ErrorCode.InvalidParams, 'tools/call params.arguments must be an object');
  }
  return { message, name, arguments: args as Readonly<Record<string, unknown>>, rule: undefined };
}

function isDenial(value: unknown): value is Denial {
  return typeof (value as Denial).rule === 'string' && typeof (value as Denial).stage === 'string';
}

export function protocolStage(ctx: CheckContext): Denial | undefined {
  const { request, policy } = ctx;
  const protocol = policy.protocol;

  if (request.httpMethod.toUpperCase() !== 'POST') {
    // GET / DELETE carry no body: the header alone names the revision (the transport stage
    // has already refused these methods where the revision has no GET stream or session).
    const version = headerProtocolVersion(request.headers);
    ctx.protocolVersion = version;
    const table = checkVersion(version, protocol);
    return isDenial(table) ? table : undefined;
  }

  if (ctx.body.error !== undefined) return ctx.body.error;
  const value = ctx.body.value;
  if (value === undefined) return invalidRequest('empty-body', 'a POST must carry a JSON-RPC message');

  const batch = Array.isArray(value);
  const items: readonly unknown[] = batch ? value : [value];
  if (items.length === 0) return invalidRequest('invalid-message', 'an empty JSON-RPC batch is invalid');
  const messages: JsonRpcMessage[] = [];
  for (let i = 0; i < items.length; i++) {
    const classified = classifyMessage(items[i], batch ? i : undefined);
    if (classified.denial !== undefined) return classified.denial;
    messages.push(classified.message);
  }
  ctx.messages = messages;
  ctx.batch = batch;

  const resolution = resolveProtocolVersion(request.headers, messages);
  if (!resolution.ok) return resolution.denial;
  ctx.protocolVersion = resolution.version;
  const table = checkVersion(resolution.version, protocol);
  if (isDenial(table)) return table;

  if (batch) {
    if (!table.batches) return invalidRequest('batch-not-allowed', `protocol revision ${table.version} does not allow JSON-RPC batches`);
    if (messages.length > protocol.maxBatchSize) {
      return deny('protocol', 'batch-too-large', 'size', ErrorCode.PayloadTooLarge, `a batch of ${messages.length} messages exceeds the limit of ${protocol.maxBatchSize}`, {
        data: { limit: protocol.maxBatchSize },
      });
    }
    // 2025-03-26 basic/transports: a POST body is a batch of requests/notifications or a
    // batch of responses; lifecycle: initialize MUST NOT be part of a batch.
    const responses = messages.filter((m) => m.kind === 'response').length;
    if (responses !== 0 && responses !== messages.length) return invalidRequest('batch-mixed', 'a batch holds either responses or requests/notifications, not both');
    if (messages.some((m) => m.method === 'initialize')) return invalidRequest('initialize-in-batch', 'initialize must not be part of a JSON-RPC batch');
  }

  const stateless = table.era === 'stateless';
  const toolCalls: ToolCallContext[] = [];
  for (const message of messages) {
    const methodDenial = checkMethod(message, table, protocol);
    if (methodDenial !== undefined) return methodDenial;
    if (stateless) {
      const metaDenial = checkStatelessMeta(message, resolution.source === 'meta');
      if (metaDenial !== undefined) return metaDenial;
    }
    // Mirrored headers are required in the stateless era; in earlier eras they are optional
    // but, when present, must still describe the body (an intermediary may route on them).
    if (message.kind !== 'response') {
      const headerDenial = checkMirroredHeaders(request.headers, message, stateless);
      if (headerDenial !== undefined) return headerDenial;
    }
    if (message.kind === 'request' && message.method === 'tools/call') {
      const call = toolCallOf(message);
      if (isDenial(call)) return call;
      toolCalls.push(call);
    }
  }
  ctx.toolCalls = toolCalls;
  return undefined;
}
