/**
 * The one-string summaries printer columns show (`status.targetsSummary`,
 * `status.toolsSummary`): a JSONPath column over a list prints only its first element.
 * Capped at the schema's maxLength (4096) so a long list never makes the status invalid.
 */
const MAX_SUMMARY = 4096;

export function joinedSummary(names: readonly string[]): string {
  const joined = names.join(', ');
  if (joined.length <= MAX_SUMMARY) return joined;
  const cut = joined.lastIndexOf(', ', MAX_SUMMARY - 5);
  return `${joined.slice(0, cut > 0 ? cut : MAX_SUMMARY - 5)}, …`;
}
