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
import { ALL_DIALECTS, SqlLexer, Tok, type SqlDialect, type TokenType } from './sql-tokenizer.js';
import { functionPolicy, isDeniedPackage, isSensitiveRelation, isSensitiveSchema, type FunctionPolicy } from './sql-names.js';

export interface SqlIssue {
  readonly rule: string;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

/** Statements a read-only tool may run (first word of the statement). */
const QUERY_STARTS = new Set(['select', 'with', 'values', 'table', 'explain']);

/**
 * Words that start (or are) a statement that writes, changes state, or executes code.
 * `into` and locking reads are reported separately.
 */
const WRITE_WORDS = new Set([
  'insert', 'update', 'delete', 'merge', 'upsert', 'replace', 'drop', 'create', 'alter', 'truncate',
  'rename', 'grant', 'revoke', 'deny', 'copy', 'exec', 'execute', 'call', 'do', 'begin', 'commit',
  'rollback', 'savepoint', 'release', 'abort', 'set', 'reset', 'load', 'attach', 'detach', 'vacuum',
  'analyze', 'analyse', 'reindex', 'cluster', 'checkpoint', 'refresh', 'shutdown', 'lock', 'unlock',
  'kill', 'flush', 'reconfigure', 'declare', 'waitfor', 'prepare', 'deallocate', 'listen', 'notify',
  'unlisten', 'pragma', 'handler', 'install', 'uninstall', 'backup', 'restore', 'dbcc', 'bulk',
  'outfile', 'dumpfile', 'discard', 'unload',
]);

/** Words that behave like functions when followed by `(` (MySQL `REPLACE()`, `INSERT()`). */
const WRITE_WORDS_AS_FUNCTIONS = new Set(['replace', 'insert']);

const MAX_PAREN_DEPTH = 256;

interface Pending {
  text: string;
  start: number;
  end: number;
  afterDot: boolean;
  afterAs: boolean;
  afterCharacter: boolean;
  afterFor: boolean;
}

function issue(rule: string, message: string, start: number, end: number): SqlIssue {
  return { rule, message, start, end };
}

/** Decides a word once the token after it is known. */
function resolveWord(w: Pending, nextType: TokenType, policy: FunctionPolicy, readOnly: boolean): SqlIssue | undefined {
  if (nextType === Tok.LParen && !w.afterAs) {
    // allowFunctions only adds to what is allowed (policy.denies knows it); it never turns
    // keyword-like words such as exec( into something unchecked.
    if (policy.denies(w.text)) return issue('sql-denied-function', `function ${w.text}() is denied`, w.start, w.end);
    if (WRITE_WORDS_AS_FUNCTIONS.has(w.text)) return undefined;
  }
  if (nextType === Tok.Dot) {
    if (isDeniedPackage(w.text)) return issue('sql-denied-function', `denied package ${w.text}`, w.start, w.end);
    if (isSensitiveSchema(w.text)) return issue('sql-sensitive-relation', `system database ${w.text}`, w.start, w.end);
  } else if (isSensitiveRelation(w.text)) {
    return issue('sql-sensitive-relation', `system catalog ${w.text}`, w.start, w.end);
  }
  if (w.afterDot || w.afterAs || !readOnly) return undefined;
  if (w.text === 'into') return issue('sql-select-into', 'INTO in a read-only query', w.start, w.end);
  if (w.afterFor && (w.text === 'share' || w.text === 'no' || w.text === 'key')) {
    return issue('sql-locking-clause', 'locking clause FOR SHARE/UPDATE', w.start, w.end);
  }
  if (w.text === 'set' && w.afterCharacter) return undefined;
  if (WRITE_WORDS.has(w.text)) return issue('sql-not-read-only', `${w.text.toUpperCase()} in a read-only query`, w.start, w.end);
  return undefined;
}

/** Checks one dialect; returns the first issue. */
function checkDialect(value: string, dialect: SqlDialect, policy: FunctionPolicy, readOnly: boolean): SqlIssue | undefined {
  const lx = new SqlLexer(value, dialect);
  let statements = 0;
  let codeInStatement = 0;
  let depth = 0;
  let prevType: TokenType = Tok.End;
  let prevText = '';
  let pending: Pending | undefined;
  let quotedName: { text: string; start: number; end: number } | undefined;

  for (;;) {
    const t = lx.next();
    if (t === Tok.Comment) continue;
    if (pending !== undefined) {
      const found = resolveWord(pending, t, policy, readOnly);
      if (found !== undefined) return found;
      pending = undefined;
    }
    if (quotedName !== undefined) {
      // A quoted name called as a function (`"pg_read_file"(…)`, `` `load_file`(…) ``) is
      // still that function where the dialect resolves quoted names to built-ins.
      if (t === Tok.LParen && policy.denies(quotedName.text)) {
        return issue('sql-denied-function', `function ${quotedName.text}() is denied`, quotedName.start, quotedName.end);
      }
      quotedName = undefined;
    }
    if (t === Tok.End) break;
    if (t === Tok.Semicolon) {
      if (codeInStatement > 0) statements++;
      codeInStatement = 0;
      prevType = t;
      prevText = ';';
      continue;
    }
    if (codeInStatement === 0 && statements > 0) {
      return issue('sql-multiple-statements', 'more than one statement', lx.start, lx.end);
    }
    codeInStatement++;
    if (t === Tok.LParen) {
      depth++;
      if (depth > MAX_PAREN_DEPTH) return issue('sql-too-complex', `parentheses nested deeper than ${MAX_PAREN_DEPTH}`, lx.start, lx.end);
    } else if (t === Tok.RParen) {
      if (depth > 0) depth--;
    }
    if (t === Tok.Word || (t === Tok.QuotedIdent && lx.closed && lx.end - lx.start <= 66)) {
      const text = t === Tok.Word ? lx.text : value.slice(lx.start + 1, lx.end - 1).toLowerCase();
      if (t === Tok.Word && readOnly && isFirstCodeWord(codeInStatement) && !QUERY_STARTS.has(text)) {
        return issue('sql-not-read-only', `${text.toUpperCase()} statement is not a read-only query`, lx.start, lx.end);
      }
      if (t === Tok.QuotedIdent) {
        // Quoted names are never keywords, but they can still name a catalog.
        if (text !== '' && isSensitiveRelation(text)) return issue('sql-sensitive-relation', `system catalog ${text}`, lx.start, lx.end);
        quotedName = { text, start: lx.start, end: lx.end };
      } else if (t === Tok.Word && !dialect.backtickIdentifiers && backtickWrapped(value, lx.start, lx.end)) {
        // `update` in a dialect without backtick quoting: the query only runs where backticks
        // quote names (MySQL, SQLite, BigQuery), and elsewhere the backtick is a syntax error
        // or an operator, which no statement starts with. Still a name, still checked as one.
        if (isSensitiveRelation(text)) return issue('sql-sensitive-relation', `system catalog ${text}`, lx.start, lx.end);
        quotedName = { text, start: lx.start, end: lx.end };
      } else if (readOnly && t === Tok.Word && text === 'data' && prevText === 'export') {
        return issue('sql-not-read-only', 'EXPORT DATA in a read-only query', lx.start, lx.end);
      } else if (text !== '') {
        pending = {
          text,
          start: lx.start,
          end: lx.end,
          afterDot: prevType === Tok.Dot,
          afterAs: prevText === 'as',
          afterCharacter: prevText === 'character' || prevText === 'char',
          afterFor: prevText === 'for',
        };
      }
    } else if (readOnly && isFirstCodeWord(codeInStatement) && t !== Tok.LParen) {
      return issue('sql-parse-error', 'not an SQL statement', lx.start, lx.end);
    }
    prevType = t;
    prevText = t === Tok.Word ? lx.text : '';
  }
  return undefined;
}

function backtickWrapped(value: string, start: number, end: number): boolean {
  return start > 0 && value.charCodeAt(start - 1) === 96 && value.charCodeAt(end) === 96;
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
