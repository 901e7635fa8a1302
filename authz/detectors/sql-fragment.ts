/**
 * `sql-fragment` arguments: a value a server may splice into SQL (`WHERE name = '<value>'`,
 * `WHERE id = <value>`). In the spirit of libinjection (tokenise, then judge the token shape
 * rather than grep for words) but with its own rules: the value is lexed in each context it
 * could land in — bare, after a single quote, after a double quote; with and without
 * backslash escapes — and flagged when, in some context, it changes the query's structure:
 *
 * - in a quote context the quote must close *into SQL*: the first code token after the
 *   break has to be something a query could continue with (an operator, AND/OR, `)`, `;`,
 *   a comment, UNION, ORDER BY …). `O'Brien` closes into the bare word `Brien`, which no
 *   query accepts, so that context is discarded;
 * - then structural signals decide: UNION SELECT, stacked statements, comments that
 *   truncate, tautologies and boolean/time-based probes (AND/OR followed by a comparison
 *   or a function call), sub-selects, ORDER BY n, system variables and catalogs, CASE WHEN,
 *   INTO OUTFILE, and function calls typical of injection.
 *
 * Values holding `%XX` escapes are also judged after one and two rounds of URL decoding,
 * because such a value may be forwarded into a query string that a backend decodes — with
 * IIS's `%uXXXX` and overlong UTF-8 forms of ASCII read as lenient decoders read them. In any
 * candidate, control characters count as whitespace between tokens, as SQL Server counts them.
 */
import type { ArgumentRule } from '../api/types.js';
import type { DetectorFinding } from './types.js';
import { SqlLexer, Tok, type SqlDialect, type TokenType } from './sql-tokenizer.js';
import { decodeCharacterReferences, hasPercentEscape, hexValue, percentUnitAt } from './decode.js';
import { excerptAround } from './excerpt.js';

/** Lexing rules for fragments: the union of what the common dialects treat as strings and comments. */
const FRAGMENT: SqlDialect = {
  name: 'fragment',
  backslashEscapes: false,
  doubleQuoteIsString: true,
  hashComments: true,
  dashCommentNeedsSpace: true,
  nestedComments: false,
  bracketIdentifiers: false,
  backtickIdentifiers: true,
  dollarQuotes: false,
  execComments: true,
  escapeStrings: false,
};
const FRAGMENT_BACKSLASH: SqlDialect = { ...FRAGMENT, name: 'fragment-backslash', backslashEscapes: true };
/** After a quote break every dialect's `--` counts (SQL Server and PostgreSQL need no space). */
const FRAGMENT_QUOTED: SqlDialect = { ...FRAGMENT, name: 'fragment-quoted', dashCommentNeedsSpace: false };
const FRAGMENT_QUOTED_BACKSLASH: SqlDialect = { ...FRAGMENT_QUOTED, name: 'fragment-quoted-backslash', backslashEscapes: true };

const QUOTE = 39;
const DQUOTE = 34;

/** Token classes, one character each (as in libinjection's fingerprints, but our own set). */
type Cls =
  | 'U' // union
  | 'S' // select
  | 'E' // statement keyword
  | '&' // and / or / xor / && / ||
  | 'N' // not
  | '=' // comparison (symbolic, or like / in / is / between …)
  | 'B' // clause keyword (order, group, having, limit, into, procedure, offset)
  | 'k' // other keyword
  | 'n' // bare word
  | '1' // number, or the constants true / false / null
  | 's' // string
  | 'v' // @variable
  | 'V' // @@system variable
  | 'o' // other operator (arithmetic, bitwise, concatenation, div, mod)
  | '(' | ')' | ',' | '.' | ';'
  | 'c' // comment
  | '?'; // anything else

const STATEMENT_WORDS = [
  'insert', 'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'exec', 'execute', 'shutdown', 'grant', 'revoke',
  'rename', 'merge', 'call', 'handler', 'kill', 'backup', 'restore', 'dbcc', 'reconfigure', 'bulk', 'copy', 'commit',
  'rollback', 'waitfor', 'declare', 'load', 'begin', 'goto', 'if', 'while', 'print', 'use',
];

const KEYWORDS: ReadonlyMap<string, Cls> = new Map<string, Cls>([
  ['union', 'U'],
  ['select', 'S'],
  ...STATEMENT_WORDS.map((w): [string, Cls] => [w, 'E']),
  // EQV and IMP are Microsoft Access's logical operators.
  ['and', '&'], ['or', '&'], ['xor', '&'], ['eqv', '&'], ['imp', '&'],
  ['not', 'N'],
  ...['like', 'rlike', 'regexp', 'ilike', 'is', 'in', 'between', 'sounds', 'glob'].map((w): [string, Cls] => [w, '=']),
  ...['order', 'group', 'having', 'limit', 'into', 'procedure', 'offset'].map((w): [string, Cls] => [w, 'B']),
  ...['true', 'false', 'null'].map((w): [string, Cls] => [w, '1']),
  ...['div', 'mod', 'binary'].map((w): [string, Cls] => [w, 'o']),
  ...['from', 'where', 'case', 'when', 'then', 'else', 'end', 'all', 'distinct', 'by', 'as', 'collate', 'outfile',
    'dumpfile', 'delay', 'set', 'top', 'escape', 'exists'].map((w): [string, Cls] => [w, 'k']),
]);

const COMPARISON_OPS = new Set(['=', '<', '>', '<=', '>=', '<>', '!=', '<=>', '!<', '!>', '^=', ':=', '==']);
const LOGIC_OPS = new Set(['&&', '||']);

/** Statements that are an attack as soon as they follow `;` or a closing quote. */
const STRONG_STATEMENTS = new Set([
  'insert', 'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'shutdown', 'grant', 'revoke', 'rename', 'merge',
  'dbcc', 'reconfigure', 'waitfor', 'declare', 'commit', 'rollback', 'bulk',
]);

/** DDL objects: `DROP TABLE`, `CREATE USER` … (a bare value that *starts* with a statement). */
const STATEMENT_OBJECTS = new Set([
  'table', 'database', 'user', 'login', 'view', 'procedure', 'function', 'index', 'trigger', 'schema', 'role',
  'temporary', 'into', 'from', 'log', 'proc', 'assembly', 'extension', 'server',
]);

/** Calls that only make sense as time-based probes. */
const TIME_FUNCTIONS = new Set(['sleep', 'benchmark', 'pg_sleep', 'pg_sleep_for', 'pg_sleep_until', 'randomblob', 'generate_series']);

