/**
 * A recorded request as `explain --request` and `policy test` read it: either a raw JSON-RPC
 * body (an object with `jsonrpc`, or a batch array), or
 * `{"method"?, "path"?, "headers"?, "body", "source"?, "claims"?, "server"?}` where `body` is
 * JSON (sent encoded) or a string (sent as-is, so malformed bodies can be recorded too).
 * Turned into the WardenRequest the Envoy adapter would have built.
 */
import type { SourcePeer, WardenRequest } from '../pipeline/request.js';
import { isRecord, InputError } from './command-io.js';

export interface RequestSpec {
  readonly httpMethod: string;
  readonly path: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly source: SourcePeer;
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  readonly serverKey: string | undefined;
}

const WRAPPER_KEYS = ['method', 'path', 'headers', 'body', 'source', 'claims', 'server'];
const SOURCE_KEYS = ['address', 'port', 'principal', 'certificate'];
/** Where recorded traffic does not say: a loopback agent. */
export const DEFAULT_SOURCE_ADDRESS = '127.0.0.1';

function isRawBody(value: unknown, where: string): boolean {
  if (!isRecord(value) || 'jsonrpc' in value) return true;
  if ('body' in value) return false;
  const wrapperOnly = ['headers', 'source', 'claims', 'server', 'path'].find((key) => key in value);
  if (wrapperOnly !== undefined) throw new InputError(`${where}: a request with "${wrapperOnly}" needs "body" (the JSON-RPC message)`);
  return true;
}

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[]): string[] {
  return Object.keys(value).filter((key) => !allowed.includes(key));
}

function parseSource(value: unknown, where: string): SourcePeer {
  const peer: SourcePeer = { address: DEFAULT_SOURCE_ADDRESS, port: undefined, principal: undefined, certificate: undefined };
  if (value === undefined) return peer;
  if (typeof value === 'string') return { ...peer, address: value };
  if (!isRecord(value)) throw new InputError(`${where}: "source" must be an address string or {"address", "port", "principal", "certificate"}`);
  const extra = unknownKeys(value, SOURCE_KEYS);
  if (extra.length > 0) throw new InputError(`${where}: unknown field source.${extra[0]} (expected ${SOURCE_KEYS.join(', ')})`);
  const text = (key: string): string | undefined => {
    const v = value[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new InputError(`${where}: source.${key} must be a string`);
    return v;
  };
  const port = value.port;
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port))) throw new InputError(`${where}: source.port must be an integer`);
  return { address: text('address') ?? DEFAULT_SOURCE_ADDRESS, port, principal: text('principal'), certificate: text('certificate') };
}

function parseHeaders(value: unknown, httpMethod: string, where: string): Record<string, string> {
  const headers: Record<string, string> = {};
  // What an MCP client sends on every POST (Streamable HTTP); recorded headers override.
  if (httpMethod === 'POST') {
    headers['content-type'] = 'application/json';
    headers.accept = 'application/json, text/event-stream';
  }
  if (value === undefined) return headers;
  if (!isRecord(value)) throw new InputError(`${where}: "headers" must be an object of header names to strings`);
  for (const [name, v] of Object.entries(value)) {
    if (v === null) {
      delete headers[name.toLowerCase()];
      continue;
    }
    if (typeof v !== 'string') throw new InputError(`${where}: headers.${name} must be a string (null removes a default header)`);
    headers[name.toLowerCase()] = v;
  }
  return headers;
}

/** Reads a request in either accepted shape; `where` names it in errors (`traffic.jsonl:3`). */
export function parseRequestSpec(value: unknown, where: string): RequestSpec {
  if (isRawBody(value, where)) {
    if (!Array.isArray(value) && !isRecord(value)) throw new InputError(`${where}: a request is a JSON-RPC body or {"body", …}`);
    return {
      httpMethod: 'POST',
      path: '/mcp',
      headers: parseHeaders(undefined, 'POST', where),
      body: JSON.stringify(value),
      source: parseSource(undefined, where),
      claims: undefined,
      serverKey: undefined,
    };
  }
  const wrapper = value as Record<string, unknown>;
  const extra = unknownKeys(wrapper, WRAPPER_KEYS);
  if (extra.length > 0) throw new InputError(`${where}: unknown field "${extra[0]}" (a request has ${WRAPPER_KEYS.join(', ')})`);
  const { method, path, body, claims, server } = wrapper;
  if (method !== undefined && typeof method !== 'string') throw new InputError(`${where}: "method" must be an HTTP method string`);
  if (path !== undefined && typeof path !== 'string') throw new InputError(`${where}: "path" must be a string`);
  if (claims !== undefined && !isRecord(claims)) throw new InputError(`${where}: "claims" must be an object (the verified JWT payload)`);
  if (server !== undefined && (typeof server !== 'string' || !server.includes('/'))) throw new InputError(`${where}: "server" must be "namespace/name"`);
  const httpMethod = (method ?? 'POST').toUpperCase();
  return {
    httpMethod,
    path: path ?? '/mcp',
    headers: parseHeaders(wrapper.headers, httpMethod, where),
    body: body === undefined || body === null ? '' : typeof body === 'string' ? body : JSON.stringify(body),
    source: parseSource(wrapper.source, where),
    claims,
    serverKey: server,
  };
}

export interface RequestTiming {
  readonly requestId: string;
  readonly receivedAtMs: number;
  /** `--server`: used when the request itself names none. */
  readonly serverKey?: string | undefined;
}

export function toWardenRequest(spec: RequestSpec, timing: RequestTiming): WardenRequest {
  return {
    requestId: timing.requestId,
    httpMethod: spec.httpMethod,
    path: spec.path,
    headers: spec.headers,
    body: spec.body,
    declaredLength: Buffer.byteLength(spec.body, 'utf8'),
    source: spec.source,
    claims: spec.claims,
    serverKey: spec.serverKey ?? timing.serverKey,
    receivedAtMs: timing.receivedAtMs,
  };
}
