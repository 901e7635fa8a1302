import { describe, expect, it } from 'vitest';
import { inspectSqlFragment, MAX_FRAGMENT_CHARS, percentDecodeOnce } from './sql-fragment.js';

const ruleOf = (value: string): string | undefined => inspectSqlFragment(value, { kind: 'sql-fragment' })?.rule;

describe('inspectSqlFragment: values that change query structure', () => {
  it.each([
    // Quote closing into SQL (the brief's example) and classic tautologies.
    ["x' OR '1'='1", 'sqli-tautology'],
    ["admin' OR 1=1 --", 'sqli-tautology'],
    ['1 OR 1=1', 'sqli-tautology'],
    ["' or ''='", 'sqli-tautology'],
    ['" or "a"="a', 'sqli-tautology'],
    ["') OR ('a'='a", 'sqli-tautology'],
    ['1 AND 1=2', 'sqli-tautology'],
    ["x' or 'y", 'sqli-quote-break'],
    ["A' || 'B", 'sqli-quote-break'],
    // Comments that truncate the rest of the query.
    ["admin'--", 'sqli-comment'],
    ["admin')/*", 'sqli-comment'],
    ['1/*', 'sqli-comment'],
    ['@version --', 'sqli-comment'],
    // Stacked statements.
    ["x'; DROP TABLE users; --", 'sqli-stacked'],
    ['1; DROP TABLE users', 'sqli-stacked'],
    ["1'; EXEC xp_cmdshell 'dir'; --", 'sqli-stacked'],
    ['1; DECLARE @s varchar(8000)', 'sqli-stacked'],
    // UNION SELECT in its disguises.
    ["' UNION SELECT username, password FROM users --", 'sqli-union'],
    ['-1 union all select 1,2,3', 'sqli-union'],
    ['1 UNION/**/SELECT 1', 'sqli-union'],
    ['1 /*!50000UNION*/ SELECT 1', 'sqli-comment'],
    ['1 UnIoN(SELECT 1)', 'sqli-union'],
    // Blind probes: time and boolean.
    ['1 AND SLEEP(5)', 'sqli-time'],
    ["1'; WAITFOR DELAY '0:0:5'--", 'sqli-stacked'],
    ["1 waitfor delay '0:0:5'", 'sqli-time'],
    ['1 AND BENCHMARK(5000000,MD5(1))', 'sqli-time'],
    ["1' AND pg_sleep(5)--", 'sqli-time'],
    ['1 AND ASCII(SUBSTRING(user(),1,1))>64', 'sqli-function'],
    // Functions and catalogs typical of injection.
    ["' + char(65) + '", 'sqli-function'],
    ['1 AND extractvalue(1, concat(0x7e, version()))', 'sqli-function'],
    ['@@version', 'sqli-system-variable'],
    ['1 and (select count(*) from information_schema.tables)>0', 'sqli-subquery'],
    ["' ORDER BY 3--", 'sqli-order-by'],
    ['1 ORDER BY 10', 'sqli-order-by'],
    ["1' INTO OUTFILE '/tmp/x'", 'sqli-outfile'],
    ['case when 1=1 then 1 else 0 end', 'sqli-case'],
    // Encodings.
    ['a%27%20or%201%3D1--', 'sqli-tautology'],
    ['1%2527%2520OR%25201%253D1--', 'sqli-tautology'],
    ['1+union+select+1,2', 'sqli-union'],
    ['1%00UNION%00SELECT%001', 'sqli-union'],
    ['x’ OR ‘1’=’1', 'sqli-tautology'],
    // An empty # comment that cuts the rest of the query after the closing quote.
    ["admin' #", 'sqli-comment'],
    ['admin"#', 'sqli-comment'],
    // HTML character references and full-width forms (NFKC) of the payload.
    ['&#39; OR 1=1--', 'sqli-tautology'],
    ['&#x27; OR &#x27;1&#x27;=&#x27;1', 'sqli-tautology'],
    ["' ＯＲ 1=1--", 'sqli-tautology'],
    ['1 ＵＮＩＯＮ ＳＥＬＥＣＴ 1', 'sqli-union'],
    // A value that is a whole statement, with the verb's own grammar.
    ['DROP TABLE users', 'sqli-stacked'],
    ['DELETE FROM users', 'sqli-stacked'],
    ['UPDATE users SET admin=1', 'sqli-stacked'],
    ['GRANT ALL ON accounts TO public', 'sqli-stacked'],
    ['CALL proc()', 'sqli-stacked'],
    ["COPY t FROM '/etc/passwd'", 'sqli-stacked'],
    ['1 procedure analyse()', 'sqli-procedure'],
    // Keywords split by comments a filter deletes.
    ['UNI/**/ON SEL/**/ECT', 'sqli-union'],
    ['USE master', 'sqli-stacked'],
    ["print 'x'", 'sqli-stacked'],
    ['1 UN/*x*/ION SE/**/LECT 1', 'sqli-union'],
  ])('flags %s', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });
});