/** Calls typical of injected expressions (data extraction, encoding tricks, error-based probes). */
const INJECTION_FUNCTIONS = new Set([
  'char', 'chr', 'nchar', 'concat', 'concat_ws', 'group_concat', 'string_agg', 'listagg', 'version', 'database', 'user',
  'current_user', 'system_user', 'session_user', 'schema', 'db_name', 'user_name', 'load_file', 'extractvalue',
  'updatexml', 'unhex', 'hex', 'ascii', 'ord', 'substring', 'substr', 'mid', 'left', 'right', 'if', 'iif', 'ifnull',
  'nullif', 'coalesce', 'elt', 'make_set', 'name_const', 'exp', 'floor', 'rand', 'cast', 'convert', 'md5', 'sha1',
  'xmltype', 'length', 'len', 'char_length', 'bin', 'conv', 'row_count', 'found_rows', 'last_insert_id', 'count',
  'pi', 'now', 'sysdate', 'current_date', 'current_database', 'current_setting', 'json_keys', 'gtid_subset',
  'polygon', 'multipoint', 'geometrycollection', 'linestring', 'multilinestring', 'multipolygon', 'to_char',
  'to_number', 'instr', 'locate', 'position', 'reverse', 'lower', 'upper', 'trim', 'lpad', 'rpad', 'repeat', 'space',
  'soundex', 'quote', 'unicode', 'typeof', 'sqlite_version', 'zeroblob', 'decode', 'encode', 'to_hex',
  'convert_from', 'query_to_xml', 'xmlagg', 'xmlelement', 'array_agg', 'openrowset', 'opendatasource',
  'fn_varbintohexstr', 'is_srvrolemember', 'has_dbaccess', 'host_name', 'find_in_set', 'strcmp', 'pg_read_file',
  'pg_ls_dir', 'lo_import', 'dblink', 'xp_cmdshell', 'get_host_address', 'get_host_name',
]);

/** Niladic functions that read who and where the session is (`SELECT current_user`). */
const SESSION_VALUES = new Set(['current_user', 'session_user', 'system_user', 'current_database', 'current_schema', 'user']);

/** Qualifiers of Oracle / SQL Server packages used for out-of-band and time-based probes. */
const INJECTION_PACKAGES = new Set(['utl_inaddr', 'utl_http', 'dbms_pipe', 'dbms_lock', 'dbms_xmlgen', 'ctxsys', 'sys', 'master', 'dbms_java']);

/**
 * Oracle packages for network, files, timing, error-based extraction and dynamic SQL,
 * referenced as `pkg.member` (`dbms_stats.gather_table_stats` is a DBA's search term).
 */
const OUT_OF_BAND_PACKAGE = /^(utl_(http|inaddr|tcp|smtp|file|dbws|url)|dbms_(pipe|lock|xmlgen|xmlquery|java|sql|scheduler|utility|ldap|aw_xml|export_extension|session)|ctxsys)$/;

/** Catalog names an ordinary value never mentions. */
const CATALOG_WORDS = new Set([
  'information_schema', 'sqlite_master', 'sqlite_schema', 'msysobjects', 'all_tables', 'all_tab_columns', 'user_tables',
  'user_tab_columns', 'pg_catalog', 'pg_tables', 'sysibm', 'syscat', 'sysobjects', 'syscolumns', 'sysdatabases',
  'pg_shadow', 'pg_user', 'pg_authid', 'dba_users', 'all_users', 'sysxlogins', 'sql_logins',
]);

