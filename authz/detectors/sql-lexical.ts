/**
 * Dialect-tolerant read-only check for whole SQL queries. It runs the lexer under the
 * PostgreSQL, MySQL and T-SQL quoting/comment rules and refuses a query when, under any of
 * them, the code outside strings and comments holds a second statement, a statement that
 * is not a query, a write/DDL/DCL/transaction keyword anywhere (T-SQL runs statements
 * written back to back without `;`), `INTO`, a denied function or package, or a credential
 * catalog. It is the backstop for queries the PostgreSQL parser cannot read (MySQL
 * backticks, `TOP n`, double-quoted literals) and for dialect differences the PostgreSQL
 * grammar cannot see (backslash escapes, `#` and `/*! *\/` comments).
 */
import type { SqlArgumentOptions } from '../api/types.js';
import { ALL_DIALECTS, isWordChar, SqlLexer, Tok, type SqlDialect, type TokenType } from './sql-tokenizer.js';
import { functionPolicy, isDeniedPackage, isSensitiveRelation, isSensitiveSchema, isSystemDatabase, type FunctionPolicy } from './sql-names.js';

export interface SqlIssue {
  readonly rule: string;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

/** Statements a read-only tool may run (first word of the statement). */
const QUERY_STARTS = new Set(['select', 'with', 'values', 'table', 'explain']);

/**
 * Words that start a statement that writes, changes state, or executes code. A query may
 * hold them as names (`SELECT cluster, release FROM t`, `ORDER BY set`), so in the middle of
 * a statement one is refused only where a statement could have ended just before it: T-SQL
 * (and Sybase ASE, Synapse) runs statements written back to back without `;`, and the other
 * dialects are held to the same reading as defence in depth. `into` and locking reads are
 * reported separately; `call` covers the ODBC/JDBC escape `{call proc}` too.
 */
const WRITE_WORDS = new Set([
  'insert', 'update', 'delete', 'merge', 'upsert', 'replace', 'drop', 'create', 'alter', 'truncate',
  'rename', 'grant', 'revoke', 'deny', 'copy', 'exec', 'execute', 'call', 'do', 'begin', 'commit',
  'rollback', 'savepoint', 'save', 'release', 'abort', 'set', 'reset', 'load', 'attach', 'detach',
  'vacuum', 'reindex', 'cluster', 'checkpoint', 'refresh', 'shutdown', 'lock', 'unlock', 'kill',
  'flush', 'reconfigure', 'declare', 'waitfor', 'prepare', 'deallocate', 'listen', 'notify',
  'unlisten', 'pragma', 'handler', 'install', 'uninstall', 'backup', 'restore', 'dump', 'dbcc',
  'bulk', 'outfile', 'dumpfile', 'discard', 'unload', 'writetext', 'updatetext', 'receive', 'send',
  'setuser', 'enable', 'disable', 'analyze', 'analyse',
]);

/**
 * Inside an `EXPLAIN` statement these run the explained statement (`EXPLAIN (COSTS OFF,
 * ANALYZE) …`), so there they are refused wherever they stand; elsewhere they are names
 * (SQLite and T-SQL accept `analyze` as a column) or MySQL's `PROCEDURE ANALYSE()`, which
 * follows a word and is refused by the continuation rule.
 */
const EXPLAIN_EXECUTING_WORDS = new Set(['analyze', 'analyse']);

/** T-SQL table hints that take update or exclusive locks (`WITH (UPDLOCK, ROWLOCK)`), like `FOR UPDATE`. */
const LOCKING_HINTS = new Set(['updlock', 'xlock', 'tablockx']);

/** Statements PostgreSQL (and MySQL) accept inside parentheses of one query: `WITH x AS (DELETE …)`. */
const NESTED_WRITE_WORDS = new Set(['insert', 'update', 'delete', 'merge']);

/**
 * Words after which no statement can have ended: no statement ends with `SELECT`, `WHERE`,
 * `AND`, `BY`, `FROM` and the like, so a write word right after one is a name
 * (`SELECT update FROM t`, `ORDER BY set`), not the start of a second statement.
 */
const CONTINUATION_WORDS = new Set([
  'select', 'distinct', 'where', 'and', 'or', 'not', 'on', 'by', 'from', 'join', 'in', 'is', 'like',
  'ilike', 'between', 'case', 'when', 'then', 'having', 'union', 'intersect', 'except',
]);

/**
 * Binary operators no statement ends with. Not `*` (`SELECT *`), `?` (a parameter marker
 * is a whole expression), `#`, `@`, `!` or a backtick (T-SQL names may start with `#`/`@`).
 */
const CONTINUATION_OPERATORS = new Set([
  '=', '<', '>', '<=', '>=', '<>', '!=', '<=>', '+', '-', '/', '%', '^', '&', '|', '||', '&&', '~',
  '<<', '>>', '::', ':=', '->', '->>',
]);

/**
 * Table sampling methods: right after `TABLESAMPLE` (SQL:2003, PostgreSQL incl. the
 * tsm_system_rows/tsm_system_time extensions, SQL Server, BigQuery, Snowflake) the word
 * before `(` names a sampling method, not a function, so `TABLESAMPLE SYSTEM (75)` does not
 * call a denied `system()`. Anywhere else the same word is still checked as a call.
 */
const SAMPLING_METHODS = new Set(['system', 'bernoulli', 'system_rows', 'system_time']);

/** Words that behave like functions when followed by `(` (MySQL `REPLACE()`, `INSERT()`, `TRUNCATE()`). */
const WRITE_WORDS_AS_FUNCTIONS = new Set(['replace', 'insert', 'truncate']);

/** Longest backtick-quoted name read as one name where backticks are not quotes. */
const MAX_BACKTICK_NAME = 256;

const MAX_PAREN_DEPTH = 256;

interface Pending {
  text: string;
  start: number;
  end: number;
  afterDot: boolean;
  afterAs: boolean;
  afterCharacter: boolean;
  afterFor: boolean;
  afterTablesample: boolean;
  /** The previous code token cannot end a statement (see CONTINUATION_WORDS). */
  afterContinuation: boolean;
  afterLParen: boolean;
  /** The statement starts with EXPLAIN. */
  inExplain: boolean;
}

function issue(rule: string, message: string, start: number, end: number): SqlIssue {
  return { rule, message, start, end };
}

function notReadOnly(w: Pending): SqlIssue {
  return issue('sql-not-read-only', `${w.text.toUpperCase()} in a read-only query`, w.start, w.end);
}

/** Decides a word once the token after it is known. */
/** A name before `.` (bare or quoted): a denied package, or a system schema or database. */
function qualifierIssue(value: string, text: string, start: number, end: number): SqlIssue | undefined {
  if (isDeniedPackage(text)) return issue('sql-denied-function', `denied package ${text}`, start, end);
  if (isSensitiveSchema(text) || (isSystemDatabase(text) && startsThreePartName(value, end))) {
    return issue('sql-sensitive-relation', `system database ${text}`, start, end);
  }
  return undefined;
}

function resolveWord(value: string, w: Pending, nextType: TokenType, policy: FunctionPolicy, readOnly: boolean): SqlIssue | undefined {
  if (nextType === Tok.LParen && !w.afterAs && !(w.afterTablesample && SAMPLING_METHODS.has(w.text))) {
    // allowFunctions only adds to what is allowed (policy.denies knows it); it never turns
    // keyword-like words such as exec( into something unchecked.
    if (policy.denies(w.text)) return issue('sql-denied-function', `function ${w.text}() is denied`, w.start, w.end);
    if (WRITE_WORDS_AS_FUNCTIONS.has(w.text)) return undefined;
  }
  if (nextType === Tok.Dot) {
    const found = qualifierIssue(value, w.text, w.start, w.end);
    if (found !== undefined) return found;
  } else if (isSensitiveRelation(w.text)) {
    return issue('sql-sensitive-relation', `system catalog ${w.text}`, w.start, w.end);
  }
  if (w.afterDot || w.afterAs || !readOnly) return undefined;
  if (w.text === 'into') return issue('sql-select-into', 'INTO in a read-only query', w.start, w.end);
  if (w.afterFor && (w.text === 'share' || w.text === 'no' || w.text === 'key')) {
    return issue('sql-locking-clause', 'locking clause FOR SHARE/UPDATE', w.start, w.end);
  }
  if (w.text === 'set' && w.afterCharacter) return undefined;
  if (w.afterContinuation && LOCKING_HINTS.has(w.text)) {
    return issue('sql-locking-clause', `table hint ${w.text.toUpperCase()} takes write locks`, w.start, w.end);
  }
  if (!WRITE_WORDS.has(w.text)) return undefined;
  if (w.inExplain && EXPLAIN_EXECUTING_WORDS.has(w.text)) return notReadOnly(w);
  if (w.afterContinuation && !(w.afterLParen && NESTED_WRITE_WORDS.has(w.text))) return undefined;
  return notReadOnly(w);
}

/**
 * Whether the word `w`, followed by the word `next`, is the `CLUSTER BY` clause of Hive,
 * Spark SQL, BigQuery and Snowflake rather than PostgreSQL's `CLUSTER` statement. A
 * statement-initial CLUSTER never gets here (it is refused as a statement that is not a
 * query); in the middle of a statement the dialects with a CLUSTER statement need `;`
 * before it, and a `;` is refused as a second statement.
 */
function clusterByClause(w: Pending, nextType: TokenType, next: string): boolean {
  return w.text === 'cluster' && !w.afterDot && !w.afterAs && nextType === Tok.Word && next === 'by';
}

/** Checks one dialect; returns the first issue. */
function checkDialect(value: string, dialect: SqlDialect, policy: FunctionPolicy, readOnly: boolean): SqlIssue | undefined {
  const lx = new SqlLexer(value, dialect);
  let statements = 0;
  let codeInStatement = 0;
  let depth = 0;
  let prevType: TokenType = Tok.End;
  let prevText = '';
  let prevContinues = false;
  let inExplain = false;
  let pending: Pending | undefined;
  let quotedName: { text: string; start: number; end: number } | undefined;
  /** A `CLUSTER` followed by `BY`, decided by the token after `BY` (see clusterByClause). */
  let clusterBy: Pending | undefined;

  for (;;) {
    let t = lx.next();
    if (t === Tok.Comment) continue;
    if (clusterBy !== undefined) {
      // `CLUSTER BY` with nothing after it is no clause; read it as the statement `CLUSTER by`.
      if (readOnly && (t === Tok.End || t === Tok.Semicolon)) return notReadOnly(clusterBy);
      clusterBy = undefined;
    }
    if (pending !== undefined) {
      if (clusterByClause(pending, t, lx.text)) {
        clusterBy = pending;
      } else {
        const found = resolveWord(value, pending, t, policy, readOnly);
        if (found !== undefined) return found;
      }
      pending = undefined;
    }
    if (quotedName !== undefined) {
      // A quoted name called as a function (`"pg_read_file"(…)`, `` `load_file`(…) ``) is
      // still that function where the dialect resolves quoted names to built-ins.
      if (t === Tok.LParen && policy.denies(quotedName.text)) {
        return issue('sql-denied-function', `function ${quotedName.text}() is denied`, quotedName.start, quotedName.end);
      }
      // …and a quoted qualifier (`[master].[sys].[x]`, `"mysql".user`) is that database or package.
      if (t === Tok.Dot) {
        const found = qualifierIssue(value, quotedName.text, quotedName.start, quotedName.end);
        if (found !== undefined) return found;
      }
      quotedName = undefined;
    }
    if (t === Tok.End) break;
    if (t === Tok.Semicolon) {
      if (codeInStatement > 0) statements++;
      codeInStatement = 0;
      prevType = t;
      prevText = ';';
      prevContinues = false;
      continue;
    }
    if (codeInStatement === 0 && statements > 0) {
      return issue('sql-multiple-statements', 'more than one statement', lx.start, lx.end);
    }
    codeInStatement++;
    const start = lx.start;
    let end = lx.end;
    let closed = lx.closed;
    if (t === Tok.Operator && !dialect.backtickIdentifiers && value.charCodeAt(start) === C_BACKTICK) {
      // `Driver's name`, `Set Name` where backticks are not quotes: the query only runs where
      // they quote names (MySQL, SQLite, BigQuery); under T-SQL a backtick is a syntax error
      // that stops the whole batch, and under PostgreSQL an operator that no statement or
      // data-modifying CTE can start with. A span without `;` or a line break hides no
      // statement boundary, so it is read as the name it is (and still checked as one).
      const spanEnd = backtickNameEnd(value, start);
      if (spanEnd > 0) {
        t = Tok.QuotedIdent;
        end = spanEnd;
        closed = true;
        lx.seek(spanEnd);
      }
    }
    if (t === Tok.LParen) {
      depth++;
      if (depth > MAX_PAREN_DEPTH) return issue('sql-too-complex', `parentheses nested deeper than ${MAX_PAREN_DEPTH}`, start, end);
    } else if (t === Tok.RParen) {
      if (depth > 0) depth--;
    }
    if (readOnly && isFirstCodeWord(codeInStatement) && t !== Tok.LParen && t !== Tok.Word) {
      // Includes quoted names: T-SQL runs `[dbo].[purge]` at the start of a batch as EXEC.
      return issue('sql-parse-error', 'not an SQL statement', start, end);
    }
    if (t === Tok.Word || (t === Tok.QuotedIdent && closed && end - start <= 66)) {
      const text = t === Tok.Word ? lx.text : value.slice(start + 1, end - 1).toLowerCase();
      if (t === Tok.Word && isFirstCodeWord(codeInStatement)) {
        if (readOnly && !QUERY_STARTS.has(text)) {
          return issue('sql-not-read-only', `${text.toUpperCase()} statement is not a read-only query`, start, end);
        }
        inExplain = text === 'explain';
      }
      if (t === Tok.QuotedIdent) {
        // Quoted names are never keywords, but they can still name a catalog.
        if (text !== '' && isSensitiveRelation(text)) return issue('sql-sensitive-relation', `system catalog ${text}`, start, end);
        quotedName = { text, start, end };
      } else if (readOnly && text === 'data' && prevText === 'export') {
        return issue('sql-not-read-only', 'EXPORT DATA in a read-only query', start, end);
      } else if (text !== '') {
        pending = {
          text,
          start,
          end,
          afterDot: prevType === Tok.Dot,
          afterAs: prevText === 'as',
          afterCharacter: prevText === 'character' || prevText === 'char',
          afterFor: prevText === 'for',
          afterTablesample: prevText === 'tablesample',
          afterContinuation: prevContinues,
          afterLParen: prevType === Tok.LParen,
          inExplain,
        };
      }
    }
    prevType = t;
    prevText = t === Tok.Word ? lx.text : '';
    prevContinues =
      t === Tok.Comma ||
      t === Tok.LParen ||
      (t === Tok.Word && CONTINUATION_WORDS.has(lx.text)) ||
      (t === Tok.Operator && CONTINUATION_OPERATORS.has(lx.text));
  }
  return undefined;
}

const C_BACKTICK = 96;
const C_DOT = 46;

/**
 * Whether the name ending at `end` is followed by `.x.` or `..` (it is the database of a
 * three-part name such as `master.dbo.t` or `master..t`). Bounded: one name part is read.
 */
function startsThreePartName(value: string, end: number): boolean {
  let i = skipSpaces(value, end);
  if (value.charCodeAt(i) !== C_DOT) return false;
  i = skipSpaces(value, i + 1);
  const c = value.charCodeAt(i);
  if (c === C_DOT) return true;
  const close = c === 91 ? 93 : c === 34 || c === C_BACKTICK ? c : -1;
  if (close >= 0) {
    const from = i;
    i++;
    while (i < value.length && value.charCodeAt(i) !== close) {
      if (i - from > MAX_BACKTICK_NAME) return false;
      i++;
    }
    if (i >= value.length) return false;
    i++;
  } else {
    const from = i;
    while (i < value.length && i - from <= MAX_BACKTICK_NAME && isWordChar(value.charCodeAt(i))) i++;
  }
  return value.charCodeAt(skipSpaces(value, i)) === C_DOT;
}

function skipSpaces(value: string, from: number): number {
  let i = from;
  while (i < value.length && i - from <= MAX_BACKTICK_NAME && value.charCodeAt(i) <= 32) i++;
  return i;
}

/**
 * End (after the closing backtick) of a backtick-quoted name starting at `start`, or -1 when
 * the span is unclosed, longer than MAX_BACKTICK_NAME, or holds `;`, a line break or nothing.
 */
function backtickNameEnd(value: string, start: number): number {
  const limit = Math.min(value.length, start + 1 + MAX_BACKTICK_NAME);
  for (let i = start + 1; i < limit; i++) {
    const c = value.charCodeAt(i);
    if (c === C_BACKTICK) return i > start + 1 ? i + 1 : -1;
    if (c === 59 || c === 10 || c === 13) return -1;
  }
  return -1;
}

/** The first code token of a statement (a leading `(` is allowed and not looked into). */
function isFirstCodeWord(codeInStatement: number): boolean {
  return codeInStatement === 1;
}

/**
 * Runs the check under every dialect in `dialects` (all three by default) and returns the
 * first issue found under any of them.
 */
export function lexicalSqlIssue(
  value: string,
  options: SqlArgumentOptions | undefined,
  dialects: readonly SqlDialect[] = ALL_DIALECTS,
): SqlIssue | undefined {
  const policy = functionPolicy(options);
  const readOnly = options?.readOnly ?? true;
  for (const dialect of dialects) {
    const found = checkDialect(value, dialect, policy, readOnly);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Row count of the outermost `LIMIT n`, `LIMIT a, n`, `TOP n` or `FETCH FIRST n`, if any. */
export function lexicalRowLimit(value: string, dialect: SqlDialect): number | undefined {
  const lx = new SqlLexer(value, dialect);
  let depth = 0;
  let prev = '';
  let prev2 = '';
  let limit: number | undefined;
  let afterLimitNumber = false;
  for (;;) {
    const t = lx.next();
    if (t === Tok.End || t === Tok.Semicolon) break;
    if (t === Tok.Comment) continue;
    if (t === Tok.LParen) depth++;
    else if (t === Tok.RParen) depth = Math.max(0, depth - 1);
    if (depth === 0 && t === Tok.Number) {
      const n = Number(lx.text);
      if (prev === 'limit' || prev === 'top' || (prev === 'first' && prev2 === 'fetch') || (prev === 'next' && prev2 === 'fetch')) {
        limit = n;
        afterLimitNumber = prev === 'limit';
      } else if (afterLimitNumber && prev === ',') {
        limit = n;
        afterLimitNumber = false;
      } else {
        afterLimitNumber = false;
      }
    }
    prev2 = prev;
    prev = t === Tok.Word ? lx.text : t === Tok.Comma ? ',' : t === Tok.Number ? '#' : '';
    if (t === Tok.Comma && afterLimitNumber) prev = ',';
  }
  return limit;
}
