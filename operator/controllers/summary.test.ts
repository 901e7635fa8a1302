import { describe, expect, it } from 'vitest';
import { joinedSummary } from './summary.js';

describe('joinedSummary', () => {
  it('joins names with ", " and stays within the schema maxLength on whole names', () => {
    expect(joinedSummary(['read_file', 'run_backup'])).toBe('read_file, run_backup');
    expect(joinedSummary([])).toBe('');
    const many = Array.from({ length: 500 }, (_, i) => `tool_${String(i).padStart(4, '0')}`);
    const summary = joinedSummary(many);
    expect(summary.length).toBeLessThanOrEqual(4096);
    expect(summary.endsWith(', …')).toBe(true);
    expect(summary.slice(0, -3).split(', ').every((n) => /^tool_\d{4}$/.test(n))).toBe(true);
  });
});
