/**
 * Which protocol revision a request speaks. Session-based revisions negotiate it with
 * `initialize` and then repeat it in the MCP-Protocol-Version header (absent header →
 * 2025-03-26); the stateless revision declares it in `params._meta` of every request, and the
 * header MUST match it (2026-07-28 basic/transports/streamable-http, "Protocol Version
 * Header"). Headers are lower-case here (WardenRequest).
 */
import type { JsonRpcMessage } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';
import { DEFAULT_REVISION_WITHOUT_HEADER, isStatelessRevision, META_PROTOCOL_VERSION } from './revisions.js';

export const PROTOCOL_VERSION_HEADER = 'mcp-protocol-version';

export type VersionSource = 'initialize' | 'meta' | 'header' | 'default';

export type VersionResolution =
  | { readonly ok: true; readonly version: string; readonly source: VersionSource }
  | { readonly ok: false; readonly denial: Denial };

function refuse(rule: string, message: string, code: number = ErrorCode.InvalidRequest): VersionResolution {
  return { ok: false, denial: deny('protocol', rule, 'protocol', code as Denial['code'], message) };
}

function metaOf(params: Readonly<Record<string, unknown>> | undefined): unknown {
  const meta = params?._meta;
  return meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? meta : undefined;
}

/** The `_meta` protocol version of a message: undefined when absent, null when not a string. */
export function metaProtocolVersion(message: JsonRpcMessage): string | null | undefined {
  const meta = metaOf(message.params) as Record<string, unknown> | undefined;
  if (meta === undefined || !Object.hasOwn(meta, META_PROTOCOL_VERSION)) return undefined;
  const value = meta[META_PROTOCOL_VERSION];
  return typeof value === 'string' ? value : null;
}

/** The MCP-Protocol-Version header alone (GET, DELETE, or before the body is known). */
export function headerProtocolVersion(headers: Readonly<Record<string, string>>): string {
  const header = headers[PROTOCOL_VERSION_HEADER]?.trim();
  return header === undefined || header === '' ? DEFAULT_REVISION_WITHOUT_HEADER : header;
}

/**
 * Resolves the revision of a request from its headers and classified messages. Returns the
 * revision string even when it is unknown; the caller checks it against the tables and policy.
 */
export function resolveProtocolVersion(
  headers: Readonly<Record<string, string>>,
  messages: readonly JsonRpcMessage[],
): VersionResolution {
  const raw = headers[PROTOCOL_VERSION_HEADER];
  const header = raw === undefined || raw.trim() === '' ? undefined : raw.trim();

  let meta: string | undefined;
  let initialize: JsonRpcMessage | undefined;
  for (const message of messages) {
    if (message.kind === 'response') continue;
    if (message.method === 'initialize' && message.kind === 'request') initialize = message;
    const declared = metaProtocolVersion(message);
    if (declared === undefined) continue;
    if (declared === null) return refuse('invalid-meta', `_meta["${META_PROTOCOL_VERSION}"] must be a string`, ErrorCode.InvalidParams);
    if (meta !== undefined && meta !== declared) return refuse('protocol-version-mismatch', 'messages in one request declare different protocol versions');
    meta = declared;
  }

  if (initialize !== undefined) {
    const requested = initialize.params?.protocolVersion;
    if (typeof requested !== 'string' || requested === '') {
      return refuse('invalid-params', 'initialize requires params.protocolVersion (a string)', ErrorCode.InvalidParams);
    }
    // 2026-07-28 basic/versioning: "There is no negotiation handshake"; a request carrying
    // modern _meta is served statelessly, so an initialize that claims the stateless
    // revision (in params, _meta or header) is contradictory.
    if (isStatelessRevision(requested) || isStatelessRevision(meta) || isStatelessRevision(header)) {
      return refuse('initialize-not-allowed', 'initialize does not exist in the stateless protocol revision (2026-07-28); send requests with _meta instead', ErrorCode.MethodNotFound);
    }
    return { ok: true, version: requested, source: 'initialize' };
  }

  if (meta !== undefined) {
    if (header === undefined) {
      return refuse('protocol-version-mismatch', `the MCP-Protocol-Version header is required and must equal _meta["${META_PROTOCOL_VERSION}"] (${meta})`);
    }
    if (header !== meta) {
      return refuse('protocol-version-mismatch', `MCP-Protocol-Version header ${header} does not match _meta["${META_PROTOCOL_VERSION}"] ${meta}`);
    }
    return { ok: true, version: meta, source: 'meta' };
  }

  if (header !== undefined) return { ok: true, version: header, source: 'header' };
  return { ok: true, version: DEFAULT_REVISION_WITHOUT_HEADER, source: 'default' };
}
