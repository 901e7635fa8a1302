/**
 * Stage 4 — tools/call arguments against the pinned inputSchema. Schemas are compiled once
 * per digest and shared by every policy that pins the same definition.
 *
 * Dialect (MCP 2025-11-25, "JSON Schema usage": 2020-12 is the default when `$schema` is
 * absent): no `$schema` → 2020-12, unless the schema uses a form that only draft-07 gives a
 * meaning (`items` as an array, `additionalItems`), which marks an older server that never
 * declared its dialect; 2020-12 and 2019-09 use ajv's own validators; draft-07, -06 and -04
 * use the draft-07 validator (see `toDraft07` for the -04/-06 differences).
 *
 * Rules: schema-violation (400, -32602).
 */
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ArgumentSchemaCheck } from '../pipeline/compiled.js';
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

export class SchemaCompileError extends Error {}

type AnyAjv = Ajv | Ajv2019 | Ajv2020;

// ajv-formats is CommonJS; its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: AnyAjv) => void;

type Dialect = '2020-12' | '2019-09' | 'draft-07' | 'draft-06' | 'draft-04';

/** `$schema` URIs by dialect, compared without scheme and trailing `#`. */
const DIALECT_URIS: ReadonlyMap<string, Dialect> = new Map<string, Dialect>([
  ['json-schema.org/draft/2020-12/schema', '2020-12'],
  ['json-schema.org/draft/2019-09/schema', '2019-09'],
  ['json-schema.org/draft-07/schema', 'draft-07'],
  ['json-schema.org/draft-06/schema', 'draft-06'],
  ['json-schema.org/draft-04/schema', 'draft-04'],
]);

const OPTIONS = { strict: false, allErrors: false, validateSchema: true, allowUnionTypes: true } as const;

function withFormats<T extends AnyAjv>(ajv: T): T {
  addFormats(ajv);
  return ajv;
}

function declaredDialect(toolName: string, uri: unknown): Dialect | undefined {
  if (uri === undefined) return undefined;
  const key = typeof uri === 'string' ? uri.replace(/^https?:\/\//, '').replace(/#$/, '') : undefined;
  const dialect = key !== undefined ? DIALECT_URIS.get(key) : undefined;
  if (dialect === undefined) {
    throw new SchemaCompileError(`tool "${toolName}": inputSchema declares an unsupported $schema: ${JSON.stringify(uri)?.slice(0, 100) ?? ''}`);
  }
  return dialect;
}

/** Keywords whose value is a map of name → subschema (the names are not keywords). */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies']);
/** Keywords whose value is data, never a subschema. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples', 'required']);

/** Whether any (sub)schema uses `items` as an array or `additionalItems` — forms 2020-12 dropped. */
function usesDraft07OnlyForms(schema: unknown, depth = 0): boolean {
  if (depth > 64 || schema === null || typeof schema !== 'object') return false;
  if (Array.isArray(schema)) return schema.some((s) => usesDraft07OnlyForms(s, depth + 1));
  const obj = schema as Record<string, unknown>;
  if (Array.isArray(obj.items) || 'additionalItems' in obj) return true;
  for (const key in obj) {
    if (DATA_KEYWORDS.has(key)) continue;
    const value = obj[key];
    if (SCHEMA_MAPS.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const name in value) if (usesDraft07OnlyForms((value as Record<string, unknown>)[name], depth + 1)) return true;
    } else if (usesDraft07OnlyForms(value, depth + 1)) {
      return true;
    }
  }
  return false;
}

/**
 * A draft-04/-06 schema rewritten for the draft-07 validator: `$schema` removed and draft-04's
 * boolean `exclusiveMaximum`/`exclusiveMinimum` (modifiers of `maximum`/`minimum`) turned into
 * draft-06+ numeric bounds. Remaining differences are accepted: draft-04's `id` is ignored (so
 * `$ref`s relative to a nested `id` do not resolve), and keywords added later (`const`,
 * `contains`, `propertyNames`, `if`/`then`/`else`) are enforced where draft-04/-06 would have
 * ignored them — stricter, never looser.
 */
