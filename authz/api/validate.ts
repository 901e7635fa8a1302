/**
 * Validation of whole MCPServer / MCPPolicy manifests: the schema of `schema.ts` through ajv
 * (which also applies the defaults), then what ajv cannot see: the CEL rules of the CRDs
 * (`x-kubernetes-validations`, which ajv ignores) re-implemented in TypeScript so standalone
 * mode enforces them too, list-map key uniqueness, and checks that need code (CIDRs, pin
 * digests, tool definitions, CEL syntax of `when`). Every error names the field
 * (`spec.tools.rules[0].action`) and says what was expected and what was found.
 */
import { isIP } from 'node:net';
import { Ajv, type ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { applyDerivedDefaults, resourceSchemaCheck } from './defaults.js';
import { toolDigest } from './digest.js';
import {
  CIDR_PATTERN,
  DIGEST_PATTERN,
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  DURATION_PATTERN,
  mcpPolicySpecSchema,
  mcpPolicyStatusSchema,
  mcpServerSpecSchema,
  mcpServerStatusSchema,
  type ResourceKind,
  type SchemaNode,
} from './schema.js';
import {
  API_GROUP,
  API_GROUP_VERSION,
  type MCPPolicy,
  type MCPPolicySpec,
  type MCPServer,
  type ToolDefinition,
  type WardenResource,
} from './types.js';

const addFormats = formatsModule.default;

/** One problem in a manifest: `path` is the field (`spec.tools.rules[0].action`). */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

export type ValidationResult<T> =
  | { readonly ok: true; readonly resource: T }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

export const RESOURCE_KINDS: readonly ResourceKind[] = ['MCPServer', 'MCPPolicy'];

/** True for documents in our API group (any version or kind), which we must not skip silently. */
export function isWardenApiGroup(doc: unknown): boolean {
  if (!isRecord(doc) || typeof doc.apiVersion !== 'string') return false;
  return doc.apiVersion.split('/')[0] === API_GROUP;
}

export function validateMCPServer(doc: unknown): ValidationResult<MCPServer> {
  return validateKind('MCPServer', doc) as ValidationResult<MCPServer>;
}

export function validateMCPPolicy(doc: unknown): ValidationResult<MCPPolicy> {
  return validateKind('MCPPolicy', doc) as ValidationResult<MCPPolicy>;
}

/**
 * Validates one manifest of either kind and returns it typed, with defaults applied
 * (the input is not modified), or every error found.
 */
export function validateResource(doc: unknown): ValidationResult<WardenResource> {
  if (!isRecord(doc)) {
    return fail([{ path: '', message: `must be a mapping (an object with apiVersion, kind, metadata, spec); found ${describe(doc)}` }]);
  }
  const errors: FieldError[] = [];
  if (doc.apiVersion !== API_GROUP_VERSION) {
    errors.push({ path: 'apiVersion', message: `must be ${API_GROUP_VERSION}; found ${describe(doc.apiVersion)}` });
  }
  const kind = doc.kind;
  if (kind !== 'MCPServer' && kind !== 'MCPPolicy') {
    errors.push({ path: 'kind', message: `must be one of ${RESOURCE_KINDS.join(', ')}; found ${describe(kind)}${hint(kind, RESOURCE_KINDS)}` });
    return fail(errors);
  }
  if (errors.length > 0) return fail(errors);
  return validateKind(kind, doc);
}

function validateKind(kind: ResourceKind, doc: unknown): ValidationResult<WardenResource> {
  const copy = structuredClone(doc);
  const check = resourceSchemaCheck(kind);
  if (!check(copy)) return fail((check.errors ?? []).map((e) => schemaError(e, copy)));
  const resource = copy as WardenResource;
  if (resource.kind === 'MCPPolicy') applyDerivedDefaults(resource.spec);
  const specific = resource.kind === 'MCPServer' ? serverErrors(resource) : policyErrors(resource.spec);
  // A CEL equivalent and a check in code may flag the same field; the code's message says more.
  const covered = (path: string): boolean => specific.some((e) => e.path === path || e.path.startsWith(`${path}[`) || e.path.startsWith(`${path}.`));
  const errors = [...structuralRuleErrors(resource, kind).filter((e) => !covered(e.path)), ...specific];
  return errors.length > 0 ? fail(errors) : { ok: true, resource };
}

function fail<T>(errors: FieldError[]): ValidationResult<T> {
  return { ok: false, errors };
}

// ---------------------------------------------------------------------------------------
// CEL rule equivalents. Keyed by the rule's message in schema.ts; a test checks that every
// CEL rule has one and that both agree on the same documents.

type Node = Record<string, unknown>;

export const CEL_EQUIVALENTS: Readonly<Record<string, (self: Node) => boolean>> = {
  'listener.port must differ from upstream.port: Envoy and the MCP server share the pod network': (self) =>
    !isRecord(self.listener) || self.listener.port === undefined || !isRecord(self.upstream) || self.listener.port !== self.upstream.port,
  'sql options apply only to kind sql or sql-fragment': (self) =>
    self.sql === undefined || self.kind === 'sql' || self.kind === 'sql-fragment',
  'commands apply only to kind command or shell': (self) =>
    self.commands === undefined || self.kind === 'command' || self.kind === 'shell',
  'schemes apply only to kind url': (self) => self.schemes === undefined || self.kind === 'url',
  'allow applies only to kind path or url': (self) => self.allow === undefined || self.kind === 'path' || self.kind === 'url',
  'deny applies only to kind path or url': (self) => self.deny === undefined || self.kind === 'path' || self.kind === 'url',
  'definition.name must equal the rule name (or be omitted)': (self) =>
    !isRecord(self.definition) || self.definition.name === undefined || self.definition.name === self.name,
  'detector burst needs factor': (self) => self.detector !== 'burst' || self.factor !== undefined,
  'detector bulkAccess needs argument': (self) => self.detector !== 'bulkAccess' || self.argument !== undefined,
  'detectors other than burst need threshold and window': (self) =>
    self.detector === 'burst' || (self.threshold !== undefined && self.window !== undefined),
  'idleTimeout must not be longer than maxLifetime': (self) =>
    typeof self.idleTimeout !== 'string' ||
    typeof self.maxLifetime !== 'string' ||
    (parseDurationMs(self.idleTimeout) ?? 0) <= (parseDurationMs(self.maxLifetime) ?? 0),
  'trustedProxies entries must be IPv4 or IPv6 addresses or CIDRs such as 10.0.0.0/8 or fd00::/8': (self) =>
    !Array.isArray(self.trustedProxies) || self.trustedProxies.every((p) => typeof p === 'string' && cidrProblem(p) === undefined),
  'definition needs inputSchema: the schema arguments are validated against': (self) => !isRecord(self.definition) || self.definition.inputSchema !== undefined,
  'retryAfter must be at least 1s (Retry-After is sent in whole seconds)': (self) => typeof self.retryAfter !== 'string' || (parseDurationMs(self.retryAfter) ?? 1000) >= 1000,
  ...Object.fromEntries(
    ['interval', 'window', 'maxLifetime', 'idleTimeout', 'duration'].map((name) => [
      `${name} must be longer than zero`,
      (self: Node): boolean => typeof self[name] !== 'string' || parseDurationMs(self[name]) !== 0,
    ]),
  ),
};

/** Walks data and schema together: CEL equivalents and list-map key uniqueness. */
function structuralRuleErrors(resource: WardenResource, kind: ResourceKind): FieldError[] {
  const errors: FieldError[] = [];
  const spec = kind === 'MCPServer' ? mcpServerSpecSchema : mcpPolicySpecSchema;
  const status = kind === 'MCPServer' ? mcpServerStatusSchema : mcpPolicyStatusSchema;
  walk(spec, resource.spec, ['spec'], errors);
  if (resource.status !== undefined) walk(status, resource.status, ['status'], errors);
  return errors;
}

function walk(schema: SchemaNode, value: unknown, path: PathSegment[], errors: FieldError[]): void {
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    const holds = CEL_EQUIVALENTS[rule.message];
    if (holds === undefined) throw new Error(`schema rule without a TypeScript equivalent: ${rule.message}`);
    if (isRecord(value) && !holds(value)) {
      const extra = rule.fieldPath?.split('.').filter((s) => s !== '') ?? [];
      errors.push({ path: formatPath([...path, ...extra]), message: rule.message });
    }
  }
  if (Array.isArray(value)) {
    const keys = schema['x-kubernetes-list-map-keys'];
    if (schema['x-kubernetes-list-type'] === 'map' && keys !== undefined) {
      const seen = new Map<string, number>();
      value.forEach((item, index) => {
        if (!isRecord(item)) return;
        const key = keys.map((k) => String(item[k])).join('/');
        const first = seen.get(key);
        if (first === undefined) seen.set(key, index);
        else {
          errors.push({
            path: formatPath([...path, index, keys[0] ?? '']),
            message: `duplicate ${keys.join('/')} ${JSON.stringify(key)}: already used by ${formatPath([...path, first])}; each ${keys.join('/')} may appear once`,
          });
        }
      });
    }
    if (schema.items !== undefined) value.forEach((item, i) => walk(schema.items as SchemaNode, item, [...path, i], errors));
    return;
  }
  if (!isRecord(value)) return;
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (value[name] !== undefined) walk(child, value[name], [...path, name], errors);
  }
  if (typeof schema.additionalProperties === 'object') {
    for (const [name, child] of Object.entries(value)) walk(schema.additionalProperties, child, [...path, name], errors);
  }
}

