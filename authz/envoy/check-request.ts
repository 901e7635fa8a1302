/**
 * envoy.service.auth.v3.CheckRequest → WardenRequest. Only the fields the engine needs are
 * typed; names are the proto's snake_case (proto.ts loads with keepCase: true).
 * Field meanings: envoy/service/auth/v3/attribute_context.proto.
 */
import { randomUUID } from 'node:crypto';
import type { SourcePeer, WardenRequest } from '../pipeline/request.js';
import { structToJson, type ProtoStruct } from './struct.js';

export interface ProtoHeaderValue {
  key?: string | null;
  value?: string | null;
  /** Envoy ≥ 1.29 with `encode_raw_headers` sends the value as bytes here instead. */
  raw_value?: Uint8Array | null;
}

export interface ProtoHttpRequest {
  id?: string | null;
  method?: string | null;
  /** Header map form: names lower-case, repeated headers joined with ','. */
  headers?: Record<string, string> | null;
  /** Header list form, used by Envoy instead of `headers` when raw headers are encoded. */
  header_map?: { headers?: ProtoHeaderValue[] | null } | null;
  path?: string | null;
  host?: string | null;
  /** Body size, or -1/0 when unknown. */
  size?: number | null;
  /** Buffered body as text (`with_request_body` without `pack_as_bytes`). */
  body?: string | null;
  /** Buffered body as bytes (`pack_as_bytes: true`). */
  raw_body?: Uint8Array | null;
}

export interface ProtoAddress {
  socket_address?: { address?: string | null; port_value?: number | null } | null;
  pipe?: { path?: string | null } | null;
}

export interface ProtoPeer {
  address?: ProtoAddress | null;
  principal?: string | null;
  certificate?: string | null;
}

export interface ProtoMetadata {
  filter_metadata?: Record<string, ProtoStruct | null | undefined> | null;
}

export interface ProtoAttributeContext {
  source?: ProtoPeer | null;
  request?: { http?: ProtoHttpRequest | null } | null;
  context_extensions?: Record<string, string> | null;
  metadata_context?: ProtoMetadata | null;
  route_metadata_context?: ProtoMetadata | null;
}

export interface CheckRequest {
  attributes?: ProtoAttributeContext | null;
}

export const JWT_AUTHN_FILTER = 'envoy.filters.http.jwt_authn';
/** The jwt_authn `payload_in_metadata` key our Envoy renderer configures. */
export const DEFAULT_JWT_PAYLOAD_KEY = 'jwt_payload';
/** ARCHITECTURE.md "Contracts": which MCPServer a request is for. */
export const SERVER_CONTEXT_EXTENSION = 'mcpwarden.io/server';
/** Route-metadata fallback: filter_metadata["mcpwarden.io"].server (string). */
export const ROUTE_METADATA_NAMESPACE = 'mcpwarden.io';

export interface CheckRequestOptions {
  /** jwt_authn `payload_in_metadata` key; default `jwt_payload`. */
  readonly jwtPayloadKey?: string;
}

const EMPTY_BODY = '';
const textDecoder = new TextDecoder();

export function toWardenRequest(check: CheckRequest, nowMs: number, options?: CheckRequestOptions): WardenRequest {
  const attributes = check.attributes ?? {};
  const http = attributes.request?.http ?? {};
  const headers = headersOf(http);
  const rawBody = http.raw_body;
  const body = rawBody !== null && rawBody !== undefined && rawBody.length > 0 ? rawBody : (http.body ?? EMPTY_BODY);
  return {
    requestId: nonEmpty(http.id) ?? nonEmpty(headers['x-request-id']) ?? randomUUID(),
    httpMethod: http.method ?? '',
    path: http.path ?? '',
    headers,
    body,
    declaredLength: declaredLengthOf(headers['content-length'], http.size),
    source: sourceOf(attributes.source),
    claims: claimsOf(attributes.metadata_context, options?.jwtPayloadKey ?? DEFAULT_JWT_PAYLOAD_KEY),
    serverKey:
      nonEmpty(attributes.context_extensions?.[SERVER_CONTEXT_EXTENSION]) ??
      routeMetadataServer(attributes.route_metadata_context),
    receivedAtMs: nowMs,
  };
}

function headersOf(http: ProtoHttpRequest): Record<string, string> {
  // Null prototype: header names come from the client and must not reach Object.prototype.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const list = http.header_map?.headers;
  if (list !== null && list !== undefined && list.length > 0) {
    for (const h of list) {
      const key = h.key;
      if (key === null || key === undefined || key === '') continue;
      const raw = h.raw_value;
      const value = raw !== null && raw !== undefined && raw.length > 0 ? textDecoder.decode(raw) : (h.value ?? '');
      const name = key.toLowerCase();
      const prior = out[name];
      // Same joining rule as Envoy's map form (RFC 9110 §5.3).
      out[name] = prior === undefined ? value : `${prior},${value}`;
    }
    return out;
  }
  const map = http.headers;
  if (map !== null && map !== undefined) {
    for (const key of Object.keys(map)) {
      const value = map[key];
      if (value !== undefined) out[key.toLowerCase()] = value;
    }
  }
  return out;
}

function declaredLengthOf(contentLength: string | undefined, size: number | null | undefined): number | undefined {
  if (contentLength !== undefined) {
    const trimmed = contentLength.trim();
    if (/^\d{1,15}$/.test(trimmed)) return Number(trimmed);
  }
  return typeof size === 'number' && size > 0 ? size : undefined;
}

function sourceOf(peer: ProtoPeer | null | undefined): SourcePeer {
  const socket = peer?.address?.socket_address;
  const port = socket?.port_value;
  return {
    address: nonEmpty(socket?.address) ?? nonEmpty(peer?.address?.pipe?.path) ?? '',
    port: typeof port === 'number' && port > 0 ? port : undefined,
    principal: nonEmpty(peer?.principal),
    certificate: nonEmpty(peer?.certificate),
  };
}

function claimsOf(metadata: ProtoMetadata | null | undefined, payloadKey: string): Record<string, unknown> | undefined {
  const jwt = metadata?.filter_metadata?.[JWT_AUTHN_FILTER];
  const payload = jwt?.fields?.[payloadKey];
  const struct = payload?.structValue ?? payload?.struct_value;
  return struct === null || struct === undefined ? undefined : structToJson(struct);
}

function routeMetadataServer(metadata: ProtoMetadata | null | undefined): string | undefined {
  const value = metadata?.filter_metadata?.[ROUTE_METADATA_NAMESPACE]?.fields?.['server'];
  return nonEmpty(value?.stringValue ?? value?.string_value);
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value === '' ? undefined : value;
}