interface Signal {
  readonly rule: string;
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

interface Item {
  readonly cls: Cls;
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/** A rule that fires (or not) depending on the next code token. */
interface Pending {
  readonly test: (next: Item) => boolean;
  readonly rule: string;
  readonly message: string;
  readonly start: number;
}

const HISTORY = 8;
/** Tokens examined after AND/OR for a comparison or call. */
const LOGIC_REACH = 5;

function classify(type: TokenType, text: string): Cls {
  switch (type) {
    case Tok.Word:
      return KEYWORDS.get(text) ?? 'n';
    case Tok.QuotedIdent:
      return 'n';
    case Tok.Variable:
      return text.startsWith('@@') ? 'V' : 'v';
    case Tok.Number:
      return '1';
    case Tok.String:
      return 's';
    case Tok.Operator:
      if (COMPARISON_OPS.has(text)) return '=';
      if (LOGIC_OPS.has(text)) return '&';
      return 'o';
    case Tok.LParen:
      return '(';
    case Tok.RParen:
      return ')';
    case Tok.Comma:
      return ',';
    case Tok.Dot:
      return '.';
    case Tok.Semicolon:
      return ';';
    case Tok.Comment:
      return 'c';
    default:
      return '?';
  }
}

function isOperand(c: Cls | undefined): boolean {
  return c === '1' || c === 's' || c === 'n' || c === 'v' || c === 'V' || c === ')';
}

/**
 * The constants probes OR in: TRUE, 1, or a repeat of the left operand (`7 OR 7`). Two
 * different numbers (`1950 or 1960`) read as a range someone searched for.
 */
function isProbeConstant(item: Item, left: Item | undefined): boolean {
  if (item.cls !== '1') return false;
  return item.text === 'true' || item.text === '1' || (left?.cls === '1' && left.text === item.text && item.text !== 'null' && item.text !== 'false' && item.text !== '0');
}

function isLiteral(c: Cls | undefined): boolean {
  return c === '1' || c === 's';
}

/** Tokens that are values on their own (two in a row make no SQL). */
function isValue(c: Cls): boolean {
  return c === '1' || c === 's' || c === 'n' || c === 'v' || c === 'V';
}

/** `=`, `<>`, `<=` …, as opposed to LIKE / IN / IS. */
function isSymbolic(op: string): boolean {
  const c = op.charCodeAt(0);
  return c < 97 || c > 122;
}

function isNumberText(text: string): boolean {
  const c = text.charCodeAt(0);
  return (c >= 48 && c <= 57) || c === 46;
}

function isWordStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

/** What may directly follow a closed string literal in a real query. */
function continuesAfterString(item: Item): boolean {
  switch (item.cls) {
    case '&': case '=': case 'o': case ')': case ';': case 'c': case 'U': case 'B': case 'N': case ',': case 's':
    case 'E': case 'S':
      return true;
    case 'k':
      return ['collate', 'as', 'escape', 'from', 'where', 'into'].includes(item.text);
    default:
      return false;
  }
}

/** Whether `next` is a right-hand side that makes `cmp` a complete comparison. */
function completesComparison(cmp: Item, next: Item): boolean {
  switch (cmp.text) {
    case 'in':
      return next.cls === '(';
    case 'is':
      return next.cls === '1' || next.cls === 'N';
    case 'like': case 'rlike': case 'regexp': case 'ilike': case 'glob': case 'between': case 'sounds':
      return isLiteral(next.cls) || next.cls === 'v' || next.cls === '(' || next.text === 'like';
    default:
      return isOperand(next.cls) || next.cls === '(' || next.cls === 'o' || next.cls === 'N';
  }
}

/** After `EXEC`, `CALL`, `LOAD` …: does the next token make it a statement? */
/**
 * Whether `object` can follow `verb` in a statement that opens a value: `DROP TABLE`,
 * `DELETE FROM`, `INSERT INTO` — but not `Delete User`, `Update User` (titles, not SQL).
 */
function objectFits(verb: string, object: string): boolean {
  if (verb === 'delete') return object === 'from';
  if (verb === 'insert') return object === 'into';
  if (verb === 'update') return false;
  return STATEMENT_OBJECTS.has(object);
}

const DROP_OPTIONS = new Set(['cascade', 'restrict', 'purge', 'force']);

/**
 * Whether the text after `DROP <object>` is a name list the statement accepts —
 * `[IF EXISTS] name[.name] [, name …] [CASCADE|RESTRICT|PURGE]` — up to the end, `;` or a
 * comment. `Drop Table Top Games` names `Top` and then runs on with another word: a title.
 */
function dropTailEnds(value: string, from: number): boolean {
  let i = from;
  let names = 0;
  let expectName = true;
  for (let steps = 0; steps < 64; steps++) {
    while (i < value.length && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
    if (i >= value.length) return names > 0;
    const c = value.charCodeAt(i);
    if (c === 0x3b || c === 0x23 || (c === 0x2d && value.charCodeAt(i + 1) === 0x2d) || (c === 0x2f && value.charCodeAt(i + 1) === 0x2a)) return names > 0;
    if (c === 0x2c || c === 0x2e) {
      if (expectName) return false;
      expectName = true;
      i++;
      continue;
    }
    let end = i;
    if (c === 0x60 || c === 0x22 || c === 0x5b) {
      const close = value.indexOf(c === 0x5b ? ']' : value[i] as string, i + 1);
      if (close < 0) return false;
      end = close + 1;
    } else {
      while (end < value.length && (isWordStart(value.charCodeAt(end)) || value.charCodeAt(end) === 0x5f || value.charCodeAt(end) === 0x24)) end++;
      if (end === i) return false;
    }
    const word = value.slice(i, end).toLowerCase();
    i = end;
    if (names === 0 && expectName && word === 'if') {
      if (nextWord(value, i) !== 'exists') return false;
      while (i < value.length && !isWordStart(value.charCodeAt(i))) i++;
      while (i < value.length && isWordStart(value.charCodeAt(i))) i++;
      continue;
    }
    if (!expectName) {
      if (!DROP_OPTIONS.has(word)) return false;
      continue;
    }
    names++;
    expectName = false;
  }
  return true;
}

/** `SELECT *` goes on with FROM, a list separator or nothing; `Select*Star` goes on with a word. */
function starEndsList(value: string, at: number): boolean {
  const next = nextWord(value, at);
  return next === '' || next === 'from' || next === 'into' || next === ',' || next === ';' || next === ')' || next === '-' || next === '#' || next === '/';
}

/** The next word of `value` after `from` (spaces skipped), lower-case; punctuation as itself; '' at the end. */
function nextWord(value: string, from: number): string {
  let i = from;
  while (i < value.length && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i++;
  if (i >= value.length) return '';
  if (!isWordStart(value.charCodeAt(i))) return value[i] as string;
  const start = i;
  while (i < value.length && i - start < 16 && isWordStart(value.charCodeAt(i))) i++;
  return value.slice(start, i).toLowerCase();
}

/**
 * Statements that open a value need their own grammar to continue: `CALL proc(`, `COPY t
 * FROM|TO`. `Call of Duty` and `Copy that` are titles.
 */
function continuesStatement(verb: string, value: string, at: number): boolean {
  const next = nextWord(value, at);
  const ends = next === '' || next === ';' || next === '-' || next === '#' || next === '/';
  if (verb === 'call') return next === '(' || ends;
  if (verb === 'copy') return next === 'from' || next === 'to' || next === '(';
  // `USE db`, `PRINT @@version`, `GOTO label` are complete; `Print the current status` is prose.
  if (verb === 'use' || verb === 'print') return ends;
  // `GOTO label` on its own jumps nowhere an attacker chose; it only matters after a break.
  if (verb === 'goto') return false;
  return true;
}

/** `UPDATE t SET`, `GRANT ALL ON`, `REVOKE SELECT ON … FROM`: the verb's own clause follows the name. */
function clauseFollows(verb: string, value: string, name: Item): boolean {
  if (name.cls !== 'n' && name.cls !== 'k' && name.cls !== 'S' && name.cls !== 'E') return false;
  const next = nextWord(value, name.end);
  if (verb === 'update') return next === 'set';
  if (verb === 'grant' || verb === 'revoke') return next === 'on' || next === 'to' || next === 'from' || next === 'privileges';
  return false;
}

function completesStatement(word: string, next: Item): boolean {
  switch (word) {
    case 'exec': case 'execute':
      return next.cls === '(' || next.cls === 's' || next.cls === 'v' || next.text === 'immediate' || next.text === 'as' ||
        next.text.startsWith('xp_') || next.text.startsWith('sp_') || next.text.startsWith('master');
    case 'begin':
      return next.cls === 'E' || next.text === 'try' || next.text === 'tran' || next.text === 'transaction';
    case 'goto':
      return next.cls === 'n';
    case 'print':
      // PRINT takes a string or a variable; `Print shop` is a sign.
      return next.cls === 's' || next.cls === 'v';
    case 'if':
      return next.text === 'exists' || next.cls === '(' || next.cls === 'N' || next.cls === '1' || next.cls === 'v';
    case 'while':
      return next.cls === '(' || next.cls === '1';
    case 'use':
      return next.cls === 'n' && next.text.length > 0;
    case 'load':
      return next.text === 'data' || next.text === 'xml' || next.text === 'file';
    case 'backup': case 'restore':
      return next.text === 'database' || next.text === 'log';
    case 'copy':
      return next.cls === 'n' || next.cls === '(';
    case 'kill':
      return next.cls === '1';
    case 'call':
      return next.cls === 'n';
    default:
      return STRONG_STATEMENTS.has(word) && next.cls !== '?';
  }
}

/**
 * Lexes `value` in one context and returns the first structural signal. `quote` is 0 for the
 * bare context, or the quote character the value is spliced after. With `unionOnly`, only
 * UNION SELECT is looked for (the quote-blind pass); with `commentsAsSpace`, comments only
 * separate tokens and raise nothing themselves.
 */
function analyse(value: string, quote: number, dialect: SqlDialect, unionOnly = false, commentsAsSpace = false): Signal | undefined {
  const lx = new SqlLexer(value, dialect, quote);
  const hist: Item[] = [];
  const at = (back: number): Item | undefined => hist[hist.length - back];
  const sig = (rule: string, message: string, start: number, end: number): Signal => ({ rule, message, start, end });

  let codeSeen = 0;
  /** Code tokens since the quote break that were only `)` or `;`. */
  let breakOnly = 0;
  /** Code tokens since the last AND/OR (-1: none pending). */
  let sinceLogic = -1;
  let logicAt = 0;
  let logicAtStart = false;
  let depth = 0;
  let unbalancedParen = false;
  let arithmetic = false;
  let caseAt = -1;
  let pending: Pending | undefined;
  /** The value ends inside a string opened by the context's own quote (the template closes it). */
  let balancedByTemplate = false;
  /** Two operands in a row (`Brien s`, `4 "`): no SQL grammar accepts this, so the code is not a query. */
  let invalid = false;
  let sawOr = false;
  let sawAnd = false;
  let comparisons = 0;

  /** Where the value's own closing quote sits (quote contexts). */
  let breakAt = -1;
  /** The value opens with the closing quote (only blanks before it): no prose word owns it. */
  let leadBreak = false;
  /** Code tokens after a leading break: AND/OR/HAVING right after it, then anything. */
  let leadLogic: Item | undefined;
  let afterLeadLogic = 0;
  let leadNext: Cls | undefined;
  /** The first code token after the quote break. */
  let breakInto: Cls | undefined;
  let minDepth = 0;
  /** AND/OR right after a `)` that closed below the value's own nesting (`1)) or ((1`). */
  let parenLogicAt = -1;
  /** The last string token runs to the end of the value unterminated (bare context). */
  let openString = false;
  if (quote !== 0) {
    // The lexer starts inside the string: its first token is that string.
    lx.next();
    if (!lx.closed) return undefined;
    breakAt = lx.end - 1;
    leadBreak = isBlank(value, 0, breakAt);
  }

  for (;;) {
    const type = lx.next();
    if (lx.sawExecComment) return sig('sqli-comment', 'MySQL executable comment /*!', lx.start, lx.end);
    if (type === Tok.End) {
      if (unionOnly) return undefined;
      const last = at(1);
      if (quote !== 0 && balancedByTemplate && !invalid) {
        // `x' OR 'a'='a`, `A' & 'B`: the value closes its own quote, adds SQL and reopens a
        // string for the template's closing quote. A double quote is far more often an inch
        // mark than a string delimiter (and an identifier in ANSI SQL), so only OR counts there.
        if (sawOr || (quote === QUOTE && (sawAnd || arithmetic))) {
          return sig('sqli-quote-break', 'SQL between a closing quote and a reopened string', logicAt, value.length);
        }
      }
      // `' or name`, `' having 1`: a value that *starts* by closing the quote has no word
      // the quote could belong to (unlike `parents' or guardians'`), and goes on into logic.
      // A value wrapped in double quotes is usually a phrase search (`"AND WHEN THE KIDS…"`): there
      // the quote must be followed by `)` or the logic by a group to count.
      if (leadLogic !== undefined && afterLeadLogic > 0 && (quote === QUOTE || breakOnly > 0 || leadNext === '(')) {
        return sig('sqli-quote-break', `value opens by closing the quote, then ${leadLogic.text.toUpperCase()}`, leadLogic.start, value.length);
      }
      // `1)) or ((1`: closes groups the value never opened, joins AND/OR and reopens as many
      // for the template's own closing parentheses. `option a) or b)` never reopens.
      if (parenLogicAt >= 0 && depth === 0 && !invalid) {
        return sig('sqli-paren-break', 'closing parenthesis, AND/OR, then reopened', parenLogicAt, value.length);
      }
      // `where's my order`: an apostrophe that never closes is prose, not a constant.
      if (quote === 0 && logicAtStart && sinceLogic === 1 && isLiteral(last?.cls) && !(last?.cls === 's' && openString)) {
        return sig('sqli-tautology', 'AND/OR with a constant', logicAt, value.length);
      }
      if (last?.cls === 'U' && (at(2)?.cls === '1' || at(2)?.cls === ')')) return sig('sqli-union', 'UNION after a value', last.start, last.end);
      // `1 OR 1`, `id OR true`: OR with a true constant makes a numeric comparison always true.
      const or = at(2);
      if (quote === 0 && !invalid && last !== undefined && or?.cls === '&' && (or.text === 'or' || or.text === '||') && isOperand(at(3)?.cls) && isProbeConstant(last, at(3))) {
        return sig('sqli-tautology', 'OR with a true constant', or.start, last.end);
      }
      return undefined;
    }
    let text = lx.text;
    let cls = classify(type, text);
    // Oracle's BINARY_FLOAT / BINARY_DOUBLE suffixes: `1fUNION` lexes as `1f UNION`.
    if (cls === 'n' && hist.length > 0 && isFloatSuffixed(at(1), lx.start, text)) {
      const keyword = KEYWORDS.get(text.slice(1));
      if (keyword !== undefined) {
        text = text.slice(1);
        cls = keyword;
      }
    }
    const item: Item = { cls, text, start: lx.start, end: lx.end };
    balancedByTemplate = cls === 's' && !lx.closed && lx.delimiter === quote;
    openString = cls === 's' && !lx.closed;
    const p1 = at(1);
    const p2 = at(2);

    if (cls === 'c') {
      if (unionOnly || commentsAsSpace) continue;
      // `x' --INFANT`: a dash comment glued to a word after a space is more likely prose.
      const proseDashes = lx.delimiter === 45 && lx.spaceBefore && isWordStart(value.charCodeAt(item.start + 2));
      if (quote !== 0 && codeSeen === breakOnly && lx.delimiter !== 35 && !proseDashes) {
        return sig('sqli-comment', 'comment right after a closing quote', item.start, item.end);
      }
      // `admin' #`: an empty hash comment that cuts the rest of the query. A `#` with text is
      // more often a number sign (`"#2 MOM"`), and a quote after a digit is a foot/inch mark.
      if (quote !== 0 && codeSeen === breakOnly && lx.delimiter === 35 && item.end === value.length && isBlank(value, item.start + 1, item.end) && !digitBefore(value, breakAt)) {
        return sig('sqli-comment', 'empty # comment right after a closing quote', item.start, item.end);
      }
      if (quote !== 0 && !invalid && codeSeen > breakOnly && (arithmetic || sawOr || sawAnd || comparisons > 0) && !proseDashes) {
        return sig('sqli-comment', 'expression after a closing quote, then a comment', item.start, item.end);
      }
      if (quote === 0 && (p1?.cls === 'v' || p1?.cls === 'V')) return sig('sqli-comment', 'comment after a variable', item.start, item.end);
      // `',NULL) … /*`: the quote closes into a list and a `)` the value never opened (an
      // INSERT … VALUES breakout), and a comment cuts the rest of the template.
      if (quote !== 0 && depth < 0 && (breakInto === ',' || breakInto === ')') && !proseDashes) {
        return sig('sqli-comment', 'closing quote, list and parenthesis, then a comment', item.start, item.end);
      }
      // SQL Server leaves any statement that mentions sp_password out of its trace log.
      if (lx.delimiter === 45 && containsWord(value, item.start + 2, item.end, 'sp_password')) {
        return sig('sqli-comment', 'comment naming sp_password (hides the query from the trace log)', item.start, item.end);
      }
      const blockInline = lx.delimiter === 42 && lx.closed;
      const numeric = p1?.cls === '1' && isNumberText(p1.text);
      if (quote === 0 && !blockInline && (p1?.cls === ')' || (numeric && (p2 === undefined || p2.cls === 'o')))) {
        return sig('sqli-comment', 'comment truncating after a value', item.start, item.end);
      }
      // In a bare value, a word before the comment is prose (`rock and roll -- live`); under
      // the glued-dash reading only a constant may precede it.
      if (sinceLogic >= 1 && sinceLogic <= LOGIC_REACH && (dialect === FRAGMENT_GLUED_DASH || (quote === 0 && p1?.cls === 'n') ? isLiteral(p1?.cls) : isOperand(p1?.cls)) && !invalid) {
        return sig('sqli-tautology', 'AND/OR with a constant, then a comment', logicAt, item.end);
      }
      if (p1 !== undefined && isLiteral(p1.cls) && at(2)?.cls === '=' && at(3)?.cls === p1.cls) {
        return sig('sqli-tautology', 'constant comparison, then a comment', at(3)?.start ?? p1.start, item.end);
      }
      continue;
    }

    if (quote !== 0 && codeSeen === 0 && !continuesAfterString(item) && !(leadBreak && cls === '(')) return undefined;
    if (codeSeen === 0) breakInto = cls;
    if (isValue(cls) && p1 !== undefined && (isValue(p1.cls) || p1.cls === ')') && !(cls === 's' && p1.cls === 's')) invalid = true;
    codeSeen++;
    if (cls === ')' || cls === ';') {
      if (codeSeen - 1 === breakOnly) breakOnly++;
    }
    if (leadLogic !== undefined && afterLeadLogic++ === 0) leadNext = cls;
    else if (leadBreak && codeSeen - 1 === breakOnly && (cls === '&' || text === 'having')) leadLogic = item;

    if (pending !== undefined) {
      const pend = pending;
      pending = undefined;
      if (pend.test(item)) return sig(pend.rule, pend.message, pend.start, item.end);
    }

    if (unionOnly) {
      if (cls === 'S' && (p1?.cls === 'U' || ((p1?.text === 'all' || p1?.text === 'distinct') && p2?.cls === 'U'))) {
        return sig('sqli-union', 'UNION SELECT', (p1.cls === 'U' ? p1 : p2 ?? p1).start, item.end);
      }
      push(hist, item);
      continue;
    }

    // `4521=4521`, `'a'='a'`: a constant compared with itself is always true — sqlmap's
    // boolean probes put it inside calls and parentheses (`ELT(5=5,1)`, `(5=5)*3`).
    // A number needs a call, group or AND/OR around it: `5=5 piece puzzle` is a product name.
    const framed = cls === 's' || (at(3) !== undefined && (at(3)?.cls === '(' || at(3)?.cls === ',' || at(3)?.cls === '&' || at(3)?.cls === 'N'));
    if (isLiteral(cls) && framed && text !== 'null' && p1?.cls === '=' && (p1.text === '=' || p1.text === '==' || p1.text === '<=>') && p2?.cls === cls && lx.closed) {
      if (value.slice(p2.start, p2.end).toLowerCase() === value.slice(item.start, item.end).toLowerCase()) {
        return sig('sqli-tautology', 'constant compared with itself', p2.start, item.end);
      }
    }
    // `UTL_HTTP.REQUEST`, `dbms_pipe.receive_message`: Oracle packages for network and timing.
    if (cls === 'n' && p1?.cls === '.' && p2 !== undefined && OUT_OF_BAND_PACKAGE.test(p2.text)) {
      return sig('sqli-function', `reference into package ${p2.text}`, p2.start, item.end);
    }
    const statementStart = p1?.cls === ';' || (quote !== 0 && codeSeen === breakOnly + 1 && p1?.cls !== ')');

    switch (cls) {
      case 'S':
        if (p1?.cls === 'U' || ((p1?.text === 'all' || p1?.text === 'distinct') && p2?.cls === 'U')) {
          return sig('sqli-union', 'UNION SELECT', (p1.cls === 'U' ? p1 : p2 ?? p1).start, item.end);
        }
        if (p1?.cls === '(') return sig('sqli-subquery', 'sub-select', p1.start, item.end);
        if (statementStart) return sig('sqli-stacked', 'SELECT statement after a break', item.start, item.end);
        if (p1?.cls === '&') return sig('sqli-subquery', 'AND/OR SELECT', p1.start, item.end);
        pending = {
          test: (n) => n.cls === 'v' || n.cls === 'V' || (n.text === '*' && starEndsList(value, n.end)) || (n.cls === '1' && quote !== 0) || SESSION_VALUES.has(n.text),
          rule: 'sqli-subquery',
          message: 'SELECT of an expression',
          start: item.start,
        };
        break;
      case 'E':
        if (text === 'declare' && quote === 0 && p1 === undefined) {
          pending = { test: (n) => n.cls === 'v', rule: 'sqli-stacked', message: 'DECLARE @variable', start: item.start };
        } else if (statementStart || p1 === undefined) {
          if (p1?.cls === ';' && STRONG_STATEMENTS.has(text)) {
            return sig('sqli-stacked', `${text.toUpperCase()} statement after a break`, (p1 ?? item).start, item.end);
          }
          const word = text;
          const first = (p1 === undefined && !statementStart) || (p1?.cls !== ';' && STRONG_STATEMENTS.has(text));
          pending = {
            test: (n) =>
              first
                ? (objectFits(word, n.text) && (word !== 'drop' || dropTailEnds(value, n.end))) || clauseFollows(word, value, n) || (word !== 'drop' && word !== 'create' && completesStatement(word, n) && !STRONG_STATEMENTS.has(word) && continuesStatement(word, value, n.end))
                : completesStatement(word, n),
            rule: 'sqli-stacked',
            message: `${word.toUpperCase()} statement`,
            start: item.start,
          };
        } else if (text === 'exec' || text === 'execute') {
          pending = { test: (n) => completesStatement(text, n), rule: 'sqli-stacked', message: `${text.toUpperCase()} call`, start: item.start };
        }
        break;
      case '(':
        depth++;
        if (p1?.cls === 'U') return sig('sqli-union', 'UNION (', p1.start, item.end);
        if (p1 !== undefined && (p1.cls === 'n' || p1.cls === 'k' || p1.cls === 'E' || p1.cls === 'S' || p1.cls === '1')) {
          const fn = p1.text;
          if (TIME_FUNCTIONS.has(fn)) return sig('sqli-time', `time-based probe ${fn}()`, p1.start, item.end);
          const before = p2?.cls;
          const inExpression = p2 === undefined ? quote !== 0 : !isOperand(before) || before === ')';
          if (INJECTION_FUNCTIONS.has(fn) && inExpression && (p2 !== undefined || quote !== 0)) {
            return sig('sqli-function', `injection-typical call ${fn}()`, p1.start, item.end);
          }
          if (p2?.cls === '.' && at(3) !== undefined && INJECTION_PACKAGES.has(at(3)?.text ?? '')) {
            return sig('sqli-function', `call into package ${at(3)?.text ?? ''}`, at(3)?.start ?? p1.start, item.end);
          }
          if (sinceLogic >= 1 && sinceLogic <= 2 && p1.cls === 'n' && p2 !== undefined && (p2.cls === '&' || p2.cls === 'N' || p2.cls === '(')) {
            return sig('sqli-tautology', `AND/OR followed by a call to ${fn}()`, logicAt, item.end);
          }
          if (p1.cls === 'S') return sig('sqli-subquery', 'SELECT(', p1.start, item.end);
        }
        break;
      case ')':
        depth--;
        if (depth < 0) unbalancedParen = true;
        if (depth < minDepth) minDepth = depth;
        // `having (1 or 1)`, `where (id or true)`: a group that is always true.
        if (p1 !== undefined && p2?.cls === '&' && (p2.text === 'or' || p2.text === '||') && isOperand(at(3)?.cls) && at(4)?.cls === '(' && isProbeConstant(p1, at(3))) {
          return sig('sqli-tautology', 'OR with a true constant in parentheses', at(4)?.start ?? p2.start, item.end);
        }
        break;
      case '=':
        comparisons++;
        if (sinceLogic >= 1 && sinceLogic <= LOGIC_REACH && (isOperand(p1?.cls) || (p1?.cls === 'N' && isOperand(p2?.cls)))) {
          const cmp = item;
          pending = {
            test: (n) => completesComparison(cmp, n),
            rule: 'sqli-tautology',
            message: 'AND/OR followed by a comparison',
            start: logicAt,
          };
        } else if (quote === QUOTE && codeSeen === breakOnly + 1 && isSymbolic(text)) {
          pending = {
            test: (n) => isLiteral(n.cls) || n.cls === 'v' || n.cls === 'V' || n.cls === '(' || n.cls === 'o',
            rule: 'sqli-tautology',
            message: 'comparison right after a closing quote',
            start: item.start,
          };
        }
        break;
      case 'V':
        return sig('sqli-system-variable', `system variable ${text}`, item.start, item.end);
      case 'v':
        if (p1?.text === 'declare') return sig('sqli-stacked', 'DECLARE @variable', p1.start, item.end);
        if (p1?.text === 'set' && p2?.cls === ';') return sig('sqli-stacked', 'stacked SET statement', p2.start, item.end);
        break;
      case 'n':
        if (CATALOG_WORDS.has(text)) return sig('sqli-catalog', `system catalog ${text}`, item.start, item.end);
        // MySQL `; DESC users`, `; SHOW TABLES`: stacked metadata statements.
        if (p1?.cls === ';' && (text === 'desc' || text === 'describe' || text === 'show')) {
          const verb = text;
          pending = { test: (n) => n.cls === 'n' && (verb !== 'show' || SHOW_OBJECTS.has(n.text)), rule: 'sqli-stacked', message: `${verb.toUpperCase()} statement after a break`, start: p1.start };
        }
        if (p1?.text === 'set' && p2?.cls === ';') {
          pending = { test: (n) => n.cls === '=', rule: 'sqli-stacked', message: 'stacked SET statement', start: p2.start };
        }
        break;
      case 'B':
        // MySQL `… PROCEDURE ANALYSE(…)` appended after a value (error-based extraction).
        if (text === 'procedure' && p1 !== undefined && (isLiteral(p1.cls) || p1.cls === ')')) {
          pending = { test: (n) => n.cls === 'n' && nextWord(value, n.end) === '(', rule: 'sqli-procedure', message: 'PROCEDURE clause after a value', start: item.start };
        }
        break;
      case 'k':
        if (text === 'case') caseAt = codeSeen;
        if (text === 'from' && p1?.cls === '1' && p2?.cls === 'S') return sig('sqli-subquery', 'SELECT constant FROM', p2.start, item.end);
        if (text === 'when' && caseAt > 0 && codeSeen - caseAt <= 8) return sig('sqli-case', 'CASE … WHEN', item.start, item.end);
        if ((text === 'outfile' || text === 'dumpfile') && p1?.text === 'into') return sig('sqli-outfile', `INTO ${text.toUpperCase()}`, p1.start, item.end);
        if ((text === 'delay' || text === 'time') && p1?.text === 'waitfor') return sig('sqli-time', 'WAITFOR DELAY', p1.start, item.end);
        if (text === 'by' && p1 !== undefined && (p1.text === 'order' || p1.text === 'group')) {
          // After a bare word (`what does ORDER BY do`) only a column number makes it a probe.
          if (quote !== 0 || (p2 !== undefined && isOperand(p2.cls) && p2.cls !== 'n')) return sig('sqli-order-by', `${p1.text.toUpperCase()} BY probe`, p1.start, item.end);
          const clause = p1;
          pending = { test: (n) => n.cls === '1', rule: 'sqli-order-by', message: `${clause.text.toUpperCase()} BY column number`, start: clause.start };
        }
        break;
      default:
        break;
    }
    if (unbalancedParen && p1?.cls === ')' && (cls === 'U' || cls === 'B' || text === 'from' || text === 'where')) {
      return sig('sqli-paren-break', `closing parenthesis followed by ${text.toUpperCase()}`, p1.start, item.end);
    }
    // In a single-quote context LIKE / REGEXP / SOUNDS LIKE join strings as well as `=` and `*` do.
    if (cls === 'o' || (cls === '=' && (isSymbolic(text) || (quote === QUOTE && text !== 'is' && text !== 'in')))) arithmetic = true;
    if (cls === '&') {
      if (text === 'and' || text === '&&') sawAnd = true;
      else sawOr = true;
      if (depth < 0 && depth === minDepth && p1?.cls === ')' && parenLogicAt < 0) parenLogicAt = p1.start;
    }

    if (cls === '&' || ((text === 'having' || text === 'where') && (p1 === undefined || isOperand(p1.cls)))) {
      if (p1 !== undefined && isLiteral(p1.cls) && p2?.cls === '=' && at(3)?.cls === p1.cls && at(3)?.text === p1.text && cls === '&') {
        return sig('sqli-tautology', 'constant comparison joined with AND/OR', at(3)?.start ?? p1.start, item.end);
      }
      // Bare context: AND/OR must follow a value (or open the fragment) to form a probe.
      if (quote !== 0 || p1 === undefined || isOperand(p1.cls)) {
        sinceLogic = 0;
        logicAt = item.start;
        logicAtStart = p1 === undefined;
      } else {
        sinceLogic = -1;
      }
    } else if (sinceLogic >= 0) {
      sinceLogic = cls === ';' ? -1 : sinceLogic + 1;
      if (sinceLogic > LOGIC_REACH) sinceLogic = -1;
    }
    push(hist, item);
  }
}

function isBlank(value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/** Whether the last non-blank character before `at` is a digit (`5' 10"`, `SOAP 1 '#`). */
function digitBefore(value: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (value.charCodeAt(i) === 0x20 || value.charCodeAt(i) === 0x09)) i--;
  const c = i >= 0 ? value.charCodeAt(i) : 0;
  return c >= 0x30 && c <= 0x39;
}

/** `1f` / `1d` right before `word` with no space: Oracle reads the letter as the number's type suffix. */
function isFloatSuffixed(prev: Item | undefined, start: number, word: string): boolean {
  if (prev?.cls !== '1' || prev.end !== start || !isNumberText(prev.text) || word.length < 3) return false;
  const c = word.charCodeAt(0);
  return c === 102 || c === 100;
}

/** Whether `value[from, to)` holds `word` (lower-case) case-insensitively, without allocating. */
function containsWord(value: string, from: number, to: number, word: string): boolean {
  for (let i = from; i + word.length <= to; i++) {
    let k = 0;
    for (; k < word.length; k++) {
      const c = value.charCodeAt(i + k);
      if ((c >= 65 && c <= 90 ? c + 32 : c) !== word.charCodeAt(k)) break;
    }
    if (k === word.length) return true;
  }
  return false;
}

const SHOW_OBJECTS = new Set(['tables', 'databases', 'schemas', 'columns', 'grants', 'variables', 'processlist', 'users', 'privileges']);

function push(hist: Item[], item: Item): void {
  hist.push(item);
  if (hist.length > HISTORY) hist.shift();
}

const QUOTE_BLIND: SqlDialect = { ...FRAGMENT, name: 'fragment-quote-blind', quotesAsText: true, nestedComments: true };
const FRAGMENT_NESTED: SqlDialect = { ...FRAGMENT, name: 'fragment-nested-comments', nestedComments: true };
/** `1 or 1--x`, `--sp_password`: SQL Server and PostgreSQL need no space after `--`. */
const FRAGMENT_GLUED_DASH: SqlDialect = { ...FRAGMENT, name: 'fragment-glued-dash', dashCommentNeedsSpace: false };
const GLUED_DASH_RULES = new Set(['sqli-tautology', 'sqli-comment']);
const UNION_WORD = /union/i;

/** Contexts worth lexing: a quote context only matters when the value holds that quote. */
function signalFor(value: string): Signal | undefined {
  const backslash = value.includes('\\');
  const bare = backslash ? [FRAGMENT, FRAGMENT_BACKSLASH] : [FRAGMENT];
  // PostgreSQL and SQL Server nest block comments; MySQL does not. Only matters with two `/*`.
  const open = value.indexOf('/*');
  if (open >= 0 && value.indexOf('/*', open + 2) >= 0) bare.push(FRAGMENT_NESTED);
  const quoted = backslash ? [FRAGMENT_QUOTED, FRAGMENT_QUOTED_BACKSLASH] : [FRAGMENT_QUOTED];
  for (const dialect of bare) {
    const s = analyse(value, 0, dialect);
    if (s !== undefined) return s;
  }
  if (hasGluedDashes(value)) {
    const s = analyse(value, 0, FRAGMENT_GLUED_DASH);
    if (s !== undefined && GLUED_DASH_RULES.has(s.rule) && (s.rule !== 'sqli-comment' || s.message.includes('sp_password'))) return s;
    // `-1--x⏎UNION--y⏎SELECT`: a comment that ends at a line break stands for whitespace
    // between keywords, so the code around it is read as if the comment were a space.
    if (gluedDashesEndAtNewline(value)) {
      const spaced = analyse(value, 0, FRAGMENT_GLUED_DASH, false, true);
      if (spaced !== undefined) return spaced;
    }
  }
  for (const dialect of quoted) {
    if (value.includes("'")) {
      const s = analyse(value, QUOTE, dialect);
      if (s !== undefined) return s;
    }
    if (value.includes('"')) {
      const s = analyse(value, DQUOTE, dialect);
      if (s !== undefined) return s;
    }
  }
  if ((value.includes("'") || value.includes('"') || value.includes('`') || open >= 0) && UNION_WORD.test(value)) {
    return analyse(value, 0, QUOTE_BLIND, true);
  }
  return undefined;
}

/** `--` followed by something other than a space (the bare MySQL reading saw no comment there). */
function hasGluedDashes(value: string): boolean {
  let i = value.indexOf('--');
  while (i >= 0) {
    const c = value.charCodeAt(i + 2);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && !Number.isNaN(c)) return true;
    i = value.indexOf('--', i + 2);
  }
  return false;
}

/**
 * Whether a glued `--` comment ends at a line break that more text follows, so the comment
 * separates code instead of cutting the rest: the first glued `--` lies before the last line
 * break that is followed by a non-blank character.
 */
function gluedDashesEndAtNewline(value: string): boolean {
  let last = value.length - 1;
  while (last >= 0 && isBlankCode(value.charCodeAt(last))) last--;
  let newline = last - 1;
  while (newline >= 0 && value.charCodeAt(newline) !== 0x0a && value.charCodeAt(newline) !== 0x0d) newline--;
  if (newline < 0) return false;
  let i = value.indexOf('--');
  while (i >= 0 && i < newline) {
    const c = value.charCodeAt(i + 2);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
    i = value.indexOf('--', i + 2);
  }
  return false;
}

function isBlankCode(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Control characters SQL Server reads as whitespace between tokens (it accepts 0x01–0x20;
 * MySQL and PostgreSQL add 0x0B and 0x0C to tab, line feed, carriage return and space), made
 * plain spaces so the lexer sees the gap: `-1\x04UNION\x01SELECT`. Same length, so offsets
 * hold. Undefined when the value has none the lexer does not already skip.
 */
function controlCharsAsSpaces(value: string): string | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c > 0x1f || (c >= 0x09 && c <= 0x0d)) continue;
    out ??= value.split('');
    out[i] = ' ';
  }
  return out?.join('');
}

/**
 * One round of query-string decoding (`+` is a space); undefined when nothing changes.
 * Besides `%XX` it reads IIS's `%uXXXX` (a UTF-16 code unit, as ASP's decoder does), and
 * folds overlong UTF-8 forms of ASCII (`%C0%A7` = `'`), which lenient decoders accept though
 * RFC 3629 §3 forbids them.
 */
export function percentDecodeOnce(value: string): string | undefined {
  if (!hasPercentEscape(value) && !value.includes('+')) return undefined;
  // Every escape is at least as long as the bytes it stands for; %uXXXX (6) needs at most 4.
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(value, 'utf8'));
  let len = 0;
  let changed = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 37 && i + 2 < value.length) {
      const unit = percentUnitAt(value, i);
      if (unit >= 0) {
        let cp = unit;
        let used = 6;
        if (unit >= 0xd800 && unit <= 0xdbff) {
          const low = percentUnitAt(value, i + 6);
          if (low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
            used = 12;
          }
        }
        // A lone surrogate has no UTF-8 form: leave the escape as it was.
        if (cp < 0xd800 || cp > 0xdfff) {
          len += bytes.write(String.fromCodePoint(cp), len, 'utf8');
          i += used - 1;
          changed = true;
          continue;
        }
      }
      const h = hexValue(value.charCodeAt(i + 1));
      const l = hexValue(value.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        bytes[len++] = h * 16 + l;
        i += 2;
        changed = true;
        continue;
      }
    }
    if (c === 43) {
      bytes[len++] = 32;
      changed = true;
      continue;
    }
    if (c < 0x80) {
      bytes[len++] = c;
    } else {
      // Copy the original code point's UTF-8 bytes.
      const cp = value.codePointAt(i) ?? c;
      const ch = String.fromCodePoint(cp);
      len += bytes.write(ch, len, 'utf8');
      if (cp > 0xffff) i++;
    }
  }
  if (!changed) return undefined;
  const out = bytes.subarray(0, foldOverlongAscii(bytes, len));
  // Bytes that are not UTF-8 (`%A0`, `%BF%27`) are read as Latin-1, as MySQL's default
  // character set and many legacy decoders would.
  const utf8 = out.toString('utf8');
  return utf8.includes('\uFFFD') && !value.includes('\uFFFD') ? out.toString('latin1') : utf8;
}