// ---------------------------------------------------------------------------------------
// Checks that need code

function serverErrors(server: MCPServer): FieldError[] {
  const errors: FieldError[] = [];
  server.spec.trustedProxies.forEach((cidr, i) => {
    const problem = cidrProblem(cidr);
    if (problem !== undefined) errors.push({ path: `spec.trustedProxies[${i}]`, message: problem });
  });
  if (server.spec.discovery !== undefined) positiveDuration(server.spec.discovery.interval, 'spec.discovery.interval', errors);
  return errors;
}

function policyErrors(spec: MCPPolicySpec): FieldError[] {
  const errors: FieldError[] = [];
  spec.tools.rules.forEach((rule, i) => {
    const at = `spec.tools.rules[${i}]`;
    const definition = rule.definition as ToolDefinition | undefined;
    if (definition !== undefined) {
      errors.push(...definitionErrors(definition, `${at}.definition`));
      if (rule.digest !== undefined) {
        const actual = safeDigest(definition);
        if (actual !== undefined && actual !== rule.digest) {
          errors.push({
            path: `${at}.digest`,
            message: `does not match definition: the definition digests to ${actual}; found ${rule.digest}. Remove one of them or correct the digest`,
          });
        }
      }
      const properties = definition.inputSchema?.properties;
      if (isRecord(properties)) {
        for (const key of Object.keys(rule.arguments ?? {})) {
          const top = key.startsWith('/') ? unescapePointer(key.split('/')[1] ?? '') : key;
          if (!(top in properties)) {
            errors.push({
              path: formatPath(['spec', 'tools', 'rules', i, 'arguments', key]),
              message: `no argument ${JSON.stringify(top)} in definition.inputSchema; its properties are: ${Object.keys(properties).join(', ') || '(none)'}${hint(top, Object.keys(properties))}`,
            });
          }
        }
      }
    }
    if (rule.when !== undefined) {
      try {
        parseCel(rule.when);
      } catch (err) {
        errors.push({ path: `${at}.when`, message: `is not a valid CEL expression: ${firstLine(err)}` });
      }
    }
  });
  spec.behavior.forEach((rule, i) => {
    if (rule.window !== undefined) positiveDuration(rule.window, `spec.behavior[${i}].window`, errors);
  });
  positiveDuration(spec.session.maxLifetime, 'spec.session.maxLifetime', errors);
  positiveDuration(spec.session.idleTimeout, 'spec.session.idleTimeout', errors);
  positiveDuration(spec.actions.suspend.duration, 'spec.actions.suspend.duration', errors);
  const retry = parseDurationMs(spec.actions.throttle.retryAfter);
  if (retry !== undefined && retry < 1000) {
    errors.push({
      path: 'spec.actions.throttle.retryAfter',
      message: `must be at least 1s (Retry-After is sent in whole seconds); found ${JSON.stringify(spec.actions.throttle.retryAfter)}`,
    });
  }
  return errors;
}