describe('inspectSqlFragment: ordinary values pass', () => {
  it.each([
    "O'Brien",
    "D'Angelo",
    "Rock 'n' Roll",
    "men's giant slalom",
    "don't forget the lyrics",
    "Y'ALL COME BACK NOW",
    "JACK-O'-LANTERN?",
    'MATS 5" BY 7"',
    '12" vinyl',
    '6\'2" tall',
    '1950 or 1960',
    '1 AND A HALF',
    '2 OR 4 METAL BUTTONS',
    'BASE; SET SWAROVSKI',
    'NOT ALL WHO WANDER',
    'WHERE IS GEORGE',
    'TRUE#LAST',
    '#2 syracuse',
    '1,1--',
    '69-68=137',
    '125-123 (ot)',
    'flanagan (6-7)',
    '2024-01-31',
    '12:30:00',
    '-3.5e10',
    'alice@example.com',
    'https://example.com/a?b=c&d=e',
    '"The Better Man"',
    'O\'connors UNION selected a few friends',
    '1950 UNION MADE',
    'Credit Union',
    'select x from y where',
    'Ogu and Mampato in Rapa Nui',
    'Ben & Jerry\'s',
    'C:\\Users\\alice\\notes.txt',
    '%2FSEARCH%3FQ%3D15%22%2BLAPTOP%2BCASE',
    '',
    // `#` as a number sign, and a quote after a digit as a foot mark.
    '"#2 MOM"',
    "BAMBOO CHARCOAL SOAP 1 '#",
    // An apostrophe that never closes is prose, not a string constant after WHERE.
    "where's my order",
    // Decoded references and full-width text that stay prose.
    'LAPTOP CASE 14&#39;',
    'Rock &amp; Roll',
    'ｓｅｌｅｃｔ ａｌｌ',
    // Titles that open with a statement verb but not its grammar.
    'Call of Duty',
    'Copy that',
    'Delete User',
    'Update User',
    'Grant Park',
    'update your profile',
    'surgical procedure (knee)',
    'See chapter/*draft*/notes',
    // Statement verbs that open prose rather than a complete statement.
    'Print the current status',
    'Use by date',
    'Remote Procedure Calling (RPC)',
  ])('passes %j', (value) => {
    expect(inspectSqlFragment(value, { kind: 'sql-fragment' })).toBeUndefined();
  });
});

describe('inspectSqlFragment: findings and limits', () => {
  it('names the detector and what was found, with an excerpt of at most 64 characters', () => {
    const value = `${'harmless words '.repeat(20)}' UNION SELECT password FROM users --`;
    const f = inspectSqlFragment(value, undefined);
    expect(f?.detector).toBe('sqlInjection');
    expect(f?.message).toContain('UNION SELECT');
    expect(f?.excerpt.length).toBeLessThanOrEqual(64);
    expect(f?.excerpt).toContain('UNION SELECT');
  });

  it('says when a finding needed URL decoding', () => {
    expect(inspectSqlFragment('a%27%20or%201%3D1--', undefined)?.message).toContain('URL decoding');
  });

  it('decodes query-string escapes leniently and only when something changes', () => {
    expect(percentDecodeOnce('a%27b+c')).toBe("a'b c");
    expect(percentDecodeOnce('%A0UNION')).toBe('\u00a0UNION');
    expect(percentDecodeOnce('plain')).toBeUndefined();
  });

  it('refuses values over the size cap instead of scanning them', () => {
    expect(ruleOf('a'.repeat(MAX_FRAGMENT_CHARS + 1))).toBe('sqli-too-long');
    expect(ruleOf('a'.repeat(MAX_FRAGMENT_CHARS))).toBeUndefined();
  });

  it('finds the injection at the end of a long clean value', () => {
    expect(ruleOf(`${'word '.repeat(3_000)}' OR '1'='1`)).toBe('sqli-tautology');
  });

  it('never throws on odd input', () => {
    for (const v of ["'", '"', '\\', '%', '%%%', '/*', '*/', '\u0000', '\uD800', "''''", '`', '--', '#', ';', '(((', ')))']) {
      expect(() => inspectSqlFragment(v, undefined)).not.toThrow();
    }
  });
});

