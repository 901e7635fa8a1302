/**
 * Verdicts are values: a stage returns a Denial or nothing; the pipeline turns the first
 * enforced denial into the response. Codes and HTTP statuses here are part of the public
 * contract (ARCHITECTURE.md "Contracts"); never renumber them.
 */

export type StageName =
  | 'transport'
  | 'protocol'
  | 'tool'
  | 'schema'
  | 'arguments'
  | 'authorization'
  | 'session'
  | 'behavior'
  | 'config'
  | 'internal';

/** Denial class decides the HTTP status. */
export type DenialClass = 'protocol' | 'policy' | 'size' | 'throttle';

export const HTTP_STATUS_BY_CLASS: Readonly<Record<DenialClass, number>> = {
  protocol: 400,
  policy: 403,
  size: 413,
  throttle: 429,
};

/** Stable JSON-RPC error codes, one per family of rules. */
export const ErrorCode = {
  /** JSON-RPC 2.0: invalid JSON. */
  ParseError: -32700,
  /** JSON-RPC 2.0: not a valid request object. */
  InvalidRequest: -32600,
  /** JSON-RPC 2.0: method does not exist or is not allowed in this revision. */
  MethodNotFound: -32601,
  /** JSON-RPC 2.0: arguments do not match the pinned inputSchema. */
  InvalidParams: -32602,
  /** Internal fault while judging; always a denial (fail closed). */
  InternalError: -32603,
  /** Body larger than the policy allows, or JSON nested/wide beyond the limits. */
  PayloadTooLarge: -32001,
  /** HTTP transport rule: method, content type, headers. */
  TransportViolation: -32002,
  /** Unknown MCP server or no usable configuration. */
  UnknownServer: -32003,
  /** Protocol revision or method refused by policy. */
  ProtocolRefused: -32004,
  /** Tool not allowed by policy. */
  ToolDenied: -32010,
  /** Tool definition does not match its approved pin (drift / rug pull). */
  ToolPinMismatch: -32011,
  /** An argument carries an injection (command, SQL, path, SSRF, prompt). */
  ArgumentRejected: -32020,
  /** Principal/claims/CEL authorization refused the call. */
  Unauthorized: -32030,
  /** Session integrity: binding mismatch, replay, expiry, revocation. */
  SessionRejected: -32040,
  /** Behaviour: throttled (retry later). */
  Throttled: -32050,
  /** Behaviour: the session is suspended. */
  Suspended: -32051,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface Denial {
  readonly stage: StageName;
  /** Stable kebab-case rule name users grep for (`path-traversal`, `id-replay`). */
  readonly rule: string;
  readonly class: DenialClass;
  readonly code: ErrorCodeValue;
  /** Human message naming the reason; never echoes a whole argument value. */
  readonly message: string;
  /** Extra fields for error.data (argument path, detector, tool …); small and safe. */
  readonly data?: Readonly<Record<string, string | number | boolean | null>>;
  /** Redacted excerpt of the offending value, for security events only. */
  readonly excerpt?: string;
  /** For throttle denials: seconds the client should wait. */
  readonly retryAfterSeconds?: number;
  /** Warn-level findings allow the request but are reported (behaviour Warn). */
  readonly warnOnly?: boolean;
}

export type JsonRpcId = string | number | null;

export interface Verdict {
  readonly allowed: boolean;
  /** The enforced denial when `allowed` is false. */
  readonly denial: Denial | undefined;
  /** Denials that audit-mode policies (or Audit detector actions) would have enforced. */
  readonly audited: readonly Denial[];
  /** Warn-level findings (allowed, reported, surfaced as a response header). */
  readonly warnings: readonly Denial[];
  /** The id of the JSON-RPC request (null where there is none or it is unknown). */
  readonly jsonRpcId: JsonRpcId;
  readonly serverKey: string | undefined;
  readonly policyKey: string | undefined;
  readonly tool: string | undefined;
  readonly method: string | undefined;
  readonly sessionId: string | undefined;
}

export function deny(
  stage: StageName,
  rule: string,
  cls: DenialClass,
  code: ErrorCodeValue,
  message: string,
  extra?: Pick<Denial, 'data' | 'excerpt' | 'retryAfterSeconds' | 'warnOnly'>,
): Denial {
  return { stage, rule, class: cls, code, message, ...extra };
}
