/**
 * Names a read-only SQL tool must not reach, across dialects: server-side file, network,
 * process, sleep and settings functions, dynamic-SQL executors, and credential / server
 * catalogs. Entries ending in `*` are prefixes. Used by the PostgreSQL AST check and by
 * the dialect-tolerant lexical check alike.
 */
import type { SqlArgumentOptions } from '../api/types.js';

const DENIED_FUNCTIONS = [
  // PostgreSQL: server files, large objects, other servers, sessions, settings, WAL, locks.
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_*', 'pg_stat_file', 'pg_file_*', 'pg_logdir_ls',
  'lo_*', 'dblink*', 'pg_sleep*', 'set_config', 'current_setting', 'pg_terminate_backend',
  'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_logfile_rotate', 'pg_promote',
  'pg_switch_wal', 'pg_switch_xlog', 'pg_create_restore_point', 'pg_backup_*', 'pg_start_backup',
  'pg_stop_backup', 'pg_advisory*', 'pg_try_advisory*', 'pg_notify', 'pg_create_*', 'pg_drop_*',
  'pg_replication_*', 'pg_wal_replay_*', 'pg_log_backend_memory_contexts', 'pg_import_system_collations',
  'setval', 'nextval', 'txid_current', 'pg_current_xact_id', 'query_to_xml*', 'cursor_to_xml*', 'database_to_xml*', 'schema_to_xml*',
  // MySQL / MariaDB / SQLite extensions.
  'load_file', 'sleep', 'benchmark', 'sys_exec', 'sys_eval', 'sys_get', 'sys_set', 'get_lock',
  'master_pos_wait', 'source_pos_wait', 'load_extension', 'readfile', 'writefile', 'fsdir', 'edit',
  // SQLite: fts3_tokenizer() leaks a pointer with one argument and registers a tokenizer with two.
  'fts3_tokenizer',
  // SQL Server.
  'xp_*', 'sp_*', 'openrowset', 'opendatasource', 'openquery', 'openxml', 'fn_xe_file_target_read_file',
  'fn_get_audit_file', 'fn_trace_gettable', 'fn_dblog', 'fn_dump_dblog',
  // Oracle packages (also matched as qualifiers below) and Informix file functions.
  'utl_*', 'dbms_*', 'httpuritype', 'filetoclob', 'filetoblob', 'lotofile',
  // Analytics engines: table functions that return a server file's raw content, list server
  // paths, read the environment or stored secrets (DuckDB), or fetch URLs, reach other
  // servers and run processes (ClickHouse). DuckDB's read_csv/read_parquet stay allowed:
  // reading data files is what those tools are for, and DuckDB scopes them itself.
  'read_text', 'read_blob', 'glob', 'getenv', 'duckdb_secrets', 'which_secret', 'zipfile',
  'file', 'url', 'urlcluster', 's3', 's3cluster', 'gcs', 'azureblobstorage*', 'hdfs', 'hdfscluster',
  'remote', 'remotesecure', 'executable', 'mysql', 'postgresql', 'jdbc', 'odbc', 'mongodb', 'redis',
  // Generic dynamic execution.
  'exec', 'execute', 'eval', 'system', 'shell',
];

/** Qualifiers (`pkg.fn`, `pkg.fn(...)`) that name dangerous packages even without parentheses. */
const DENIED_PACKAGES = ['utl_*', 'dbms_*', 'ctxsys', 'httpuritype', 'sys_eval'];

/** Credential, session and linked-server catalogs; reading them is reconnaissance. */
const SENSITIVE_RELATIONS = [
  'pg_shadow', 'pg_authid', 'pg_user', 'pg_auth_members', 'pg_user_mapping', 'pg_user_mappings',
  'pg_hba_file_rules', 'pg_ident_file_mappings', 'pg_file_settings', 'pg_largeobject',
  'pg_largeobject_metadata', 'pg_db_role_setting', 'pg_stat_activity', 'pg_settings',
  'sysxlogins', 'syslogins', 'sql_logins', 'server_principals', 'sysservers', 'linked_logins',
  'syslinkedlogins', 'sysdatabases', 'sysobjects', 'syscolumns', 'sysusers',
  'all_users', 'dba_*', 'user$', 'v$*', 'gv$*',
];

/** Database / schema qualifiers outside the application's data, in any qualifier position. */
const SENSITIVE_SCHEMAS = ['msdb', 'mysql'];

/**
 * SQL Server system databases, sensitive only as the database of a three-part name
 * (`master.dbo.t`, `master..t`): a two-part `master.customers` is an ordinary schema in
 * PostgreSQL and MySQL warehouses (master data).
 */
const SYSTEM_DATABASES = ['master'];

interface NameSet {
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

function nameSet(names: readonly string[]): NameSet {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const raw of names) {
    const name = raw.toLowerCase();
    if (name.endsWith('*')) prefixes.push(name.slice(0, -1));
    else exact.add(name);
  }
  return { exact, prefixes };
}

function inSet(set: NameSet, name: string): boolean {
  if (set.exact.has(name)) return true;
  for (const p of set.prefixes) if (name.startsWith(p)) return true;
  return false;
}

const DEFAULT_DENIED = nameSet(DENIED_FUNCTIONS);
const PACKAGES = nameSet(DENIED_PACKAGES);
const RELATIONS = nameSet(SENSITIVE_RELATIONS);
const SCHEMAS = nameSet(SENSITIVE_SCHEMAS);
const DATABASES = nameSet(SYSTEM_DATABASES);

/** A function policy compiled from the argument rule's `sql` options. */
export interface FunctionPolicy {
  /** Whether a call to `name` (lower-case, unqualified) is refused. */
  denies(name: string): boolean;
}

const DEFAULT_POLICY: FunctionPolicy = { denies: (name) => inSet(DEFAULT_DENIED, name) };
const policyCache = new WeakMap<SqlArgumentOptions, FunctionPolicy>();

/**
 * `allowFunctions` lists functions permitted in addition to the built-in safe set (the CRD and
 * README meaning): a listed name is allowed even when the built-in denylist has it, and every
 * other name keeps the default treatment. `denyFunctions` always denies, even a listed name.
 * Compiled once per rule object.
 */
export function functionPolicy(options: SqlArgumentOptions | undefined): FunctionPolicy {
  if (options === undefined || (options.allowFunctions === undefined && options.denyFunctions === undefined)) {
    return DEFAULT_POLICY;
  }
  const cached = policyCache.get(options);
  if (cached !== undefined) return cached;
  const allow = nameSet(options.allowFunctions ?? []);
  const extra = nameSet(options.denyFunctions ?? []);
  const policy: FunctionPolicy = {
    denies(name: string): boolean {
      if (inSet(extra, name)) return true;
      return inSet(DEFAULT_DENIED, name) && !inSet(allow, name);
    },
  };
  policyCache.set(options, policy);
  return policy;
}

export function isDeniedPackage(name: string): boolean {
  return inSet(PACKAGES, name);
}

export function isSensitiveRelation(name: string): boolean {
  return inSet(RELATIONS, name);
}

export function isSensitiveSchema(name: string): boolean {
  return inSet(SCHEMAS, name);
}

export function isSystemDatabase(name: string): boolean {
  return inSet(DATABASES, name);
}
