/**
 * The fail-closed denial: any fault while judging (an exception in the engine, a verdict
 * that denies without saying why) becomes this, never an allow (STYLE.md principle 4).
 * The client learns only that judging failed; the cause goes to the log.
 */
import type { WardenRequest } from '../pipeline/request.js';
import { deny, ErrorCode, type Denial, type Verdict } from '../pipeline/verdict.js';

export const INTERNAL_ERROR_RULE = 'internal-error';

export function internalErrorDenial(): Denial {
  return deny(
    'internal',
    INTERNAL_ERROR_RULE,
    'policy',
    ErrorCode.InternalError,
    'mcp-warden: internal error while checking the request; denied',
  );
}

export function internalErrorVerdict(request: WardenRequest | undefined): Verdict {
  return {
    allowed: false,
    denial: internalErrorDenial(),
    audited: [],
    warnings: [],
    jsonRpcId: null,
    serverKey: request?.serverKey,
    policyKey: undefined,
    tool: undefined,
    method: undefined,
    sessionId: undefined,
  };
}