function isContinuation(b: number | undefined): boolean {
  return b !== undefined && b >= 0x80 && b <= 0xbf;
}

/**
 * Rewrites overlong encodings of ASCII in place — two bytes `C0|C1 xx`, three bytes
 * `E0 80|81 xx` — to the one byte they spell; returns the new length.
 */
function foldOverlongAscii(bytes: Buffer, len: number): number {
  let w = 0;
  for (let r = 0; r < len; r++) {
    const b = bytes[r] as number;
    if ((b === 0xc0 || b === 0xc1) && r + 1 < len && isContinuation(bytes[r + 1])) {
      bytes[w++] = ((b & 0x1f) << 6) | ((bytes[r + 1] as number) & 0x3f);
      r += 1;
    } else if (b === 0xe0 && r + 2 < len && (bytes[r + 1] === 0x80 || bytes[r + 1] === 0x81) && isContinuation(bytes[r + 2])) {
      bytes[w++] = (((bytes[r + 1] as number) & 0x3f) << 6) | ((bytes[r + 2] as number) & 0x3f);
      r += 2;
    } else {
      bytes[w++] = b;
    }
  }
  return w;
}

/**
 * Quote look-alikes that SQL Server's best-fit conversion to a code page (and some drivers)
 * turn into ASCII quotes: ‘ ’ ′ ʼ ＇ → `'`, “ ” ″ ＂ → `"`.
 */
