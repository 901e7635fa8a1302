import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, renderReadme } from './gen-docs.js';

describe('README field reference', () => {
  it('is generated from the API schema and up to date (run `npm run gen:docs`)', () => {
    const current = readFileSync(README, 'utf8');
    expect(renderReadme(current)).toBe(current);
  });

  it('documents the contract fields of both kinds', () => {
    const current = readFileSync(README, 'utf8');
    for (const field of ['spec.upstream.port', 'spec.trustedProxies', 'spec.tools.rules[].definition', 'spec.detection.promptInjection', 'spec.session.requestIds.reorderWindow', 'spec.behavior[].detector', 'spec.actions.suspend.duration']) {
      expect(current).toContain(`\`${field}\``);
    }
  });
});
