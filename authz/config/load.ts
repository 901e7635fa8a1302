/**
 * Reads MCPServer / MCPPolicy manifests from a YAML file or a directory of YAML/JSON files
 * (the very documents one would `kubectl apply`), validates each with defaults applied, and
 * reports every problem with its file, document and field. Documents of other APIs are
 * skipped, so a directory may also hold Deployments and the like.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { formatPath, isWardenApiGroup, validateResource } from '../api/validate.js';
import type { MCPPolicy, MCPServer } from '../api/types.js';

export type ConfigErrorReason = 'unreadable' | 'syntax' | 'invalid' | 'duplicate';

export interface ConfigError {
  readonly file: string;
  /** 1-based position of the YAML document in the file; 0 for the file as a whole. */
  readonly document: number;
  /** Field path inside the document (`spec.tools.rules[0].action`); '' for the document. */
  readonly path: string;
  readonly message: string;
  readonly reason: ConfigErrorReason;
  /** 1-based line, for YAML syntax errors. */
  readonly line?: number;
  /** `Kind namespace/name`, when the document got that far. */
  readonly resource?: string;
}

/** A document that is not ours (another API group), skipped on purpose. */
export interface SkippedDocument {
  readonly file: string;
  readonly document: number;
  readonly apiVersion: string | undefined;
  readonly kind: string | undefined;
}

/** Where a loaded resource came from (for messages and `policy validate`). */
export interface ResourceOrigin {
  /** `Kind namespace/name`. */
  readonly resource: string;
  readonly file: string;
  readonly document: number;
}

export interface LoadResult {
  /** Validated, defaulted and deeply frozen. */
  readonly servers: readonly MCPServer[];
  readonly policies: readonly MCPPolicy[];
  /** One entry per loaded resource, in file order. */
  readonly origins: readonly ResourceOrigin[];
  readonly errors: readonly ConfigError[];
  readonly skipped: readonly SkippedDocument[];
  /** The files read, in order. */
  readonly files: readonly string[];
  /** sha256 over the file names and contents: equal fingerprints mean an identical config. */
  readonly fingerprint: string;
}

export interface LoadOptions {
  /** Receives notes about skipped documents and similar non-problems. */
  readonly debug?: ((message: string) => void) | undefined;
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/** Kubernetes aliases beyond this are a billion-laughs attempt, not a manifest. */
const MAX_ALIAS_COUNT = 100;

/**
 * The manifest files at `path`: the file itself, or the *.yaml, *.yml and *.json files of a
 * directory (sorted, not recursive, dotfiles skipped). Throws when `path` cannot be read.
 */
export async function listManifestFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter(
    (name) => !name.startsWith('.') && MANIFEST_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext)),
  );
  names.sort();
  const files: string[] = [];
  for (const name of names) {
    const file = join(path, name);
    // stat follows symlinks, as in a ConfigMap volume (name → ..data/name).
    if ((await stat(file).catch(() => undefined))?.isFile() === true) files.push(file);
  }
  return files;
}

/** The raw text of a configuration: what `fingerprint` identifies. */
export interface ManifestTexts {
  readonly files: readonly string[];
  readonly texts: ReadonlyArray<readonly [file: string, text: string]>;
  /** Files (or the path itself) that could not be read. */
  readonly errors: readonly ConfigError[];
  readonly fingerprint: string;
}

/** Reads the files at `path` without parsing them (cheap enough to poll). */
export async function readManifests(path: string): Promise<ManifestTexts> {
  let files: string[];
  try {
    files = await listManifestFiles(path);
  } catch (err) {
    return { files: [], texts: [], errors: [unreadable(path, err)], fingerprint: fingerprintOf([[path, `unreadable:${errorCode(err)}`]]) };
  }
  return readManifestFiles(files);
}

export async function readManifestFiles(files: readonly string[]): Promise<ManifestTexts> {
  const texts: Array<[string, string]> = [];
  const errors: ConfigError[] = [];
  const identity: Array<[string, string]> = [];
  for (const file of files) {
    try {
      const text = await readFile(file, 'utf8');
      texts.push([file, text]);
      identity.push([file, text]);
    } catch (err) {
      errors.push(unreadable(file, err));
      identity.push([file, `unreadable:${errorCode(err)}`]);
    }
  }
  return { files: [...files], texts, errors, fingerprint: fingerprintOf(identity) };
}

export async function loadManifests(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  return parseManifests(await readManifests(path), options);
}

/** Loads several files as one configuration (names are unique across all of them). */
export async function loadManifestFiles(files: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  return parseManifests(await readManifestFiles(files), options);
}

/** Parses and validates what `readManifests` read. */
export function parseManifests(read: ManifestTexts, options: LoadOptions = {}): LoadResult {
  const parsed = parseManifestTexts(read.texts, options);
  return { ...parsed, errors: [...read.errors, ...parsed.errors], files: read.files, fingerprint: read.fingerprint };
}

