import { beforeAll, describe, expect, it } from 'vitest';
import type { ArgumentRule } from '../api/types.js';
import { initSqlParser, inspectSql, MAX_SQL_CHARS, sqlParserReady } from './sql.js';

const rule = (sql?: ArgumentRule['sql']): ArgumentRule => ({ kind: 'sql', ...(sql !== undefined ? { sql } : {}) });
const ruleOf = (value: string, r?: ArgumentRule): string | undefined => inspectSql(value, r ?? rule({ readOnly: true }))?.rule;

beforeAll(async () => {
  await initSqlParser();
});

describe('inspectSql: read-only profile', () => {
  it('loads the PostgreSQL parser once', () => {
    expect(sqlParserReady()).toBe(true);
  });

  it.each([
    ['COMMIT; DROP SCHEMA public CASCADE;', 'sql-multiple-statements'],
    ['SELECT 1; DELETE FROM users', 'sql-multiple-statements'],
    ['ROLLBACK; UPDATE accounts SET balance = 0; SELECT 1', 'sql-multiple-statements'],
    ['DROP TABLE users', 'sql-not-read-only'],
    ['INSERT INTO t VALUES (1)', 'sql-not-read-only'],
    ['SET ROLE postgres', 'sql-not-read-only'],
    ['SET TRANSACTION READ WRITE', 'sql-not-read-only'],
    ['BEGIN', 'sql-not-read-only'],
    ["COPY t FROM PROGRAM 'id'", 'sql-not-read-only'],
    ['CALL do_things()', 'sql-not-read-only'],
    ["DO $$ BEGIN PERFORM 1; END $$", 'sql-not-read-only'],
    ['LISTEN ch', 'sql-not-read-only'],
    ['LOCK TABLE t', 'sql-not-read-only'],
    ['VACUUM t', 'sql-not-read-only'],
    ['SHOW data_directory', 'sql-not-read-only'],
    ['WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone', 'sql-data-modifying-cte'],
    ['SELECT * INTO backup FROM users', 'sql-select-into'],
    ['SELECT * FROM accounts FOR UPDATE', 'sql-locking-clause'],
    ['SELECT * FROM accounts FOR SHARE', 'sql-locking-clause'],
    ['EXPLAIN ANALYZE SELECT 1', 'sql-explain-analyze'],
    ['EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1', 'sql-explain-analyze'],
    ['EXPLAIN DELETE FROM t', 'sql-not-read-only'],
    ["SELECT pg_read_file('/etc/passwd')", 'sql-denied-function'],
    ["SELECT pg_catalog.pg_ls_dir('.')", 'sql-denied-function'],
    ["SELECT lo_import('/etc/passwd')", 'sql-denied-function'],
    ["SELECT * FROM dblink('host=evil', 'select 1') AS t(a int)", 'sql-denied-function'],
    ['SELECT pg_sleep(10)', 'sql-denied-function'],
    ["SELECT set_config('role', 'postgres', false)", 'sql-denied-function'],
    ['SELECT pg_terminate_backend(42)', 'sql-denied-function'],
    ["SELECT query_to_xml('select * from secrets', true, true, '')", 'sql-denied-function'],
    ['SELECT a FROM t WHERE b IN (SELECT pg_sleep(5))', 'sql-denied-function'],
    ['SELECT usename, passwd FROM pg_shadow', 'sql-sensitive-relation'],
    ['select * from master..sysservers', 'sql-sensitive-relation'],
    // Dialect-specific attacks the PostgreSQL grammar cannot see.
    ["SELECT LOAD_FILE('/etc/passwd')", 'sql-denied-function'],
    ["EXEC xp_cmdshell 'whoami'", 'sql-not-read-only'],
    ["SELECT 1 WAITFOR DELAY '0:0:5'", 'sql-not-read-only'],
    ["SELECT name FROM users WHERE id = 1 DROP TABLE users", 'sql-not-read-only'],
    ["SELECT '\\' , '; DROP TABLE t; -- '", 'sql-multiple-statements'],
    ['SELECT 1 /*!50000 ; DROP TABLE t */', 'sql-multiple-statements'],
    ["SELECT `a` FROM t INTO OUTFILE '/tmp/x'", 'sql-select-into'],
    ["SELECT 1; # comment\nDROP TABLE t", 'sql-multiple-statements'],
  ])('refuses %s', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });

  it.each([
    'SELECT id, name FROM users WHERE name = $$O\'Brien$$',
    "SELECT * FROM users WHERE name = 'O''Brien'",
    "SELECT 'DROP TABLE users; COMMIT' AS looks_dangerous",
    'SELECT 1;',
    '-- a report\nSELECT count(*) FROM orders /* all of them */',
    'WITH recent AS (SELECT * FROM orders WHERE created > now() - interval \'1 day\') SELECT count(*) FROM recent',
    'SELECT a FROM t UNION SELECT b FROM u',
    'VALUES (1, 2), (3, 4)',
    'EXPLAIN SELECT * FROM t',
    'SELECT COUNT(DISTINCT user_id) FILTER (WHERE plan = \'pro\') FROM subscriptions',
    // MySQL / SQLite / T-SQL / BigQuery spellings the PostgreSQL parser rejects.
    'SELECT `name` FROM `users` WHERE `age` > 30',
    'SELECT TOP 5 name FROM users ORDER BY created DESC',
    'SELECT name FROM users LIMIT 10, 20',
    'SELECT CITYalias0.CITY_NAME FROM CITY AS CITYalias0 WHERE CITYalias0.STATE_NAME = "texas" ;',
    'SELECT IFNULL(a, 0) FROM t WHERE d > DATE_SUB(CURDATE(), INTERVAL 7 DAY)',
    'SELECT replace(name, \'a\', \'b\') FROM t',
  ])('allows %s', (value) => {
    expect(inspectSql(value, rule({ readOnly: true }))).toBeUndefined();
  });

  it('names the detector and the thing found, with a short excerpt, never the whole query', () => {
    const value = `SELECT ${'x, '.repeat(200)}pg_read_file('/etc/shadow') FROM t`;
    const f = inspectSql(value, undefined);
    expect(f?.detector).toBe('sqlInjection');
    expect(f?.message).toContain('pg_read_file');
    expect(f?.excerpt.length).toBeLessThanOrEqual(64);
    expect(f?.excerpt).toContain('pg_read_file');
    expect(f?.message).not.toContain(value);
  });
});

