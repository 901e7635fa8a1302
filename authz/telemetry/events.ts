/**
 * Security events: one structured pino line per finding of a verdict. Enforced denials log
 * at warn, audit (would-have-denied) and warn-only findings at info; a plain allow logs
 * nothing (STYLE.md principle 7). Headers are never part of an event, so Authorization and
 * Cookie values cannot leak through here; excerpts pass through `redact`.
 */
import type { Logger } from 'pino';
import type { WardenRequest } from '../pipeline/request.js';
import type { Denial, Verdict } from '../pipeline/verdict.js';
import { maskSecrets, redact } from './redact.js';

export const SECURITY_EVENT = 'mcp-warden.verdict';

export type EventOutcome = 'deny' | 'audit' | 'warn';

export interface SecurityEventFields {
  readonly event: typeof SECURITY_EVENT;
  readonly outcome: EventOutcome;
  readonly session: string | undefined;
  readonly source: string;
  readonly server: string | undefined;
  readonly policy: string | undefined;
  readonly tool: string | undefined;
  readonly method: string | undefined;
  readonly stage: string;
  readonly rule: string;
  readonly code: number;
  readonly message: string;
  readonly excerpt: string | undefined;
  readonly requestId: string;
}

/** The minimal logger surface events need (a pino Logger satisfies it). */
export type EventLogger = Pick<Logger, 'warn' | 'info'>;

export interface SecurityEvents {
  /** Logs the verdict's findings (nothing for a plain allow). */
  securityEvent(verdict: Verdict, request: WardenRequest): void;
}

export function createSecurityEvents(logger: EventLogger): SecurityEvents {
  return { securityEvent: (verdict, request) => securityEvent(logger, verdict, request) };
}

export function securityEvent(logger: EventLogger, verdict: Verdict, request: WardenRequest): void {
  if (!verdict.allowed && verdict.denial !== undefined) {
    logger.warn(eventFields('deny', verdict.denial, verdict, request), 'request denied');
  }
  for (const finding of verdict.audited) {
    logger.info(eventFields('audit', finding, verdict, request), 'request would have been denied (audit)');
  }
  for (const finding of verdict.warnings) {
    logger.info(eventFields('warn', finding, verdict, request), 'request allowed with a warning');
  }
}

export function eventFields(
  outcome: EventOutcome,
  denial: Denial,
  verdict: Verdict,
  request: WardenRequest,
): SecurityEventFields {
  return {
    event: SECURITY_EVENT,
    outcome,
    session: verdict.sessionId,
    source: request.source.address,
    server: verdict.serverKey ?? request.serverKey,
    policy: verdict.policyKey,
    tool: verdict.tool,
    method: verdict.method,
    stage: denial.stage,
    rule: denial.rule,
    code: denial.code,
    message: maskSecrets(denial.message),
    excerpt: denial.excerpt === undefined ? undefined : redact(denial.excerpt),
    requestId: request.requestId,
  };
}
