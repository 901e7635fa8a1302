import { describe, expect, it } from 'vitest';
import { toStatusFindings } from './scanner.js';

describe('toStatusFindings', () => {
  it('keeps rule, known severity and a bounded excerpt; drops malformed entries', () => {
    const findings = toStatusFindings([
      { rule: 'hidden-instruction', severity: 'high', excerpt: 'x'.repeat(5000) },
      { rule: 'invisible-unicode', severity: 'catastrophic' },
      { severity: 'low' },
      'not a finding',
    ]);
    expect(findings).toEqual([
      { rule: 'hidden-instruction', severity: 'high', excerpt: 'x'.repeat(1024) },
      { rule: 'invisible-unicode' },
    ]);
  });

  it('caps the number of findings per tool', () => {
    expect(toStatusFindings(Array.from({ length: 100 }, (_, i) => ({ rule: `r${i}` })))).toHaveLength(64);
  });
});