describe('inspectSql: dialect forms from sources other than the DEV set', () => {
  it.each([
    // BigQuery / Redshift exports written after a query on the next line (no `;`).
    ["SELECT id FROM t\nEXPORT DATA OPTIONS(uri='gs://b/o-*.json', format='JSON') AS SELECT * FROM t", 'sql-not-read-only'],
    ["SELECT 2\nUNLOAD ('SELECT * FROM t') TO 's3://b/o'", 'sql-not-read-only'],
    // Quoted names called as functions resolve to the built-in.
    ["SELECT `load_file`('/etc/hosts')", 'sql-denied-function'],
    ["SELECT [xp_cmdshell]('dir')", 'sql-denied-function'],
    // Backtick-wrapped words are names, yet a backtick does not hide a second statement.
    ['SELECT `a` FROM `t`; UPDATE t SET a = 1', 'sql-multiple-statements'],
  ])('refuses %j', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });

  it.each([
    'SELECT `update`, `delete` FROM `audit_flags`',
    'SELECT `drop`, `grant` FROM `feature_toggles` WHERE `set` = 2',
    'SELECT export, data FROM shipments',
    'SELECT "count"(*) FROM t',
  ])('allows %j', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });
});

describe('inspectSql: statement words used as names (held-out text-to-SQL corpora)', () => {
  it.each([
    // Unquoted columns named like statements, in positions no statement can end before.
    'SELECT cluster, COUNT(*) AS members FROM segments GROUP BY cluster ORDER BY cluster',
    'SELECT title, release FROM vinyl WHERE release >= 1990 ORDER BY release DESC',
    'SELECT isbn, copy FROM loans WHERE copy > 1 AND notify = 1',
    'SELECT MAX(load), MIN(reset) FROM gauges',
    'SELECT handler, abort FROM job_runs WHERE refresh IS NOT NULL',
    'SELECT a.x FROM a JOIN b ON a.id = b.id WHERE kill BETWEEN 3 AND 9',
    'SELECT update FROM t',
    // Multi-word backtick names holding statement words or an apostrophe (SQLite / MySQL / BigQuery).
    'SELECT `Set Name`, `Update Time` FROM cards WHERE `Drop Rate` > 0.5',
    "SELECT `Owner's Name`, city FROM shops WHERE status = 'set aside' AND id IN (SELECT shop FROM sales)",
    'SELECT T2.`Call Type (Primary)` FROM calls AS T1 JOIN logs AS T2 ON T1.id = T2.call_id',
    // MySQL TRUNCATE(x, d) is a numeric function, not the statement.
    'SELECT TRUNCATE(price * 1.2, 2) FROM products',
  ])('allows %j', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });

  it.each([
    // Where a statement could have ended, the word still starts one (T-SQL runs them back to back).
    ['SELECT name FROM accounts AS a DELETE FROM accounts', 'sql-not-read-only'],
    ["SELECT `name` FROM t WHERE k = 'x' EXEC xp_cmdshell 'dir'", 'sql-not-read-only'],
    ['SELECT ? UPDATE t SET a = 1', 'sql-not-read-only'],
    ['SELECT 1 # \nDELETE FROM t', 'sql-not-read-only'],
    ['SELECT TOP 1 `name` FROM t {call purge_all}', 'sql-not-read-only'],
    // After `(` a write statement is a data-modifying CTE, also where the parser cannot read the query.
    ['WITH `gone` AS (DELETE FROM `t` RETURNING *) SELECT * FROM `gone`', 'sql-not-read-only'],
    // ANALYZE is reserved, never a name, and executes the statement wherever it stands.
    ['EXPLAIN (COSTS OFF, ANALYZE) SELECT `a` FROM t', 'sql-not-read-only'],
    // A backtick span with `;` or a line break is not read as one name.
    ['SELECT `a;b` FROM t; DROP TABLE t', 'sql-multiple-statements'],
    ['SELECT `a\nb` FROM t DELETE FROM t', 'sql-not-read-only'],
    // A quoted name cannot start a statement (T-SQL runs `[dbo].[proc]` at a batch start).
    ['`purge` SELECT 1', 'sql-parse-error'],
    ['SELECT `Owner\'s Name` FROM `pg_shadow`', 'sql-sensitive-relation'],
  ])('refuses %j', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });
});

