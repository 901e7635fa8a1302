/**
 * metav1.LabelSelector matching. Unlike Kubernetes, a selector with no requirements selects
 * nothing here: an MCPServer must name its pods, so a forgotten selector cannot put a
 * sidecar into every pod of a namespace.
 */
import type { LabelSelector } from '../../authz/api/types.js';

export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  const matchLabels = Object.entries(selector?.matchLabels ?? {});
  const expressions = selector?.matchExpressions ?? [];
  if (matchLabels.length === 0 && expressions.length === 0) return false;
  const have = labels ?? {};
  for (const [key, value] of matchLabels) if (have[key] !== value) return false;
  for (const { key, operator, values = [] } of expressions) {
    const present = Object.hasOwn(have, key);
    const value = have[key];
    switch (operator) {
      case 'In':
        if (!present || !values.includes(value ?? '')) return false;
        break;
      case 'NotIn':
        if (present && values.includes(value ?? '')) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
