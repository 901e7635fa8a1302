/**
 * Verdict → envoy.service.auth.v3.CheckResponse (snake_case, see proto.ts). A denial is a
 * DeniedHttpResponse carrying a JSON-RPC 2.0 error object (ARCHITECTURE.md "Contracts").
 * The gRPC status code is what Envoy acts on: OK allows, PERMISSION_DENIED denies.
 */
import { HTTP_STATUS_BY_CLASS, type Denial, type JsonRpcId, type Verdict } from '../pipeline/verdict.js';
import { internalErrorDenial } from './internal-error.js';

/** google.rpc.Code values (google/rpc/code.proto). */
export const GrpcCode = { OK: 0, PERMISSION_DENIED: 7 } as const;

export const SESSION_HEADER = 'x-mcp-warden-session';
export const WARNING_HEADER = 'x-mcp-warden-warning';
export const RULE_HEADER = 'x-mcp-warden-rule';
/** Seconds, used only when a throttle denial lacks its own (MCPPolicy actions.throttle default). */
export const DEFAULT_RETRY_AFTER_SECONDS = 30;

export interface ProtoHeaderValueOption {
  header: { key: string; value: string };
  /**
   * Explicit false: replace any header of that name rather than append, so a client cannot
   * pre-set a header we add (ext_authz documents false as its default for `append`; being
   * explicit keeps that true whichever of append/append_action an Envoy version reads).
   */
  append: { value: boolean };
}

export interface OkHttpResponse {
  headers: ProtoHeaderValueOption[];
  /** Request headers Envoy strips before forwarding upstream. */
  headers_to_remove: string[];
  response_headers_to_add: ProtoHeaderValueOption[];
}

export interface DeniedHttpResponse {
  /** envoy.type.v3.HttpStatus; the numeric code is accepted by the encoder for the enum. */
  status: { code: number };
  headers: ProtoHeaderValueOption[];
  body: string;
}

export type CheckResponse =
  | { status: { code: typeof GrpcCode.OK; message: string }; ok_response: OkHttpResponse }
  | { status: { code: typeof GrpcCode.PERMISSION_DENIED; message: string }; denied_response: DeniedHttpResponse };

/**
 * Upstream trusts x-mcp-warden-session as ours: when we have no session to set, a value the
 * client sent must not reach it either.
 */
const STRIP_SESSION: string[] = [SESSION_HEADER];
Object.freeze(STRIP_SESSION);

const PLAIN_ALLOW: CheckResponse = Object.freeze({
  status: Object.freeze({ code: GrpcCode.OK, message: '' }),
  ok_response: Object.freeze({ headers: [], headers_to_remove: STRIP_SESSION, response_headers_to_add: [] }),
}) as CheckResponse;

export function toCheckResponse(verdict: Verdict): CheckResponse {
  if (verdict.allowed) return allowResponse(verdict);
  return denyResponse(verdict.denial ?? internalErrorDenial(), verdict.jsonRpcId);
}

function allowResponse(verdict: Verdict): CheckResponse {
  const session = verdict.sessionId;
  const warnings = verdict.warnings;
  if ((session === undefined || session === '') && warnings.length === 0) return PLAIN_ALLOW;
  const known = session !== undefined && session !== '';
  const responseHeaders = warnings.length === 0 ? [] : [header(WARNING_HEADER, warningRules(warnings))];
  return {
    status: { code: GrpcCode.OK, message: '' },
    ok_response: {
      headers: known ? [header(SESSION_HEADER, session)] : [],
      headers_to_remove: known ? [] : STRIP_SESSION,
      response_headers_to_add: responseHeaders,
    },
  };
}

function warningRules(warnings: readonly Denial[]): string {
  return [...new Set(warnings.map((w) => w.rule))].join(', ');
}

export function denyResponse(denial: Denial, id: JsonRpcId): CheckResponse {
  const headers = [header('content-type', 'application/json'), header(RULE_HEADER, denial.rule)];
  if (denial.class === 'throttle') {
    headers.push(header('retry-after', String(retryAfterSeconds(denial))));
  }
  return {
    status: { code: GrpcCode.PERMISSION_DENIED, message: `mcp-warden denied: ${denial.rule}` },
    denied_response: {
      status: { code: HTTP_STATUS_BY_CLASS[denial.class] },
      headers,
      body: jsonRpcErrorBody(denial, id),
    },
  };
}

/** The JSON-RPC 2.0 error response (§5.1) the client receives instead of the server's answer. */
export function jsonRpcErrorBody(denial: Denial, id: JsonRpcId): string {
  const data: Record<string, string | number | boolean | null> = { stage: denial.stage, rule: denial.rule, ...denial.data };
  // Contract keys win over same-named extras.
  data['stage'] = denial.stage;
  data['rule'] = denial.rule;
  if (denial.class === 'throttle') data['retryAfterSeconds'] = retryAfterSeconds(denial);
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code: denial.code, message: denial.message, data } });
}

function retryAfterSeconds(denial: Denial): number {
  const s = denial.retryAfterSeconds;
  // Retry-After is a non-negative integer of seconds (RFC 9110 §10.2.3); round up, never 0.
  return s === undefined || !Number.isFinite(s) || s <= 0 ? DEFAULT_RETRY_AFTER_SECONDS : Math.max(1, Math.ceil(s));
}

function header(key: string, value: string): ProtoHeaderValueOption {
  return { header: { key, value }, append: { value: false } };
}