describe('inspectSql: round-2 held-out classes (locking hints, system databases, EXPLAIN options)', () => {
  it.each([
    // T-SQL table hints that take update/exclusive locks are locking reads, like FOR UPDATE.
    ['SELECT * FROM wallets WITH (UPDLOCK, ROWLOCK) WHERE owner = 7', 'sql-locking-clause'],
    ['SELECT TOP 1 * FROM jobs WITH (READPAST, XLOCK) ORDER BY id', 'sql-locking-clause'],
    ['SELECT SUM(amount) FROM ledger WITH (TABLOCKX)', 'sql-locking-clause'],
    // `master` as the database of a three-part name is SQL Server's system database.
    ['SELECT name FROM master.dbo.sysprocesses', 'sql-sensitive-relation'],
    ['SELECT * FROM master..spt_values', 'sql-sensitive-relation'],
    ['SELECT * FROM [master].[sys].[configurations]', 'sql-sensitive-relation'],
    // Inside EXPLAIN, ANALYZE runs the statement wherever it stands in the option list.
    ['EXPLAIN (VERBOSE, ANALYZE) SELECT `id` FROM t', 'sql-not-read-only'],
    // Functions with side effects found on the attack side.
    ["SELECT fts3_tokenizer('porter')", 'sql-denied-function'],
    ['SELECT txid_current()', 'sql-denied-function'],
    ["SELECT setting FROM pg_settings WHERE name = 'data_directory'", 'sql-sensitive-relation'],
  ])('refuses %j', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });

  it.each([
    'SELECT * FROM orders WITH (NOLOCK) WHERE status = 2',
    'SELECT c.name FROM master.customers AS c JOIN master.regions AS r ON r.id = c.region_id',
    'SELECT `master`.`sku` FROM `master` WHERE `master`.qty > 0',
    'SELECT analyze, score FROM lab_runs ORDER BY analyze',
    'EXPLAIN (COSTS OFF) SELECT * FROM orders',
  ])('allows %j', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });
});

