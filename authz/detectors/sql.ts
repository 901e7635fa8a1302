/**
 * `sql` arguments: a whole query that a read-only database tool runs. The query is parsed
 * with the PostgreSQL parser (libpg-query, WASM) and held to a read-only profile by walking
 * the parse tree; independently, the dialect-tolerant lexical check (sql-lexical.ts) runs
 * under PostgreSQL, MySQL and T-SQL quoting rules, because the database behind the tool may
 * not be PostgreSQL and dialects disagree on what is a string or a comment. A query the
 * PostgreSQL parser cannot read is judged by the lexical check alone (MySQL backticks, `TOP n`,
 * double-quoted literals are harmless differences).
 *
 * `initSqlParser()` loads the WASM module once at start-up; until it resolves the lexical check
 * alone applies, so the inspector stays synchronous and never waits on the request path.
 */
import { loadModule, parseSync } from 'libpg-query';
import type { ArgumentRule, SqlArgumentOptions } from '../api/types.js';
import type { DetectorFinding } from './types.js';
import { lexicalRowLimit, lexicalSqlIssue, type SqlIssue } from './sql-lexical.js';
import { functionPolicy, isDeniedPackage, isSensitiveRelation, isSensitiveSchema, isSystemDatabase, type FunctionPolicy } from './sql-names.js';
import { MYSQL } from './sql-tokenizer.js';
import { excerptAround } from './excerpt.js';
import { MISS, VerdictCache, type VerdictCacheLimits } from './verdict-cache.js';

/** Longest query inspected; longer values are refused (the parser's cost grows with size). */
export const MAX_SQL_CHARS = 32 * 1024;
/** Parse-tree nodes visited at most; a deeper tree is refused as too complex. */
const MAX_TREE_NODES = 50_000;

let parserReady = false;
let loading: Promise<void> | undefined;

/** Loads the PostgreSQL parser; the authz service awaits this once at start-up. */
export function initSqlParser(): Promise<void> {
  loading ??= loadModule().then(() => {
    parserReady = true;
  });
  return loading;
}

/** Whether `initSqlParser()` has completed (exposed for health and tests). */
export function sqlParserReady(): boolean {
  return parserReady;
}

function finding(value: string, issue: SqlIssue): DetectorFinding {
  return {
    detector: 'sqlInjection',
    rule: issue.rule,
    message: `sql: ${issue.message}`,
    excerpt: excerptAround(value, issue.start, issue.end),
  };
}

/**
 * Verdicts of recent queries, per options object (the compiled policy's `sql` options; a
 * reload brings new objects and the old caches go with them). Parsing is the dominant cost of
 * a query's inspection and agents repeat queries. Only verdicts reached with the parser
 * loaded are kept: before that the lexical check alone answers, and must not be remembered.
 */
const CACHE_LIMITS: VerdictCacheLimits = { maxEntries: 1024, maxChars: 1024 * 1024, maxValueChars: 8 * 1024 };
const cacheByOptions = new WeakMap<SqlArgumentOptions, VerdictCache<DetectorFinding>>();
const defaultCache = new VerdictCache<DetectorFinding>(CACHE_LIMITS);

function cacheFor(options: SqlArgumentOptions | undefined): VerdictCache<DetectorFinding> {
  if (options === undefined) return defaultCache;
  let cache = cacheByOptions.get(options);
  if (cache === undefined) {
    cache = new VerdictCache<DetectorFinding>(CACHE_LIMITS);
    cacheByOptions.set(options, cache);
  }
  return cache;
}

export function inspectSql(value: string, rule: ArgumentRule | undefined): DetectorFinding | undefined {
  const options = rule?.sql;
  const cache = parserReady ? cacheFor(options) : undefined;
  const cached = cache !== undefined ? cache.get(value) : MISS;
  if (cached !== MISS) return cached;
  let verdict: DetectorFinding | undefined;
  try {
    verdict = inspect(value, options);
  } catch {
    // Detectors never throw; an internal fault refuses the value (fail closed).
    return finding(value, { rule: 'sql-inspection-error', message: 'query could not be inspected', start: 0, end: 0 });
  }
  cache?.set(value, verdict === undefined ? undefined : Object.freeze(verdict));
  return verdict;
}