let schemaCompilers: { draft7: Ajv; draft2020: Ajv2020 } | undefined;

/** A pinned definition must be one a server could list: an object inputSchema that is valid JSON Schema. */
function definitionErrors(definition: ToolDefinition, at: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ['inputSchema', 'outputSchema'] as const) {
    const schema = definition[field];
    if (schema === undefined) {
      if (field === 'inputSchema') {
        errors.push({ path: `${at}.inputSchema`, message: 'required field is missing: a pinned definition needs the inputSchema arguments are validated against (e.g. {type: object, properties: {...}})' });
      }
      continue;
    }
    if (schema.type !== 'object') {
      errors.push({ path: `${at}.${field}.type`, message: `must be "object" (MCP tool schemas describe an object); found ${describe(schema.type)}` });
      continue;
    }
    const problem = jsonSchemaProblem(schema);
    if (problem !== undefined) errors.push({ path: `${at}.${field}`, message: `is not a valid JSON Schema: ${problem}` });
  }
  return errors;
}

/** Results by schema text: a reload re-checks the same pinned schemas, and compiling is the slow part. */
const schemaProblemCache = new Map<string, string | undefined>();
const SCHEMA_PROBLEM_CACHE_SIZE = 4096;

function jsonSchemaProblem(schema: Record<string, unknown>): string | undefined {
  const key = JSON.stringify(schema);
  if (schemaProblemCache.has(key)) return schemaProblemCache.get(key);
  const problem = uncachedJsonSchemaProblem(schema);
  if (schemaProblemCache.size >= SCHEMA_PROBLEM_CACHE_SIZE) schemaProblemCache.clear();
  schemaProblemCache.set(key, problem);
  return problem;
}

