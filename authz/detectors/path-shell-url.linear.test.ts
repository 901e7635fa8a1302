/**
 * Linear time on hostile input: 1 MB adversarial strings through the path, shell, command and
 * url inspectors, and the full scanners at their largest accepted size, timed in CPU time
 * (the machine is shared). The bound is generous; the benchmark prints the real figures.
 */
import { describe, expect, it } from 'vitest';
import { cpuMs, fill, growth, MB, PATH_SHELL_URL_ADVERSARIAL as ADVERSARIAL } from './adversarial-shapes.js';
import { inspectPath, MAX_PATH_LENGTH } from './path.js';
import { inspectCommand, inspectShell, MAX_SHELL_VALUE_LENGTH } from './shell.js';
import { inspectUrl } from './ssrf.js';
import type { KindInspector } from './types.js';

const INSPECTORS: Record<string, KindInspector> = { path: inspectPath, shell: inspectShell, command: inspectCommand, url: inspectUrl };

describe('linear time on adversarial input', () => {
  for (const [kind, inspect] of Object.entries(INSPECTORS)) {
    it(`${kind}: 1 MB adversarial strings in under 10 ms (bound 50 ms on a shared machine)`, () => {
      for (const [name, unit] of [...Object.entries(ADVERSARIAL), ['a×1e6 + ;', 'a'] as const]) {
        const value = name.startsWith('a×') ? `${'a'.repeat(MB - 1)};` : fill(unit, MB);
        const ms = cpuMs(() => inspect(value, undefined));
        expect(ms, `${kind} ${name}: ${ms.toFixed(2)} ms`).toBeLessThan(50);
      }
    });
  }

  it('the full scans grow linearly up to the largest accepted size', () => {
    const cases: Array<[KindInspector, number]> = [
      [inspectShell, MAX_SHELL_VALUE_LENGTH],
      [inspectCommand, MAX_SHELL_VALUE_LENGTH],
      [inspectPath, MAX_PATH_LENGTH],
    ];
    for (const [inspect, max] of cases) {
      for (const unit of Object.values(ADVERSARIAL)) {
        const { small, large, label } = growth((value) => inspect(value, undefined), unit, max);
        // Quadratic behaviour would be ×16; allow generous noise above the linear ×4.
        expect(large, label).toBeLessThan(Math.max(small * 10, 2));
      }
    }
  });

  it('still finds the attack at the end of a long clean value', () => {
    const value = `${'a'.repeat(MAX_SHELL_VALUE_LENGTH - 10)}; rm -rf /`;
    expect(inspectShell(value, undefined)?.rule).toBe('shell-separator');
    expect(inspectPath(`${'a/'.repeat(1000)}../etc`, undefined)?.rule).toBe('path-traversal');
  });
});