const SINGLE_LOOKALIKES = new Set([0x2018, 0x2019, 0x2032, 0x02bc, 0xff07, 0x201b]);
const DOUBLE_LOOKALIKES = new Set([0x201c, 0x201d, 0x2033, 0xff02, 0x201f]);

/**
 * Quote look-alikes, and the full-width forms of ASCII (U+FF01–FF5E, ideographic space) that
 * NFKC normalisation — done by some frameworks and drivers before the query is built — turns
 * into `' OR 1=1`, `UNION SELECT`.
 */
function foldQuoteLookalikes(value: string): string | undefined {
  let out: string[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let folded = SINGLE_LOOKALIKES.has(c) ? "'" : DOUBLE_LOOKALIKES.has(c) ? '"' : undefined;
    if (folded === undefined && c >= 0xff01 && c <= 0xff5e) folded = String.fromCharCode(c - 0xfee0);
    if (folded === undefined && c === 0x3000) folded = ' ';
    if (folded === undefined) continue;
    out ??= value.split('');
    out[i] = folded;
  }
  return out?.join('');
}

const NAMED_REFERENCES: ReadonlyMap<string, string> = new Map([
  ['quot', '"'], ['apos', "'"], ['amp', '&'], ['lt', '<'], ['gt', '>'], ['num', '#'], ['sol', '/'], ['ast', '*'],
  ['lpar', '('], ['rpar', ')'], ['equals', '='], ['semi', ';'], ['comma', ','], ['hyphen', '-'], ['dash', '-'],
]);