function uncachedJsonSchemaProblem(schema: Record<string, unknown>): string | undefined {
  schemaCompilers ??= (() => {
    const draft7 = new Ajv({ strict: false, allErrors: true });
    const draft2020 = new Ajv2020({ strict: false, allErrors: true });
    addFormats(draft7);
    addFormats(draft2020);
    return { draft7, draft2020 };
  })();
  const draft = typeof schema.$schema === 'string' && schema.$schema.includes('draft-07') ? schemaCompilers.draft7 : schemaCompilers.draft2020;
  // MCP tool schemas default to JSON Schema 2020-12 (spec 2025-11-25) and may name draft-07.
  const { $schema: _ignored, ...body } = schema;
  if (!draft.validateSchema(body)) {
    const first = draft.errors?.[0];
    return first === undefined ? 'unknown problem' : `${pointerToPath(first.instancePath) || '(root)'} ${first.message ?? ''}`.trim();
  }
  try {
    draft.compile(body);
    return undefined;
  } catch (err) {
    return firstLine(err);
  } finally {
    draft.removeSchema(body);
  }
}

function safeDigest(definition: ToolDefinition): string | undefined {
  try {
    return toolDigest(definition);
  } catch {
    return undefined;
  }
}

function cidrProblem(value: string): string | undefined {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= bits);
  if (family === 0 || rest.length > 0 || !prefixOk) {
    return `must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or fd00::/8; found ${JSON.stringify(value)}`;
  }
  return undefined;
}

function positiveDuration(value: string, path: string, errors: FieldError[]): void {
  if (parseDurationMs(value) === 0) errors.push({ path, message: `must be longer than zero; found ${JSON.stringify(value)}` });
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a schema duration (`1h30m`, `250ms`); undefined when it is not one. */
export function parseDurationMs(value: string): number | undefined {
  if (!new RegExp(DURATION_PATTERN).test(value)) return undefined;
  let total = 0;
  for (const match of value.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? ''] ?? 0);
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// ajv errors → messages people can act on

const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  [DURATION_PATTERN]: 'must be a duration such as 30s, 15m, 1h30m or 250ms',
  [DIGEST_PATTERN]: 'must be "sha256:" followed by 64 lowercase hex digits (see `mcp-warden tools scan`)',
  [DNS_SUBDOMAIN_PATTERN]: 'must be a lowercase RFC 1123 name: a-z, 0-9, "-" and ".", starting and ending with a letter or digit',
  [DNS_LABEL_PATTERN]: 'must be a lowercase RFC 1123 label: a-z, 0-9 and "-", starting and ending with a letter or digit',
  [CIDR_PATTERN]: 'must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8',
  '^/': 'must start with "/"',
  '^https?://': 'must be an http:// or https:// URL',
};

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
};