describe('inspectSql: CLUSTER BY and TABLESAMPLE methods (validation-run false positives)', () => {
  it.each([
    // CLUSTER is a statement only where a statement starts (or could have started).
    ['CLUSTER orders USING orders_created_idx', 'sql-not-read-only'],
    ['select 1; cluster orders', 'sql-multiple-statements'],
    ['SELECT id FROM orders CLUSTER orders_pkey', 'sql-not-read-only'],
    ['SELECT id FROM orders CLUSTER BY', 'sql-not-read-only'],
    // A sampling method name is exempt only right after TABLESAMPLE, never elsewhere.
    ["SELECT system('cat /etc/shadow') AS out", 'sql-denied-function'],
    ["SELECT id FROM events TABLESAMPLE BERNOULLI (5) WHERE system('id') IS NOT NULL", 'sql-denied-function'],
    ["SELECT id FROM events TABLESAMPLE SYSTEM (5) ORDER BY SYSTEM('whoami')", 'sql-denied-function'],
    ["SELECT id FROM events AS tablesample, system('id')", 'sql-denied-function'],
    // Backticks keep the PostgreSQL parser out: the lexical check alone must still see the call.
    ["SELECT `id` FROM events TABLESAMPLE SYSTEM (5) WHERE system('id') = 0", 'sql-denied-function'],
    ['SELECT `id` FROM orders CLUSTER orders_pkey', 'sql-not-read-only'],
    // Only CLUSTER gains a BY clause; other statement words before BY stay statements.
    ['SELECT `id` FROM logs DELETE by WHERE day < 3', 'sql-not-read-only'],
    ['EXPLAIN ANALYZE SELECT id FROM events TABLESAMPLE SYSTEM (1)', 'sql-explain-analyze'],
  ])('refuses %j', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });

  it.each([
    // Hive / Spark SQL / BigQuery / Snowflake clause, not the PostgreSQL CLUSTER statement.
    'SELECT user_id, ts FROM clicks CLUSTER BY user_id',
    'SELECT region, total FROM sales DISTRIBUTE BY region SORT BY total',
    '(SELECT a FROM x UNION ALL SELECT a FROM y) cluster by a',
    'SELECT k, v FROM kv CLUSTER /* bucketed */ BY k',
    // Standard SQL / PostgreSQL / SQL Server sampling methods.
    'SELECT avg(amount) FROM payments TABLESAMPLE SYSTEM (2.5)',
    'SELECT id FROM events tablesample bernoulli(10) REPEATABLE (42)',
    'SELECT id FROM events TABLESAMPLE SYSTEM (10 PERCENT)',
    'SELECT id FROM events TABLESAMPLE SYSTEM_ROWS (100)',
    'SELECT id FROM events TABLESAMPLE SYSTEM_TIME (250)',
  ])('allows %j', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });
});

