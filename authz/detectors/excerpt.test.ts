import { describe, expect, it } from 'vitest';
import { REDACTED } from '../telemetry/redact.js';
import { excerptAround } from './excerpt.js';
import { inspectPath } from './path.js';
import { inspectShell } from './shell.js';
import { inspectSqlFragment } from './sql-fragment.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';

/** Whether any 6-character piece of `secret` shows in `text`. */
function leaks(text: string, secret: string): boolean {
  for (let i = 0; i + 6 <= secret.length; i++) if (text.includes(secret.slice(i, i + 6))) return true;
  return false;
}

describe('detector excerpts mask secrets cut by the excerpt edge', () => {
  it('a JWT ending just before a shell separator (the seen leak: "…3I9PlFUP0THsR8U" x; id")', () => {
    const f = inspectShell(`"${JWT}" x; id`, undefined);
    expect(f?.rule).toBe('shell-separator');
    expect(f?.excerpt).toContain(REDACTED);
    expect(f?.excerpt).toContain('; id');
    expect(leaks(f?.excerpt ?? '', JWT)).toBe(false);
  });

  it('an AWS key id starting just before the excerpt end (the seen leak: "../AKIAIOSFODNN7EXAMP…")', () => {
    const f = inspectPath(`../${AWS_KEY}/and/some/more/segments/to/clip`, { kind: 'path' });
    expect(f?.rule).toMatch(/^path-/);
    expect(f?.excerpt).toContain('../');
    expect(f?.excerpt).toContain(REDACTED);
    expect(leaks(f?.excerpt ?? '', AWS_KEY)).toBe(false);
  });

  it('a JWT straddling the left edge of an SQL fragment excerpt', () => {
    const f = inspectSqlFragment(`token ${JWT}' OR '1'='1`, undefined);
    expect(f).toBeDefined();
    expect(leaks(f?.excerpt ?? '', JWT)).toBe(false);
  });

  it('excerptAround: a secret on either edge is masked, the rest stays readable', () => {
    const excerpt = excerptAround;
    const left = `prefix ${JWT}; rm -rf /`;
    const semi = left.indexOf(';');
    const l = excerpt(left, semi, semi + 1);
    expect(l).toContain('; rm');
    expect(l).toContain(REDACTED);
    expect(leaks(l, JWT)).toBe(false);

    const right = `cat ../../etc/passwd ${AWS_KEY} and a long tail of words after it`;
    const dots = right.indexOf('../');
    const r = excerpt(right, dots, dots + 3);
    expect(r).toContain('../../etc/passwd');
    expect(leaks(r, AWS_KEY)).toBe(false);

    // Nothing secret: the excerpt is unchanged by masking.
    const plain = 'select name from users where id = 1; drop table users';
    expect(excerpt(plain, plain.indexOf(';'), plain.indexOf(';') + 1)).not.toContain(REDACTED);
  });
});