function schemaError(error: ErrorObject, root: unknown): FieldError {
  const segments = pointerSegments(error.instancePath, root);
  const at = formatPath(segments);
  const found = describe(error.data);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return { path: formatPath([...segments, missing]), message: 'required field is missing' };
    }
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
      return {
        path: formatPath([...segments, extra]),
        message: `unknown field${hint(extra, known)}; the fields here are: ${known.join(', ')}`,
      };
    }
    case 'type': {
      const expected = String(params.type);
      return { path: at, message: `must be ${TYPE_NAMES[expected] ?? expected}; found ${found}` };
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      return { path: at, message: `must be one of ${allowed.join(', ')}; found ${found}${hint(error.data, allowed)}` };
    }
    case 'pattern': {
      const pattern = String(params.pattern);
      return { path: at, message: `${PATTERN_MESSAGES[pattern] ?? `must match ${pattern}`}; found ${found}` };
    }
    case 'minimum':
    case 'maximum':
      return { path: at, message: `must be ${String(params.comparison)} ${String(params.limit)}; found ${found}` };
    case 'minItems':
      return { path: at, message: `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}; found ${found}` };
    case 'maxItems':
      return { path: at, message: `must have at most ${String(params.limit)} items; found ${(error.data as unknown[]).length}` };
    case 'minLength':
      return { path: at, message: params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters; found ${found}` };
    case 'maxLength':
      return { path: at, message: `must be at most ${String(params.limit)} characters; found ${(error.data as string).length}` };
    case 'maxProperties':
      return { path: at, message: `must have at most ${String(params.limit)} entries; found ${Object.keys(error.data as object).length}` };
    case 'uniqueItems': {
      const list = error.data as unknown[];
      const first = Math.min(Number(params.i), Number(params.j));
      const again = Math.max(Number(params.i), Number(params.j));
      return { path: formatPath([...segments, again]), message: `repeats ${describe(list[again])}, already at [${first}]; each value may appear once` };
    }
    case 'format':
      return { path: at, message: `must be a ${String(params.format)} value${params.format === 'date-time' ? ' (RFC 3339, e.g. 2025-01-31T12:00:00Z)' : ''}; found ${found}` };
    default:
      return { path: at, message: `${error.message ?? 'is invalid'}; found ${found}` };
  }
}

// ---------------------------------------------------------------------------------------
// Paths and values

type PathSegment = string | number;

/** `spec.tools.rules[0].arguments["/filter/path"].kind` */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** JSON pointer → segments, with array indexes as numbers (looked up in the data). */
function pointerSegments(pointer: string, root: unknown): PathSegment[] {
  const segments: PathSegment[] = [];
  let node: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = unescapePointer(raw);
    if (Array.isArray(node)) {
      const index = Number(key);
      segments.push(index);
      node = node[index];
    } else {
      segments.push(key);
      node = isRecord(node) ? node[key] : undefined;
    }
  }
  return segments;
}

function pointerToPath(pointer: string): string {
  return formatPath(pointer.split('/').slice(1).map(unescapePointer));
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  const json = JSON.stringify(value);
  const shown = json.length > 80 ? `${json.slice(0, 77)}…` : json;
  return typeof value === 'string' ? shown : `${typeof value} ${shown}`;
}

/** ` (did you mean "Allow"?)` for near misses: case differences and small typos. */
function hint(found: unknown, candidates: readonly string[]): string {
  if (typeof found !== 'string' || found === '') return '';
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === found.toLowerCase() ? 0 : editDistance(found.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.floor(found.length / 3));
  return best !== undefined && best !== found && bestDistance <= limit ? ` (did you mean ${JSON.stringify(best)}?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