/**
 * Block comments that split a keyword (`UNI`, an empty comment, `ON`), for a filter (or an old
 * parser) that deletes comments before the query runs. Undefined unless a comment sits
 * between two letters.
 */
function withoutSplittingComments(value: string): string | undefined {
  let i = value.indexOf('/*');
  if (i === -1) return undefined;
  let out = '';
  let from = 0;
  let split = false;
  while (i !== -1) {
    const end = value.indexOf('*/', i + 2);
    if (end === -1) break;
    if (isLetter(value.charCodeAt(i - 1)) && isLetter(value.charCodeAt(end + 2))) split = true;
    out += value.slice(from, i);
    from = end + 2;
    i = value.indexOf('/*', from);
  }
  return split ? out + value.slice(from) : undefined;
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** `\xHH` and `\uHHHH` escapes decoded; undefined when the value has none. */
function decodeBackslashEscapes(value: string): string | undefined {
  let i = value.indexOf('\\');
  if (i === -1) return undefined;
  let out = '';
  let from = 0;
  let changed = false;
  while (i !== -1 && i + 3 < value.length) {
    const kind = value.charCodeAt(i + 1);
    const digits = kind === 120 ? 2 : kind === 117 ? 4 : 0;
    let code = digits > 0 && i + 1 + digits < value.length ? 0 : -1;
    for (let k = 0; k < digits && code >= 0; k++) {
      const h = hexValue(value.charCodeAt(i + 2 + k));
      code = h < 0 ? -1 : code * 16 + h;
    }
    if (code >= 0) {
      out += value.slice(from, i) + String.fromCharCode(code);
      from = i + 2 + digits;
      changed = true;
      i = value.indexOf('\\', from);
    } else {
      i = value.indexOf('\\', i + 1);
    }
  }
  return changed ? out + value.slice(from) : undefined;
}

/** Query-string form without escapes: `1+order+by+1` (a `+` stands for a space). */
function plusAsSpace(value: string): string | undefined {
  if (!value.includes('+')) return undefined;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) <= 32) return undefined;
  return value.replaceAll('+', ' ');
}

