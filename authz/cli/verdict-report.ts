/**
 * A verdict for people (`explain --request`) and for machines (`--output json`): allowed or
 * denied, the stage and rule, the JSON-RPC code and HTTP status the client would get, and
 * what audit-mode policies and Warn actions recorded.
 */
import { HTTP_STATUS_BY_CLASS, type Denial, type Verdict } from '../pipeline/verdict.js';

export interface DenialRecord {
  readonly stage: string;
  readonly rule: string;
  readonly code: number;
  readonly class: string;
  readonly status: number;
  readonly message: string;
  readonly retryAfterSeconds?: number;
  readonly data?: Readonly<Record<string, string | number | boolean | null>>;
}

export interface VerdictRecord {
  readonly allowed: boolean;
  readonly stage: string | null;
  readonly rule: string | null;
  readonly code: number | null;
  /** HTTP status of the denial by class (400/403/413/429); 200 when allowed. */
  readonly status: number;
  readonly class: string | null;
  readonly message: string | null;
  readonly retryAfterSeconds?: number;
  readonly server: string | null;
  readonly policy: string | null;
  readonly method: string | null;
  readonly tool: string | null;
  readonly jsonRpcId: string | number | null;
  readonly session: string | null;
  readonly audited: readonly DenialRecord[];
  readonly warnings: readonly DenialRecord[];
}

export function denialRecord(denial: Denial): DenialRecord {
  return {
    stage: denial.stage,
    rule: denial.rule,
    code: denial.code,
    class: denial.class,
    status: HTTP_STATUS_BY_CLASS[denial.class],
    message: denial.message,
    ...(denial.retryAfterSeconds !== undefined ? { retryAfterSeconds: denial.retryAfterSeconds } : {}),
    ...(denial.data !== undefined ? { data: denial.data } : {}),
  };
}

export function verdictRecord(verdict: Verdict): VerdictRecord {
  const d = verdict.denial;
  return {
    allowed: verdict.allowed,
    stage: d?.stage ?? null,
    rule: d?.rule ?? null,
    code: d?.code ?? null,
    status: d === undefined ? 200 : HTTP_STATUS_BY_CLASS[d.class],
    class: d?.class ?? null,
    message: d?.message ?? null,
    ...(d?.retryAfterSeconds !== undefined ? { retryAfterSeconds: d.retryAfterSeconds } : {}),
    server: verdict.serverKey ?? null,
    policy: verdict.policyKey ?? null,
    method: verdict.method ?? null,
    tool: verdict.tool ?? null,
    jsonRpcId: verdict.jsonRpcId,
    session: verdict.sessionId ?? null,
    audited: verdict.audited.map(denialRecord),
    warnings: verdict.warnings.map(denialRecord),
  };
}

/** `allowed` or `denied stage/rule`: the short form `policy test` prints per request. */
export function verdictSummary(verdict: Verdict): string {
  return verdict.denial === undefined ? 'allowed' : `denied ${verdict.denial.stage}/${verdict.denial.rule}`;
}

function findingLines(label: string, denials: readonly Denial[]): string[] {
  if (denials.length === 0) return [`  ${label.padEnd(9)} none`];
  return denials.map((d, i) => `  ${(i === 0 ? label : '').padEnd(9)} ${d.stage}/${d.rule} (${d.code}): ${d.message}`);
}

export function formatVerdict(verdict: Verdict): string {
  const r = verdictRecord(verdict);
  const lines = [`verdict: ${r.allowed ? 'allowed' : 'denied'}`];
  if (!r.allowed) {
    lines.push(
      `  stage:    ${r.stage}`,
      `  rule:     ${r.rule}`,
      `  code:     ${r.code}`,
      `  status:   ${r.status} (${r.class})${r.retryAfterSeconds !== undefined ? `, Retry-After: ${r.retryAfterSeconds}` : ''}`,
      `  message:  ${r.message}`,
    );
  }
  lines.push(`  server:   ${r.server ?? '-'}`, `  policy:   ${r.policy ?? '-'}`, `  method:   ${r.method ?? '-'}`);
  if (r.tool !== null) lines.push(`  tool:     ${r.tool}`);
  lines.push(...findingLines('audited:', verdict.audited), ...findingLines('warnings:', verdict.warnings));
  return `${lines.join('\n')}\n`;
}