function inspect(value: string, options: SqlArgumentOptions | undefined): DetectorFinding | undefined {
  if (value.length > MAX_SQL_CHARS) {
    return finding(value, { rule: 'sql-too-long', message: `query longer than ${MAX_SQL_CHARS} characters`, start: 0, end: 0 });
  }
  let tree: unknown;
  if (parserReady) {
    try {
      tree = parseSync(value);
    } catch {
      tree = undefined;
    }
  }
  if (tree !== undefined) {
    const astIssue = treeIssue(value, tree, options);
    if (astIssue !== undefined) return finding(value, astIssue);
  }
  const lexical = lexicalSqlIssue(value, options);
  if (lexical !== undefined) return finding(value, lexical);
  if (options?.maxRows !== undefined && options.readOnly !== false) {
    const limit = tree !== undefined ? treeRowLimit(tree) : lexicalRowLimit(value, MYSQL);
    if (limit === undefined || limit > options.maxRows) {
      const what = limit === undefined ? 'no LIMIT' : `LIMIT ${limit}`;
      return finding(value, { rule: 'sql-row-limit', message: `${what}; at most ${options.maxRows} rows allowed`, start: 0, end: 0 });
    }
  }
  return undefined;
}

type Node = Record<string, unknown>;

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function statementsOf(tree: unknown): Node[] {
  if (!isNode(tree) || !Array.isArray(tree.stmts)) return [];
  return tree.stmts.filter(isNode);
}

/** The statement node's type name (`SelectStmt`) and body. */
function unwrap(raw: Node): [string, Node] | undefined {
  const stmt = raw.stmt;
  if (!isNode(stmt)) return undefined;
  const entries = Object.entries(stmt);
  const first = entries[0];
  if (first === undefined || !isNode(first[1])) return undefined;
  return [first[0], first[1]];
}

/** libpg-query reports byte offsets into the UTF-8 query; excerpts need UTF-16 offsets. */
function charOffset(value: string, byteOffset: unknown): number {
  if (typeof byteOffset !== 'number' || byteOffset <= 0) return 0;
  return Buffer.from(value, 'utf8').subarray(0, byteOffset).toString('utf8').length;
}

function nameOffset(value: string, name: string, fallback: unknown): [number, number] {
  const at = value.toLowerCase().indexOf(name);
  if (at >= 0) return [at, at + name.length];
  const c = charOffset(value, fallback);
  return [c, c];
}

function treeIssue(value: string, tree: unknown, options: SqlArgumentOptions | undefined): SqlIssue | undefined {
  const readOnly = options?.readOnly ?? true;
  const stmts = statementsOf(tree);
  if (stmts.length > 1) {
    const at = charOffset(value, stmts[1]?.stmt_location);
    return { rule: 'sql-multiple-statements', message: `${stmts.length} statements; one is allowed`, start: at, end: at };
  }
  const only = stmts[0];
  if (only === undefined) return undefined;
  const unwrapped = unwrap(only);
  if (unwrapped === undefined) return { rule: 'sql-parse-error', message: 'unrecognised statement', start: 0, end: 0 };
  const [type, body] = unwrapped;
  if (readOnly) {
    const top = topLevelIssue(type, body);
    if (top !== undefined) return top;
  }
  return walk(value, only, functionPolicy(options), readOnly);
}

function topLevelIssue(type: string, body: Node): SqlIssue | undefined {
  if (type === 'SelectStmt') return undefined;
  if (type === 'ExplainStmt') {
    const opts = Array.isArray(body.options) ? body.options : [];
    for (const o of opts) {
      const def = isNode(o) && isNode(o.DefElem) ? o.DefElem : undefined;
      const name = def !== undefined && typeof def.defname === 'string' ? def.defname.toLowerCase() : '';
      if (name === 'analyze' || name === 'analyse') {
        return { rule: 'sql-explain-analyze', message: 'EXPLAIN ANALYZE executes the statement', start: 0, end: 0 };
      }
    }
    const inner = isNode(body.query) ? Object.keys(body.query)[0] : undefined;
    if (inner !== 'SelectStmt') {
      return { rule: 'sql-not-read-only', message: `EXPLAIN of ${statementWord(inner ?? 'unknown')}`, start: 0, end: 0 };
    }
    return undefined;
  }
  return { rule: 'sql-not-read-only', message: `${statementWord(type)} statement is not a read-only query`, start: 0, end: 0 };
}

/** `TransactionStmt` → `Transaction`, `VariableSetStmt` → `VariableSet`. */
function statementWord(type: string): string {
  return type.endsWith('Stmt') ? type.slice(0, -4) : type;
}

