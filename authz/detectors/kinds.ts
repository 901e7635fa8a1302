/**
 * Argument-kind inference from a pinned inputSchema, for arguments the policy does not type.
 * Evidence, strongest first: JSON Schema `format`, `enum`/`const` and non-string types, the
 * property name, the description, the `pattern`. Every result carries its reason so it can be
 * logged at load and shown by `explain`, and overridden in the policy.
 *
 * Pointers are JSON pointers (RFC 6901) over object properties; array elements take their
 * array's pointer (`/files` covers every string in `files: string[]`, `/files/path` the
 * `path` of every object in it).
 */
import type { ArgumentKind } from '../api/types.js';

export interface InferredKind {
  readonly pointer: string;
  readonly kind: ArgumentKind;
  readonly reason: string;
}

export interface InferenceBudget {
  readonly maxNodes: number;
  readonly maxDepth: number;
}

export const DEFAULT_INFERENCE_BUDGET: InferenceBudget = { maxNodes: 2000, maxDepth: 12 };

/** RFC 6901 escaping of one reference token. */
export function escapePointerToken(token: string): string {
  if (!token.includes('~') && !token.includes('/')) return token;
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Splits a property name into lower-case words: `webhookURL` → webhook,url; `file_path` → file,path. */
export function nameWords(name: string): string[] {
  const words: string[] = [];
  let current = '';
  for (let i = 0; i < name.length && i < 128; i++) {
    const ch = name[i] as string;
    const lower = ch.toLowerCase();
    const isUpper = ch !== lower;
    const isAlnum = /[a-z0-9]/.test(lower);
    if (!isAlnum) {
      if (current !== '') words.push(current);
      current = '';
      continue;
    }
    const prev = name[i - 1];
    const next = name[i + 1];
    const prevLower = prev !== undefined && prev !== prev.toUpperCase();
    const nextLower = next !== undefined && next !== next.toUpperCase();
    if (isUpper && current !== '' && (prevLower || nextLower)) {
      words.push(current);
      current = '';
    }
    current += lower;
  }
  if (current !== '') words.push(current);
  return words;
}

const PATH_WORDS = new Set(['path', 'paths', 'file', 'files', 'filename', 'filenames', 'filepath', 'dir', 'dirs', 'directory', 'directories', 'folder', 'folders', 'dirname', 'cwd', 'workdir', 'pathname']);
const COMMAND_WORDS = new Set(['cmd', 'command', 'commands', 'script', 'cmdline', 'commandline', 'shell']);
const URL_WORDS = new Set(['url', 'urls', 'uri', 'uris', 'endpoint', 'webhook', 'href', 'link', 'links', 'website', 'callback', 'homepage']);
const SQL_WORDS = new Set(['sql', 'statement']);
const TEXT_WORDS = new Set(['message', 'messages', 'body', 'text', 'content', 'contents', 'prompt', 'question', 'description', 'comment', 'comments', 'note', 'notes', 'title', 'summary', 'subject', 'instructions', 'reason', 'query', 'q', 'search', 'input', 'answer']);
const IDENTIFIER_WORDS = new Set(['id', 'ids', 'uuid', 'name', 'username', 'user', 'login', 'slug', 'handle', 'owner', 'repo', 'repository', 'branch', 'key', 'tag', 'label', 'email', 'account', 'project', 'namespace', 'sha', 'ref']);

function sqlish(description: string): boolean {
  return /\bsql\b|\bselect\b|\bpostgres|\bmysql|\bsqlite|\bdatabase\b|\btable\b|\bwhere clause\b/.test(description);
}

/** Kind from a property name (and its description, to tell a SQL query from a search query). */
export function kindFromName(name: string, description = ''): { kind: ArgumentKind; reason: string } | undefined {
  const words = nameWords(name);
  if (words.length === 0) return undefined;
  const desc = description.toLowerCase().slice(0, 2000);
  const reason = `property name "${name.slice(0, 64)}"`;
  // The last word names what the value is (`file_path`, `webhookUrl`, `user_id`).
  const ordered = [words[words.length - 1] as string, ...words.slice(0, -1).reverse()];
  for (const w of ordered) {
    if (SQL_WORDS.has(w)) return { kind: 'sql', reason };
    if (w === 'query' && sqlish(desc)) return { kind: 'sql', reason: `${reason} with a SQL description` };
    if ((w === 'where' || w === 'filter' || w === 'condition' || w === 'orderby' || w === 'order') && sqlish(desc)) {
      return { kind: 'sql-fragment', reason: `${reason} with a SQL description` };
    }
    if (URL_WORDS.has(w)) return { kind: 'url', reason };
    if (PATH_WORDS.has(w)) return { kind: 'path', reason };
    if (COMMAND_WORDS.has(w)) return { kind: 'command', reason };
    if (IDENTIFIER_WORDS.has(w)) return { kind: 'identifier', reason };
    if (TEXT_WORDS.has(w)) return { kind: 'text', reason };
  }
  return undefined;
}

/** Kind from a description alone. */
function kindFromDescription(description: string): { kind: ArgumentKind; reason: string } | undefined {
  const d = description.toLowerCase().slice(0, 2000);
  const says = (phrase: string): string => `description mentions "${phrase}"`;
  if (/\bsql (query|statement)\b/.test(d)) return { kind: 'sql', reason: says('SQL query') };
  if (/\bshell command\b|\bcommand to (run|execute)\b|\bcommand line\b/.test(d)) return { kind: 'command', reason: says('shell command') };
  if (/\b(file|directory|folder) ?path\b|\bpath to (a|the) (file|directory|folder)\b/.test(d)) return { kind: 'path', reason: says('file path') };
  if (/\burl\b|\buri\b|\bweb ?hook\b/.test(d)) return { kind: 'url', reason: says('URL') };
  return undefined;
}

const URL_FORMATS = new Set(['uri', 'url', 'iri', 'uri-reference', 'iri-reference', 'uri-template']);
const IDENTIFIER_FORMATS = new Set(['uuid', 'email', 'idn-email', 'hostname', 'idn-hostname', 'ipv4', 'ipv6']);
const OPAQUE_FORMATS = new Set(['date', 'date-time', 'time', 'duration', 'byte', 'int32', 'int64', 'float', 'double', 'regex', 'json-pointer', 'relative-json-pointer']);

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function typesOf(schema: Record<string, unknown>): Set<string> {
  const t = schema.type;
  if (typeof t === 'string') return new Set([t]);
  if (Array.isArray(t)) return new Set(t.filter((x): x is string => typeof x === 'string'));
  const out = new Set<string>();
  if (schema.properties !== undefined) out.add('object');
  if (schema.items !== undefined) out.add('array');
  return out;
}

/** Kind of a string-valued schema node named `name`. */
function kindOfStringNode(name: string, schema: Record<string, unknown>): { kind: ArgumentKind; reason: string } | undefined {
  const format = typeof schema.format === 'string' ? schema.format.toLowerCase() : undefined;
  if (format !== undefined && URL_FORMATS.has(format)) return { kind: 'url', reason: `format "${format}"` };
  if (Array.isArray(schema.enum) || schema.const !== undefined) return { kind: 'opaque', reason: 'enum/const: the schema fixes the values' };
  if (format !== undefined && IDENTIFIER_FORMATS.has(format)) return { kind: 'identifier', reason: `format "${format}"` };
  if (format !== undefined && OPAQUE_FORMATS.has(format)) return { kind: 'opaque', reason: `format "${format}"` };
  const description = typeof schema.description === 'string' ? schema.description : '';
  const byName = name !== '' ? kindFromName(name, description) : undefined;
  if (byName !== undefined) return byName;
  const byDescription = kindFromDescription(description);
  if (byDescription !== undefined) return byDescription;
  const pattern = typeof schema.pattern === 'string' ? schema.pattern : undefined;
  if (pattern !== undefined) {
    if (pattern.includes('http') || pattern.includes('://')) return { kind: 'url', reason: 'pattern matches URLs' };
    if (/^\^?\[[\w\\.-]*\][+*]\$?$/.test(pattern.slice(0, 64))) return { kind: 'identifier', reason: 'pattern allows only name characters' };
  }
  return undefined;
}

/**
 * Infers kinds for the string-valued properties of an inputSchema. Local `$ref`s
 * (`#/$defs/…`) are followed; `anyOf`/`oneOf`/`allOf` branches are walked at the same
 * pointer; the walk stops at the budget.
 */
export function inferArgumentKinds(inputSchema: Record<string, unknown> | undefined, budget: InferenceBudget = DEFAULT_INFERENCE_BUDGET): InferredKind[] {
  if (inputSchema === undefined) return [];
  const out = new Map<string, InferredKind>();
  let nodes = 0;
  const resolve = (schema: Record<string, unknown>): Record<string, unknown> => {
    let current = schema;
    for (let hops = 0; hops < 8 && typeof current.$ref === 'string' && current.$ref.startsWith('#/'); hops++) {
      let target: unknown = inputSchema;
      for (const raw of current.$ref.slice(2).split('/')) {
        target = asRecord(target)?.[raw.replaceAll('~1', '/').replaceAll('~0', '~')];
      }
      const next = asRecord(target);
      if (next === undefined) break;
      current = next;
    }
    return current;
  };
  const walk = (node: unknown, name: string, pointer: string, depth: number): void => {
    if (nodes++ >= budget.maxNodes || depth > budget.maxDepth) return;
    const raw = asRecord(node);
    if (raw === undefined) return;
    const schema = resolve(raw);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      const branches = schema[key];
      if (Array.isArray(branches)) for (const b of branches) walk(b, name, pointer, depth + 1);
    }
    const types = typesOf(schema);
    const properties = asRecord(schema.properties);
    if (properties !== undefined) {
      for (const [prop, sub] of Object.entries(properties)) walk(sub, prop, `${pointer}/${escapePointerToken(prop)}`, depth + 1);
    }
    if (types.has('array')) {
      const items = schema.items;
      if (Array.isArray(items)) for (const it of items) walk(it, name, pointer, depth + 1);
      else walk(items ?? {}, name, pointer, depth + 1);
    }
    if (pointer === '' || out.has(pointer)) return;
    const scalar = [...types].filter((t) => t !== 'object' && t !== 'array' && t !== 'null');
    if (scalar.length > 0 && !scalar.includes('string')) {
      out.set(pointer, { pointer, kind: 'opaque', reason: `type ${scalar.join('|')}` });
      return;
    }
    if (scalar.includes('string') || (types.size === 0 && properties === undefined)) {
      const kind = kindOfStringNode(name, schema);
      if (kind !== undefined) out.set(pointer, { pointer, ...kind });
    }
  };
  walk(inputSchema, '', '', 0);
  return [...out.values()];
}
