/**
 * Detectors are pure functions: value (+ options) → finding or nothing. They never throw on
 * attacker input and run in time linear in the value's length.
 */
import type { ArgumentKind, ArgumentRule, DetectionSpec } from '../api/types.js';

/** The detector names are the keys of `spec.detection`. */
export type DetectorName = keyof DetectionSpec;

export interface DetectorFinding {
  readonly detector: DetectorName;
  /** Stable kebab-case rule (`shell-separator`, `path-traversal`, `ssrf-metadata` …). */
  readonly rule: string;
  /** Says what was found, never echoes the whole value. */
  readonly message: string;
  /** Short redacted excerpt around the offending part (≤ 64 chars). */
  readonly excerpt: string;
}

/** Inspects one string value of a given argument kind under that argument's rule. */
export type KindInspector = (value: string, rule: ArgumentRule | undefined) => DetectorFinding | undefined;

/** Which detector guards each kind (kinds without one are not inspected). */
export const DETECTOR_BY_KIND: Readonly<Partial<Record<ArgumentKind, DetectorName>>> = {
  path: 'pathTraversal',
  shell: 'commandInjection',
  command: 'commandInjection',
  sql: 'sqlInjection',
  'sql-fragment': 'sqlInjection',
  url: 'ssrf',
  text: 'promptInjection',
};
