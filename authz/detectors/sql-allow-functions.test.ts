import { beforeAll, describe, expect, it } from 'vitest';
import type { ArgumentRule } from '../api/types.js';
import { initSqlParser, inspectSql } from './sql.js';

beforeAll(async () => {
  await initSqlParser();
});

describe('sql.allowFunctions adds to the allowed functions and never opens a loophole', () => {
  const rule: ArgumentRule = { kind: 'sql', sql: { readOnly: false, allowFunctions: ['pg_sleep'] } };

  it('allows ordinary functions and the listed one', () => {
    expect(inspectSql('SELECT count(*), lower(name) FROM t', rule)).toBeUndefined();
    expect(inspectSql('SELECT pg_sleep(1)', rule)).toBeUndefined();
  });

  it('still denies dangerous functions and keyword-like calls that are not listed', () => {
    expect(inspectSql("SELECT pg_read_file('/etc/passwd')", rule)?.rule).toBe('sql-denied-function');
    const exec = inspectSql("EXEC('xp_cmdshell ''dir''')", rule);
    expect(exec?.rule).toBe('sql-denied-function');
    expect(exec?.message).not.toContain('not in allowFunctions');
  });
});
