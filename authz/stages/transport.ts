/**
 * Stage 1: HTTP transport and size, before anything looks at JSON-RPC.
 *
 * Needs: request method, headers, declared length; `ctx.body` (byte length, depth and width
 * seen, parse error); `policy.protocol` limits.
 * Rules: path-not-mcp-endpoint, method-not-allowed, content-type, accept, unexpected-body,
 * session-id-required, body-too-large, json-too-deep, json-too-wide, and the parse rules of jsonrpc/parse.ts
 * (parse-error, invalid-utf8, json-duplicate-key, json-proto-key).
 *
 * Streamable HTTP (2025-03-26 … 2025-11-25): POST carries messages; GET opens an SSE stream
 * (Accept must list text/event-stream); DELETE ends the session named by Mcp-Session-Id.
 * 2026-07-28 keeps only POST (GET and DELETE get 405 from a modern server). OPTIONS is
 * refused: CORS preflights are answered by Envoy's CORS filter, never by the MCP server.
 *
 * Only the MCP endpoint (`spec.upstream.path`, any query string) is judged allowable. The
 * rendered sidecar already routes nothing else to the server (Envoy answers 404 itself, after
 * normalize_path/merge_slashes); this check is the second line for hand-written sidecar
 * configs whose route matches more. The contract has no 404 class, so it is a protocol
 * violation (400).
 */
import { bodyTooLarge, jsonTooDeep, jsonTooWide } from '../jsonrpc/parse.js';
import { revisionTable } from '../mcp/revisions.js';
import { headerProtocolVersion } from '../mcp/version.js';
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

export const SESSION_ID_HEADER = 'mcp-session-id';

function violation(rule: string, message: string): Denial {
  return deny('transport', rule, 'protocol', ErrorCode.TransportViolation, message);
}

/** Media types of a header value, lower-case, parameters dropped. */
function mediaTypes(value: string): string[] {
  return value.split(',').map((part) => (part.split(';', 1)[0] ?? '').trim().toLowerCase());
}

/** `application/json`, optionally with parameters; a charset, when given, must be UTF-8. */
function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  // What every MCP client sends, decided without splitting the header.
  if (value === 'application/json') return true;
  const [type, ...params] = value.split(';');
  if (type?.trim().toLowerCase() !== 'application/json') return false;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return false;
  }
  return true;
}

/**
 * The spec asks POSTs to list both application/json and text/event-stream. Clients in the
 * wild omit Accept or list one of them, and the response still works; so a missing Accept is
 * accepted, and a present one must admit at least one of the two.
 */
function acceptsMcpResponse(value: string | undefined): boolean {
  if (value === undefined) return true;
  let known = acceptAnswers.get(value);
  if (known === undefined) {
    known = value.trim() === '' || mediaTypes(value).some(
      (t) => t === 'application/json' || t === 'text/event-stream' || t === '*/*' || t === 'application/*' || t === 'text/*',
    );
    // Clients send one Accept value over and over; a few distinct ones are remembered.
    if (acceptAnswers.size < MAX_REMEMBERED_ACCEPT && value.length <= 256) acceptAnswers.set(value, known);
  }
  return known;
}

const MAX_REMEMBERED_ACCEPT = 64;
const acceptAnswers = new Map<string, boolean>();

function hasBody(ctx: CheckContext): boolean {
  return ctx.body.byteLength > 0 || (ctx.request.declaredLength ?? 0) > 0;
}

function checkStreamOrDelete(ctx: CheckContext, method: 'GET' | 'DELETE'): Denial | undefined {
  const version = headerProtocolVersion(ctx.request.headers);
  const table = revisionTable(version);
  // An unknown revision is refused by the protocol stage, which names it.
  if (table !== undefined && !(method === 'GET' ? table.getStream : table.deleteSession)) {
    return violation('method-not-allowed', `HTTP ${method} is not part of MCP protocol revision ${version}; send JSON-RPC messages with POST`);
  }
  if (hasBody(ctx)) return violation('unexpected-body', `HTTP ${method} to the MCP endpoint must not carry a body`);
  if (method === 'GET') {
    const accept = ctx.request.headers.accept;
    if (accept === undefined || !mediaTypes(accept).includes('text/event-stream')) {
      return violation('accept', 'a GET to the MCP endpoint opens an SSE stream and must send Accept: text/event-stream');
    }
    return undefined;
  }
  const session = ctx.request.headers[SESSION_ID_HEADER];
  if (session === undefined || session.trim() === '') {
    return violation('session-id-required', 'a DELETE ends a session and must name it in the Mcp-Session-Id header');
  }
  return undefined;
}

/** The path without its query string equals `endpoint` (compared without copying the path). */
function isMcpEndpoint(path: string, endpoint: string): boolean {
  if (!path.startsWith(endpoint)) return false;
  // 63 is '?': the query string is the server's business (e.g. a legacy session parameter).
  return path.length === endpoint.length || path.charCodeAt(endpoint.length) === 63;
}

export function transportStage(ctx: CheckContext): Denial | undefined {
  const { request, body } = ctx;
  const protocol = ctx.policy.protocol;
  const endpoint = ctx.server.resource.spec.upstream.path;
  if (!isMcpEndpoint(request.path, endpoint)) {
    return violation('path-not-mcp-endpoint', `only the MCP endpoint ${endpoint} is served here; got a request for ${JSON.stringify(request.path.slice(0, 64))}`);
  }
  const method = request.httpMethod.toUpperCase();

  if (method === 'GET' || method === 'DELETE') return checkStreamOrDelete(ctx, method);
  if (method !== 'POST') return violation('method-not-allowed', `HTTP ${method.slice(0, 16)} is not allowed on the MCP endpoint (use POST)`);

  if (!isJsonContentType(request.headers['content-type'])) {
    return violation('content-type', 'a POST to the MCP endpoint must have Content-Type: application/json');
  }
  if (!acceptsMcpResponse(request.headers.accept)) {
    return violation('accept', 'the Accept header must admit application/json or text/event-stream');
  }
  if (request.declaredLength !== undefined && request.declaredLength > protocol.maxBodyBytes) {
    return bodyTooLarge(request.declaredLength, protocol.maxBodyBytes);
  }
  if (body.byteLength > protocol.maxBodyBytes) return bodyTooLarge(body.byteLength, protocol.maxBodyBytes);
  if (body.error !== undefined) return body.error;
  if (body.maxDepthSeen > protocol.maxDepth) return jsonTooDeep(body.maxDepthSeen, protocol.maxDepth);
  if (body.maxWidthSeen > protocol.maxWidth) return jsonTooWide(body.maxWidthSeen, protocol.maxWidth);
  return undefined;
}
