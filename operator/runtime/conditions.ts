/**
 * metav1.Condition bookkeeping (KEP-1623): a condition's lastTransitionTime changes only
 * when its status does, so rewriting the same conditions is a no-op for the API server.
 */
import type { Condition } from '../../authz/api/types.js';

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

export function setConditions(previous: readonly Condition[] | undefined, next: readonly ConditionInput[], now: Date): Condition[] {
  const old = new Map((previous ?? []).map((c) => [c.type, c]));
  return next.map((c) => {
    const before = old.get(c.type);
    const lastTransitionTime =
      before !== undefined && before.status === c.status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...c, lastTransitionTime };
  });
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when `type` moved to `status` between `before` and `after` (for Events on transitions). */
export function transitioned(before: readonly Condition[] | undefined, after: readonly Condition[], type: string, status: Condition['status']): boolean {
  return findCondition(before, type)?.status !== status && findCondition(after, type)?.status === status;
}