const WRITE_NODES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

function stringsOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const item of list) {
    if (isNode(item) && isNode(item.String) && typeof item.String.sval === 'string') out.push(item.String.sval.toLowerCase());
  }
  return out;
}

/** Visits every node of the statement (bounded), checking calls, relations and clauses. */
function walk(value: string, root: Node, policy: FunctionPolicy, readOnly: boolean): SqlIssue | undefined {
  const stack: unknown[] = [root];
  let visited = 0;
  while (stack.length > 0) {
    const cur = stack.pop();
    if (++visited > MAX_TREE_NODES) {
      return { rule: 'sql-too-complex', message: `parse tree larger than ${MAX_TREE_NODES} nodes`, start: 0, end: 0 };
    }
    if (Array.isArray(cur)) {
      for (const item of cur) if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    if (!isNode(cur)) continue;
    // for-in over a JSON.parse result visits the own keys in Object.entries order, without
    // allocating the pairs (this walk runs for every query not in the verdict cache).
    for (const key in cur) {
      const child = cur[key];
      if (typeof child !== 'object' || child === null) continue;
      if (Array.isArray(child)) {
        stack.push(child);
        continue;
      }
      const issue = nodeIssue(value, key, child as Node, policy, readOnly);
      if (issue !== undefined) return issue;
      stack.push(child);
    }
  }
  return undefined;
}

function nodeIssue(value: string, key: string, node: Node, policy: FunctionPolicy, readOnly: boolean): SqlIssue | undefined {
  if (readOnly && WRITE_NODES.has(key)) {
    return { rule: 'sql-data-modifying-cte', message: `${statementWord(key).toUpperCase()} inside a query`, start: 0, end: 0 };
  }
  if (readOnly && key === 'SelectStmt') {
    if (node.intoClause !== undefined) return { rule: 'sql-select-into', message: 'SELECT INTO creates a table', start: 0, end: 0 };
    if (Array.isArray(node.lockingClause) && node.lockingClause.length > 0) {
      return { rule: 'sql-locking-clause', message: 'locking clause FOR UPDATE/SHARE', start: 0, end: 0 };
    }
  }
  if (key === 'FuncCall') {
    const names = stringsOf(node.funcname);
    const fn = names[names.length - 1];
    if (fn !== undefined && policy.denies(fn)) {
      const [s, e] = nameOffset(value, fn, node.location);
      return { rule: 'sql-denied-function', message: `denied function ${fn}()`, start: s, end: e };
    }
    for (const q of names.slice(0, -1)) {
      if (isDeniedPackage(q)) {
        const [s, e] = nameOffset(value, q, node.location);
        return { rule: 'sql-denied-function', message: `denied package ${q}`, start: s, end: e };
      }
    }
  }
  if (key === 'RangeVar') {
    for (const field of ['catalogname', 'schemaname'] as const) {
      const q = node[field];
      if (typeof q === 'string' && (isSensitiveSchema(q.toLowerCase()) || (field === 'catalogname' && isSystemDatabase(q.toLowerCase())))) {
        const [s, e] = nameOffset(value, q.toLowerCase(), node.location);
        return { rule: 'sql-sensitive-relation', message: `system database ${q.toLowerCase()}`, start: s, end: e };
      }
    }
    const rel = typeof node.relname === 'string' ? node.relname.toLowerCase() : '';
    if (rel !== '' && isSensitiveRelation(rel)) {
      const [s, e] = nameOffset(value, rel, node.location);
      return { rule: 'sql-sensitive-relation', message: `system catalog ${rel}`, start: s, end: e };
    }
  }
  return undefined;
}

/** `LIMIT n` / `FETCH FIRST n ROWS` of the outermost SELECT, when it is a constant. */
function treeRowLimit(tree: unknown): number | undefined {
  const only = statementsOf(tree)[0];
  const unwrapped = only !== undefined ? unwrap(only) : undefined;
  if (unwrapped === undefined) return undefined;
  const [type, body] = unwrapped;
  if (type === 'ExplainStmt') return 0;
  if (type !== 'SelectStmt' || !isNode(body.limitCount)) return undefined;
  const c = body.limitCount.A_Const;
  if (!isNode(c) || !isNode(c.ival)) return undefined;
  const n = c.ival.ival;
  return typeof n === 'number' ? n : 0;
}