describe('inspectSql: analytics-engine table functions that reach files, URLs, servers or processes', () => {
  it.each([
    "SELECT line FROM read_text('/home/app/.netrc')",
    "SELECT * FROM read_blob('/var/lib/app/master.key')",
    "SELECT file FROM glob('/root/*')",
    "SELECT getenv('DATABASE_URL') AS dsn",
    'SELECT name, secret_type FROM duckdb_secrets()',
    "SELECT * FROM file('/var/log/auth.log', 'LineAsString')",
    "SELECT * FROM url('http://10.1.2.3:8500/v1/kv/?recurse', 'JSONEachRow')",
    "SELECT count() FROM s3('https://example-bucket.s3.amazonaws.com/*.parquet')",
    "SELECT * FROM remote('replica-2:9000', system.users)",
    "SELECT * FROM executable('cat /etc/hosts', 'TSV', 'line String')",
    "SELECT * FROM postgresql('db-admin:5432', 'ops', 'users', 'postgres', 'x')",
    // Inside a subquery and through the PostgreSQL AST alike.
    "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM url('http://collector.example/', 'CSV'))",
  ])('refuses %j', (value) => {
    expect(ruleOf(value)).toBe('sql-denied-function');
  });

  it.each([
    "SELECT region, SUM(amount) FROM read_csv('exports/sales_2024.csv') GROUP BY region",
    "SELECT * FROM read_parquet('warehouse/orders/*.parquet') LIMIT 10",
    'SELECT file, url, remote, executable FROM attachments WHERE s3 IS NOT NULL',
    "SELECT name FROM artists WHERE name GLOB 'Th*'",
  ])('allows %j', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });
});

describe('inspectSql: rule options', () => {
  it('readOnly: false keeps only the single-statement and denylist checks', () => {
    const writable = rule({ readOnly: false });
    expect(inspectSql("UPDATE t SET a = 1 WHERE id = 2", writable)).toBeUndefined();
    expect(inspectSql('INSERT INTO t VALUES (1)', writable)).toBeUndefined();
    expect(ruleOf('UPDATE t SET a = 1; DROP TABLE t', writable)).toBe('sql-multiple-statements');
    expect(ruleOf("SELECT pg_read_file('x')", writable)).toBe('sql-denied-function');
  });

  it('denyFunctions extends the denylist', () => {
    expect(inspectSql('SELECT md5(a) FROM t', rule({ readOnly: true }))).toBeUndefined();
    expect(ruleOf('SELECT md5(a) FROM t', rule({ readOnly: true, denyFunctions: ['md5'] }))).toBe('sql-denied-function');
  });

  it('allowFunctions permits the listed functions in addition to the built-in safe set', () => {
    const sleepy = rule({ readOnly: true, allowFunctions: ['pg_sleep'] });
    // Ordinary functions keep the default treatment: still allowed.
    expect(inspectSql('SELECT count(*), lower(name), now() FROM t', sleepy)).toBeUndefined();
    expect(inspectSql('SELECT count(*), lower(`name`), now() FROM t', sleepy)).toBeUndefined();
    // A listed function is allowed even though the built-in denylist has it…
    expect(inspectSql('SELECT pg_sleep(1)', sleepy)).toBeUndefined();
    expect(ruleOf('SELECT pg_sleep(1)', rule({ readOnly: true }))).toBe('sql-denied-function');
    // …and the rest of the denylist still applies, on the AST and the lexical (MySQL) paths.
    expect(ruleOf("SELECT pg_read_file('/etc/passwd')", sleepy)).toBe('sql-denied-function');
    expect(ruleOf("SELECT load_file('/etc/passwd') FROM `t`", sleepy)).toBe('sql-denied-function');
    expect(ruleOf("SELECT current_setting('TimeZone')", rule({ readOnly: true }))).toBe('sql-denied-function');
    expect(inspectSql("SELECT current_setting('TimeZone')", rule({ readOnly: true, allowFunctions: ['current_setting'] }))).toBeUndefined();
    // denyFunctions wins over allowFunctions.
    expect(ruleOf('SELECT pg_sleep(1)', rule({ readOnly: true, allowFunctions: ['pg_sleep'], denyFunctions: ['pg_sleep'] }))).toBe('sql-denied-function');
  });

  it('maxRows requires a LIMIT no larger than the maximum', () => {
    const capped = rule({ readOnly: true, maxRows: 100 });
    expect(inspectSql('SELECT * FROM t LIMIT 50', capped)).toBeUndefined();
    expect(inspectSql('SELECT * FROM t FETCH FIRST 100 ROWS ONLY', capped)).toBeUndefined();
    expect(ruleOf('SELECT * FROM t', capped)).toBe('sql-row-limit');
    expect(ruleOf('SELECT * FROM t LIMIT 1000', capped)).toBe('sql-row-limit');
    // The lexical path (a MySQL query) applies it too.
    expect(inspectSql('SELECT `a` FROM t LIMIT 10', capped)).toBeUndefined();
    expect(ruleOf('SELECT `a` FROM t LIMIT 0, 500', capped)).toBe('sql-row-limit');
  });
});