describe('inspectSqlFragment: probe shapes from sources other than the DEV lists', () => {
  it.each([
    // A constant compared with itself inside a call or a parenthesis (sqlmap boolean probes).
    ['GREATEST(8=8,3,0)', 'sqli-tautology'],
    ['(62=62)*9', 'sqli-tautology'],
    ["MAKE_SET('q'='q',5)", 'sqli-tautology'],
    ["9,('z'='z')", 'sqli-tautology'],
    // OR with a true constant in a numeric context.
    ['4 OR 1', 'sqli-tautology'],
    ['uid or true', 'sqli-tautology'],
    ['23 || 23', 'sqli-tautology'],
    // Oracle packages referenced without a call.
    ["'||UTL_INADDR.GET_HOST_NAME", 'sqli-function'],
    ['x||dbms_lock.sleep', 'sqli-function'],
    // A quote written as a JavaScript / Python escape.
    ['admin\\x27--', 'sqli-comment'],
    ['\\u0027 or \\u00271\\u0027=\\u00271', 'sqli-tautology'],
    // DROP with a name list that ends the value.
    ['Drop Table Invoices', 'sqli-stacked'],
    ['drop view if exists s.v1, s.v2 cascade', 'sqli-stacked'],
  ])('%j → %s', (value, rule) => {
    expect(ruleOf(value)).toBe(rule);
  });

  it.each([
    // Titles and signs that start with a statement keyword.
    'Drop Table Top Games',
    'Drop Table Tennis Paddles Set',
    'Select*Star Cinemas',
    'Print shop',
    'Print Shop Deluxe',
    'Goto Island',
    // Two different numbers: a range someone searched for.
    '1990 or 1995',
    '3 OR 4',
    '2 OR 0',
    // Equal numbers that are not compared.
    '5=5 piece puzzle set, 5-5',
    '12 = 12 inches',
    // Package-like words outside Oracle.
    'utl.request',
    'dbms.tech notes',
    'dbms_stats.gather_table_stats',
    // Backslashes that are not escapes.
    'C:\\xampp\\htdocs',
    '\\u00',
  ])('%j passes', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });
});

describe('inspectSqlFragment: held-out round 2 classes', () => {
  it.each([
    // A value that opens by closing the quote and goes on into logic or a group.
    ["' or title", 'sqli-quote-break'],
    ["' AND (EXISTS)", 'sqli-quote-break'],
    ["' having 2", 'sqli-quote-break'],
    ['\') or ("z', 'sqli-quote-break'],
    ["' or \"", 'sqli-quote-break'],
    ["' (select top 3", 'sqli-subquery'],
    // Groups closed below the value's own nesting, AND/OR, then reopened for the template.
    ['7)) or ((7', 'sqli-paren-break'],
    ['4) and (5', 'sqli-paren-break'],
    // A parenthesised OR with a true constant after HAVING / WHERE.
    ['uid having (1 or 1)', 'sqli-tautology'],
    ['uid where (true or 1)', 'sqli-tautology'],
    ['x having (uid or true)', 'sqli-tautology'],
    // `--` glued to text: a comment for SQL Server and PostgreSQL.
    [' or 1 --x', 'sqli-tautology'],
    ["2 and 2--'", 'sqli-tautology'],
    ['--sp_password', 'sqli-comment'],
    // Oracle BINARY_FLOAT / BINARY_DOUBLE suffixes glued to a keyword.
    ['3fUNION SELECT 4', 'sqli-union'],
    ['-2DUNION ALL SELECT name FROM t', 'sqli-union'],
    // Stacked metadata statements.
    ["\\'; describe accounts; --", 'sqli-stacked'],
    ['9; SHOW TABLES', 'sqli-stacked'],
  ])('%j → %s', (value, rule) => {
    expect(ruleOf(value)).toBe(rule);
  });

  it.each([
    // Apostrophes that belong to a word before or after them.
    "teachers' or parents' signatures",
    "the drivers' and riders' union",
    "'60s or '70s rock",
    "Pick 'n' Mix",
    "isn't or wasn't",
    "Sons' and Daughters' Day",
    "D'Or or silver",
    // Double-quoted phrase searches that start with AND / OR.
    '"OR ELSE WHAT"',
    '"and then there were none"',
    // Lists and groups that close what they open, or never reopen.
    '(x) or (y)',
    'answer a) or b)',
    '1) tea 2) coffee',
    'pick 3 or 4',
    '(2 or 3) rooms',
    // Dashes in prose and numbers.
    'rock and roll--live',
    'jazz or blues--mostly',
    '2019--2020',
    // Numbers glued to words that are not keywords.
    '2Door coupe',
    '3Dfx Voodoo',
    '4d6 dice',
    // A question about SQL that mentions ORDER BY after a word.
    'what does ORDER BY do',
    'desc; show more',
    'Price; desc',
  ])('%j passes', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });
});

