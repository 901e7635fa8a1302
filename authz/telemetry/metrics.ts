/**
 * Prometheus metrics of the authz service, on a registry of our own (never prom-client's
 * global one, so tests and embedders can run several services in one process).
 * Label values come from bounded sets: stage and rule are fixed in code, server from
 * config; a cap per label turns anything beyond the expected set into `other`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StageName, Verdict } from '../pipeline/verdict.js';

export { startMetricsServer, type AdminHandler, type MetricsServer } from './metrics-server.js';

/** 50 µs … 50 ms: a check is expected to take well under a millisecond. */
export const CHECK_DURATION_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
];

export type VerdictOutcome = 'allow' | 'deny' | 'audit' | 'warn';
export type ReloadResult = 'success' | 'error';

export interface WardenMetrics {
  readonly registry: Registry;
  /** Counts the verdict (and each audited / warn finding) and observes the check duration. */
  observeCheck(verdict: Verdict, durationSeconds: number): void;
  /** Time spent in one pipeline stage, for the engine to report. */
  observeStage(stage: StageName, durationSeconds: number): void;
  configReload(result: ReloadResult, generation?: number): void;
}

export interface MetricsOptions {
  /** Add prom-client's default process metrics (CPU, memory, event loop lag). Default true. */
  readonly processMetrics?: boolean;
  /** Distinct `server` label values kept before the rest are counted as `other`. Default 256. */
  readonly maxServers?: number;
  /** Distinct `rule` label values kept before the rest are counted as `other`. Default 256. */
  readonly maxRules?: number;
}

const NONE = 'none';

export function createMetrics(options: MetricsOptions = {}): WardenMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const verdicts = new Counter({
    name: 'mcp_warden_verdicts_total',
    help: 'Verdicts by server, stage, rule and outcome (allow, deny, audit = would have denied, warn).',
    labelNames: ['server', 'stage', 'rule', 'outcome'] as const,
    registers: [registry],
  });
  const checkDuration = new Histogram({
    name: 'mcp_warden_check_duration_seconds',
    help: 'Time from receiving a CheckRequest to having its CheckResponse.',
    buckets: [...CHECK_DURATION_BUCKETS],
    registers: [registry],
  });
  const stageDuration = new Histogram({
    name: 'mcp_warden_stage_duration_seconds',
    help: 'Time spent in each verdict pipeline stage.',
    labelNames: ['stage'] as const,
    buckets: [...CHECK_DURATION_BUCKETS],
    registers: [registry],
  });
  const reloads = new Counter({
    name: 'mcp_warden_config_reloads_total',
    help: 'Configuration loads by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const generation = new Gauge({
    name: 'mcp_warden_config_generation',
    help: 'Generation of the configuration snapshot in use.',
    registers: [registry],
  });
  const serverLabel = boundedLabel(options.maxServers ?? 256);
  const ruleLabel = boundedLabel(options.maxRules ?? 256);
  // The allow counter of each server, bound once: the per-request path skips label hashing.
  const allowCounters = new Map<string, { inc(): void }>();
  const allowCounter = (server: string): { inc(): void } => {
    let counter = allowCounters.get(server);
    if (counter === undefined) allowCounters.set(server, (counter = verdicts.labels({ server, stage: NONE, rule: NONE, outcome: 'allow' })));
    return counter;
  };

  return {
    registry,
    observeCheck(verdict, durationSeconds) {
      checkDuration.observe(durationSeconds);
      const server = serverLabel(verdict.serverKey ?? 'unknown');
      const denial = verdict.denial;
      if (verdict.allowed) {
        allowCounter(server).inc();
      } else if (denial === undefined) {
        verdicts.inc({ server, stage: NONE, rule: NONE, outcome: 'deny' });
      } else {
        verdicts.inc({ server, stage: denial.stage, rule: ruleLabel(denial.rule), outcome: 'deny' });
      }
      for (const finding of verdict.audited) {
        verdicts.inc({ server, stage: finding.stage, rule: ruleLabel(finding.rule), outcome: 'audit' });
      }
      for (const finding of verdict.warnings) {
        verdicts.inc({ server, stage: finding.stage, rule: ruleLabel(finding.rule), outcome: 'warn' });
      }
    },
    observeStage(stage, durationSeconds) {
      stageDuration.observe({ stage }, durationSeconds);
    },
    configReload(result, gen) {
      reloads.inc({ result });
      if (result === 'success' && gen !== undefined) generation.set(gen);
    },
  };
}

function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return 'other';
    seen.add(value);
    return value;
  };
}