/** Parses and validates manifest texts already in memory (file names are for messages). */
export function parseManifestTexts(
  texts: ReadonlyArray<readonly [file: string, text: string]>,
  options: LoadOptions = {},
): LoadResult {
  const servers: MCPServer[] = [];
  const policies: MCPPolicy[] = [];
  const errors: ConfigError[] = [];
  const skipped: SkippedDocument[] = [];
  const origins: ResourceOrigin[] = [];
  const seen = new Map<string, { file: string; document: number }>();

  for (const [file, text] of texts) {
    const lineCounter = new LineCounter();
    const documents = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
    const list = Array.isArray(documents) ? documents : [];
    list.forEach((doc, index) => {
      const document = index + 1;
      if (doc.errors.length > 0) {
        for (const problem of doc.errors) {
          const line = problem.linePos?.[0]?.line;
          errors.push({
            file,
            document,
            path: '',
            reason: 'syntax',
            message: `YAML syntax error${line !== undefined ? ` at line ${line}` : ''}: ${problem.message.split('\n')[0] ?? ''}`,
            ...(line !== undefined ? { line } : {}),
          });
        }
        return;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (err) {
        errors.push({ file, document, path: '', reason: 'syntax', message: `YAML error: ${err instanceof Error ? err.message : String(err)}` });
        return;
      }
      if (value === null || value === undefined) return;
      for (const [prefix, item] of expandLists(value)) {
        if (!isWardenApiGroup(item)) {
          const apiVersion = stringField(item, 'apiVersion');
          const kind = stringField(item, 'kind');
          skipped.push({ file, document, apiVersion, kind });
          options.debug?.(`${file}: document ${document}${prefix === '' ? '' : ` ${prefix}`}: skipping ${kind ?? 'a document without kind'} (${apiVersion ?? 'no apiVersion'}): not an mcpwarden.io resource`);
          continue;
        }
        const resourceName = describeResource(item);
        const checked = validateResource(item);
        if (!checked.ok) {
          for (const e of checked.errors) {
            errors.push({
              file,
              document,
              path: joinPath(prefix, e.path),
              message: e.message,
              reason: 'invalid',
              ...(resourceName !== undefined ? { resource: resourceName } : {}),
            });
          }
          continue;
        }
        const resource = checked.resource;
        const key = `${resource.kind} ${resource.metadata.namespace ?? 'default'}/${resource.metadata.name}`;
        const first = seen.get(key);
        if (first !== undefined) {
          errors.push({
            file,
            document,
            path: joinPath(prefix, 'metadata.name'),
            reason: 'duplicate',
            resource: key,
            message: `duplicate ${key}: already defined in ${first.file} document ${first.document}; names must be unique per kind and namespace`,
          });
          continue;
        }
        seen.set(key, { file, document });
        origins.push({ resource: key, file, document });
        deepFreeze(resource);
        if (resource.kind === 'MCPServer') servers.push(resource);
        else policies.push(resource);
      }
    });
  }
  return { servers, policies, origins, errors, skipped, files: texts.map(([file]) => file), fingerprint: fingerprintOf(texts) };
}

/** A `kind: List` (as `kubectl get -o yaml` prints) stands for its items. */
function expandLists(value: unknown): Array<[string, unknown]> {
  if (isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
    return value.items.map((item, i) => [formatPath(['items', i]), item]);
  }
  return [['', value]];
}

function joinPath(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (path === '') return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

function describeResource(doc: unknown): string | undefined {
  if (!isRecord(doc) || !isRecord(doc.metadata) || typeof doc.metadata.name !== 'string') return undefined;
  const namespace = typeof doc.metadata.namespace === 'string' ? doc.metadata.namespace : 'default';
  return `${typeof doc.kind === 'string' ? doc.kind : 'resource'} ${namespace}/${doc.metadata.name}`;
}

function unreadable(file: string, err: unknown): ConfigError {
  const code = errorCode(err);
  const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : err instanceof Error ? err.message : String(err);
  return { file, document: 0, path: '', reason: 'unreadable', message: `cannot read ${basename(file)}: ${why}` };
}

function errorCode(err: unknown): string {
  return isRecord(err) && typeof err.code === 'string' ? err.code : 'EUNKNOWN';
}

function fingerprintOf(texts: ReadonlyArray<readonly [string, string]>): string {
  const hash = createHash('sha256');
  for (const [file, text] of texts) hash.update(`${file}\0${text.length}\0`).update(text);
  return hash.digest('hex');
}

function stringField(value: unknown, key: string): string | undefined {
  return isRecord(value) && typeof value[key] === 'string' ? value[key] : undefined;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