describe('inspectSqlFragment: held-out round 2 classes (lists, Access operators, prose dashes)', () => {
  it.each([
    // An INSERT … VALUES breakout: the quote closes into a list and an unopened `)`, then a comment.
    ["',0) zzz /*", 'sqli-comment'],
    ["'),NULL) x y /*", 'sqli-comment'],
    // Microsoft Access's EQV / IMP joining a closed quote back into a string.
    ["a' Imp 'b", 'sqli-quote-break'],
  ])('%j → %s', (value, rule) => {
    expect(ruleOf(value)).toBe(rule);
  });

  it.each([
    'rock and roll -- the best',
    'salt or pepper -- either',
    "Lee, Ann', 'Bo) /* cc */",
    'Imp of the Perverse',
    'Eqv Technologies',
  ])('%j passes', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });
});

describe('inspectSqlFragment: encodings a web stack decodes before the value reaches SQL', () => {
  it.each([
    // IIS `%uXXXX` escapes, alone and mixed with plain text.
    ['%u0027%u0020%u0055%u004E%u0049%u004F%u004E%u0020%u0053%u0045%u004C%u0045%u0043%u0054%u0020%u0031', 'sqli-union'],
    ['2%u0020or%u00201%u003D1', 'sqli-tautology'],
    // Overlong UTF-8 forms of ASCII: two bytes (C0/C1 xx) and three bytes (E0 80 xx).
    ['id%C0%A7%C0%A0OR%C0%A0%C0%A7a%C0%A7%C0%BD%C0%A7a', 'sqli-tautology'],
    ['5%C0%A0UNION%C0%A0SELECT%C0%A0password%C0%A0FROM%C0%A0users', 'sqli-union'],
    ['x%E0%80%A7%E0%80%A0UNION%E0%80%A0SELECT%E0%80%A0name', 'sqli-union'],
    // Control characters SQL Server reads as whitespace between tokens.
    ['7%0EUNION%1FSELECT%02password%03FROM%0Fusers', 'sqli-union'],
    ["x';%1BDROP%06TABLE%05orders--", 'sqli-stacked'],
    ['9\u0001UNION\u0001SELECT\u00012', 'sqli-union'],
    // A `--` comment closed by a line break, standing for whitespace between keywords.
    ['5--qq%0AUNION--zz%0ASELECT--r%0Apassword%0AFROM%0Ausers', 'sqli-union'],
    ['3--note\nORDER--n\nBY--m\n4', 'sqli-order-by'],
  ])('%j → %s', (value, rule) => {
    expect(ruleOf(value)).toBe(rule);
  });

  it.each([
    '%u00e9t%u00e9 sale',
    '%u0041%u0042%u0043 order status',
    'caf%C3%A9 %C0%A7best%C0%A7 beans',
    'Widget\u0001Pro 2000 blue',
    'Widget\u0002and\u0003more',
    // Glued dashes before a line break are not whitespace for the truncation rules.
    '10--20 people\nsaid yes',
    'Chapter 1--Intro\nChapter 2--Select Your Gear',
    'rock and roll --the best\nsalt or pepper',
  ])('%j passes', (value) => {
    expect(ruleOf(value)).toBeUndefined();
  });

  it('reads %uXXXX and overlong forms when decoding, and says which reading found it', () => {
    expect(percentDecodeOnce('%u0027%uD83D%uDE00')).toBe("'\u{1F600}");
    expect(percentDecodeOnce('%C0%A7%C1%BC%E0%80%BD')).toBe("'|=");
    // A lone surrogate has no UTF-8 form: the escape stays, so nothing changes.
    expect(percentDecodeOnce('%uD800x')).toBeUndefined();
    expect(inspectSqlFragment('-1%04UNION%04SELECT%041', undefined)?.message).toContain('control characters read as whitespace');
  });
});