function toDraft07(schema: unknown, depth = 0): unknown {
  if (depth > 64 || schema === null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map((s) => toDraft07(s, depth + 1));
  const out: Record<string, unknown> = {};
  const obj = schema as Record<string, unknown>;
  for (const key in obj) {
    if (key === '$schema' && depth === 0) continue;
    const value = obj[key];
    if (DATA_KEYWORDS.has(key)) out[key] = value;
    else if (SCHEMA_MAPS.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const map: Record<string, unknown> = {};
      for (const name in value) map[name] = toDraft07((value as Record<string, unknown>)[name], depth + 1);
      out[key] = map;
    } else out[key] = toDraft07(value, depth + 1);
  }
  for (const [exclusive, bound] of [['exclusiveMaximum', 'maximum'], ['exclusiveMinimum', 'minimum']] as const) {
    if (typeof out[exclusive] !== 'boolean') continue;
    if (out[exclusive] === true && typeof out[bound] === 'number') {
      out[exclusive] = out[bound];
      delete out[bound];
    } else delete out[exclusive];
  }
  return out;
}

/** Compiles pinned schemas once per digest. One instance per snapshot keeps memory bounded. */
export class PinnedSchemaCache {
  // Built on first use: most snapshots only ever see one or two dialects.
  private draft07?: Ajv;
  private draft2019?: Ajv2019;
  private draft2020?: Ajv2020;
  private readonly byDigest = new Map<string, ArgumentSchemaCheck>();

  compile(toolName: string, digest: string, inputSchema: Record<string, unknown>): ArgumentSchemaCheck {
    const cached = this.byDigest.get(digest);
    if (cached !== undefined) return cached;
    // Strip `$id` so two pins of equal schemas under different digests do not collide.
    const { $id: _id, ...schema } = inputSchema;
    const dialect = declaredDialect(toolName, schema.$schema) ?? (usesDraft07OnlyForms(schema) ? 'draft-07' : '2020-12');
    let validate: ValidateFunction;
    try {
      validate = this.compileIn(dialect, schema);
    } catch (err) {
      throw new SchemaCompileError(`tool "${toolName}": inputSchema does not compile: ${err instanceof Error ? err.message : String(err)}`);
    }
    const check: ArgumentSchemaCheck = (args) => {
      if (validate(args)) return undefined;
      return schemaDenial(toolName, validate.errors ?? []);
    };
    this.byDigest.set(digest, check);
    return check;
  }

  private compileIn(dialect: Dialect, schema: Record<string, unknown>): ValidateFunction {
    switch (dialect) {
      case '2020-12':
        return (this.draft2020 ??= withFormats(new Ajv2020(OPTIONS))).compile(schema);
      case '2019-09':
        return (this.draft2019 ??= withFormats(new Ajv2019(OPTIONS))).compile(schema);
      case 'draft-07':
        return (this.draft07 ??= withFormats(new Ajv(OPTIONS))).compile(schema);
      case 'draft-06':
      case 'draft-04':
        return (this.draft07 ??= withFormats(new Ajv(OPTIONS))).compile(toDraft07(schema) as Record<string, unknown>);
    }
  }
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? 'arguments' : `argument ${error.instancePath}`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where} has a property the schema does not allow: "${String(params.additionalProperty).slice(0, 64)}"`;
    case 'required':
      return `${where} is missing required property "${String(params.missingProperty)}"`;
    case 'unevaluatedProperties':
      return `${where} has a property the schema does not allow: "${String(params.unevaluatedProperty).slice(0, 64)}"`;
    default:
      return `${where} ${error.message ?? 'is invalid'}`;
  }
}

function schemaDenial(toolName: string, errors: readonly ErrorObject[]): Denial {
  const first = errors[0];
  const reason = first !== undefined ? describe(first) : 'arguments are invalid';
  return deny('schema', 'schema-violation', 'protocol', ErrorCode.InvalidParams, `tool "${toolName}": ${reason} (pinned inputSchema)`, {
    data: { tool: toolName, argument: first?.instancePath ?? '', keyword: first?.keyword ?? '' },
  });
}

export function schemaStage(ctx: CheckContext): Denial | undefined {
  for (const call of ctx.toolCalls) {
    const check = call.rule?.checkSchema;
    if (check === undefined) continue;
    const denial = check(call.arguments);
    if (denial !== undefined) return denial;
  }
  return undefined;
}