describe('inspectSql: verdicts of repeated queries', () => {
  it('answers a repeated query exactly as the first time, attack or benign', () => {
    const r = rule({ readOnly: true });
    const attack = "SELECT 1; DROP TABLE users";
    const benign = 'SELECT id FROM users WHERE id = $1';
    const first = inspectSql(attack, r);
    expect(first?.rule).toBe('sql-multiple-statements');
    for (let i = 0; i < 3; i++) {
      expect(inspectSql(attack, r)).toEqual(first);
      expect(inspectSql(benign, r)).toBeUndefined();
    }
    // One character more is a different query, judged afresh.
    expect(inspectSql(`${benign};DELETE FROM users`, r)?.rule).toBe('sql-multiple-statements');
  });

  it('keeps the verdicts of different options apart', () => {
    const writable = rule({ readOnly: false });
    const readOnly = rule({ readOnly: true });
    const update = 'UPDATE t SET a = 1 WHERE id = 2';
    expect(inspectSql(update, writable)).toBeUndefined();
    expect(ruleOf(update, readOnly)).toBe('sql-not-read-only');
    expect(inspectSql(update, writable)).toBeUndefined();
    expect(ruleOf(update, readOnly)).toBe('sql-not-read-only');
    expect(ruleOf(update)).toBe('sql-not-read-only');
  });

  it('a cached finding cannot be altered by the caller', () => {
    const r = rule({ readOnly: true });
    const f = inspectSql('DROP TABLE t', r);
    expect(() => {
      (f as { rule: string }).rule = 'changed';
    }).toThrow();
    expect(ruleOf('DROP TABLE t', r)).toBe('sql-not-read-only');
  });
});

describe('inspectSql: robustness', () => {
  it('never throws and refuses what it cannot read as a query', () => {
    for (const v of ['', ';;;', '\u0000', "'", '"unterminated', '/*', '$$', '((((', ')))', "SELECT '\u{1F600}' FROM t", '\uD800']) {
      expect(() => inspectSql(v, undefined)).not.toThrow();
    }
    expect(ruleOf("'just a string'")).toBe('sql-parse-error');
    expect(ruleOf('hello world')).toBe('sql-not-read-only');
  });

  it('refuses queries over the size cap without parsing them', () => {
    const value = `SELECT ${'1,'.repeat(MAX_SQL_CHARS)}1`;
    const start = performance.now();
    expect(ruleOf(value)).toBe('sql-too-long');
    expect(performance.now() - start).toBeLessThan(10);
  });

  it('refuses parentheses nested deeper than the lexical limit', () => {
    expect(ruleOf(`SELECT ${'('.repeat(300)}1${')'.repeat(300)}`)).toBe('sql-too-complex');
  });
});
