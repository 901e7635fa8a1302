/**
 * Standard request headers of the stateless revision (2026-07-28 basic/transports/
 * streamable-http, "Standard Request Headers", SEP-2243): `Mcp-Method` mirrors `method` on
 * every request; `Mcp-Name` mirrors `params.name` (tools/call, prompts/get) or `params.uri`
 * (resources/read). Intermediaries route on these headers while the server executes the
 * body, so any disagreement is a smuggling attempt and is refused.
 */
import type { JsonRpcMessage } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

export const MCP_METHOD_HEADER = 'mcp-method';
export const MCP_NAME_HEADER = 'mcp-name';

/** Methods whose `Mcp-Name` is required, and the params field it mirrors. */
const NAME_SOURCE: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

const SENTINEL_PREFIX = '=?base64?';
const SENTINEL_SUFFIX = '?=';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 9110 field-value characters: visible ASCII, space and tab. */
function isPlainHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x09 && (c < 0x20 || c > 0x7e)) return false;
  }
  return true;
}

/**
 * Decodes a header value that may use the Base64 sentinel form (`=?base64?…?=`, markers
 * case-sensitive). Returns undefined when the value is malformed.
 */
export function decodeMirroredHeader(value: string): string | undefined {
  if (!isPlainHeaderValue(value)) return undefined;
  if (!(value.startsWith(SENTINEL_PREFIX) && value.endsWith(SENTINEL_SUFFIX) && value.length >= SENTINEL_PREFIX.length + SENTINEL_SUFFIX.length)) {
    return value;
  }
  const encoded = value.slice(SENTINEL_PREFIX.length, value.length - SENTINEL_SUFFIX.length);
  if (!BASE64.test(encoded)) return undefined;
  try {
    return utf8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    return undefined;
  }
}

function mismatch(message: string): Denial {
  return deny('protocol', 'header-body-mismatch', 'protocol', ErrorCode.InvalidRequest, message);
}

/**
 * Checks `Mcp-Method` / `Mcp-Name` against one request or notification. With `required`
 * (stateless era) requests must carry them; the revision defines no header requirements for
 * notifications, so a notification's headers are only compared when present.
 */
export function checkMirroredHeaders(headers: Readonly<Record<string, string>>, message: JsonRpcMessage, required: boolean): Denial | undefined {
  const method = message.method ?? '';
  const mustCarry = required && message.kind === 'request';
  const methodHeader = headers[MCP_METHOD_HEADER];
  if (methodHeader === undefined) {
    if (mustCarry) return mismatch("the Mcp-Method header is required on every request");
  } else if (methodHeader !== method) {
    return mismatch('Mcp-Method header does not match the body method');
  }

  const nameHeader = headers[MCP_NAME_HEADER];
  const field = NAME_SOURCE[method];
  const params = message.params;
  // Other methods carry no mirrored name; when a client sends one anyway it must still
  // describe the body truthfully.
  const source = field !== undefined ? params?.[field] : (params?.name ?? params?.uri);
  if (nameHeader === undefined) {
    if (field !== undefined && mustCarry) return mismatch(`the Mcp-Name header is required for ${method}`);
    return undefined;
  }
  const decoded = decodeMirroredHeader(nameHeader);
  if (decoded === undefined) return mismatch('the Mcp-Name header is malformed');
  if (typeof source !== 'string' || decoded !== source) {
    return mismatch(`Mcp-Name header does not match params.${field ?? 'name'} in the body`);
  }
  return undefined;
}