/**
 * Longest value inspected. A value spliced into SQL is a name, a number or a search term;
 * anything longer is refused rather than scanned, which bounds the cost of the several
 * context passes and re-readings (decoded, control characters as blanks, comments as blanks):
 * at most about 3 ms of CPU for the most hostile 16 KiB value.
 */
export const MAX_FRAGMENT_CHARS = 16 * 1024;

export function inspectSqlFragment(value: string, _rule: ArgumentRule | undefined): DetectorFinding | undefined {
  if (value.length > MAX_FRAGMENT_CHARS) {
    return {
      detector: 'sqlInjection',
      rule: 'sqli-too-long',
      message: `sql-fragment: value longer than ${MAX_FRAGMENT_CHARS} characters is refused, not inspected`,
      excerpt: excerptAround(value, 0, 0),
    };
  }
  try {
    const found = (candidate: string, how: string): DetectorFinding | undefined => {
      let s = signalFor(candidate);
      let spacing = '';
      if (s === undefined) {
        const spaced = controlCharsAsSpaces(candidate);
        if (spaced === undefined) return undefined;
        s = signalFor(spaced);
        if (s === undefined) return undefined;
        spacing = ' (with control characters read as whitespace)';
      }
      return {
        detector: 'sqlInjection',
        rule: s.rule,
        message: `sql-fragment: ${s.message}${spacing}${how}`,
        excerpt: excerptAround(candidate, s.start, s.end),
      };
    };
    const raw = found(value, '');
    if (raw !== undefined) return raw;
    const folded = foldQuoteLookalikes(value);
    if (folded !== undefined) {
      const f = found(folded, ' (with quote and full-width look-alikes read as ASCII)');
      if (f !== undefined) return f;
    }
    const joined = withoutSplittingComments(value);
    if (joined !== undefined) {
      const f = found(joined, ' (with keyword-splitting comments removed)');
      if (f !== undefined) return f;
    }
    // A value that passed through an HTML form or template is unescaped before it reaches the query.
    const unescaped = decodeCharacterReferences(value, NAMED_REFERENCES, (c) => c > 0);
    if (unescaped !== value) {
      const f = found(unescaped, ' (after HTML character-reference decoding)');
      if (f !== undefined) return f;
    }
    // `\x27`, `\u0027`: escapes a value picks up when it passes through a JavaScript, JSON
    // or Python string literal on its way to the query.
    const unescapedBackslash = decodeBackslashEscapes(value);
    if (unescapedBackslash !== undefined) {
      const f = found(unescapedBackslash, ' (after \\x / \\u escape decoding)');
      if (f !== undefined) return f;
    }
    if (!hasPercentEscape(value)) {
      const plus = plusAsSpace(value);
      return plus !== undefined ? found(plus, ' (with + read as a space)') : undefined;
    }
    // At most two rounds of URL decoding (double-encoded payloads).
    const once = percentDecodeOnce(value);
    if (once === undefined) return undefined;
    const first = found(once, ' (after URL decoding)');
    if (first !== undefined || !hasPercentEscape(once)) return first;
    const twice = percentDecodeOnce(once);
    return twice !== undefined ? found(twice, ' (after two rounds of URL decoding)') : undefined;
  } catch {
    return {
      detector: 'sqlInjection',
      rule: 'sqli-inspection-error',
      message: 'sql-fragment: value could not be inspected',
      excerpt: excerptAround(value, 0, 0),
    };
  }
}
