/**
 * Stage 4 — tools/call arguments against the pinned inputSchema. Schemas are compiled once
 * per digest and shared by every policy that pins the same definition. MCP servers emit
 * both JSON Schema draft-07 and 2020-12 (the 2025-11-25 revision makes 2020-12 the default
 * dialect), so the dialect is taken from `$schema`.
 *
 * Rules: schema-violation (400, -32602).
 */
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ArgumentSchemaCheck } from '../pipeline/compiled.js';
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

// ajv-formats is CommonJS; its default export is the plugin function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => void;

const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';

function newDraft07(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: true, allowUnionTypes: true });
  addFormats(ajv);
  return ajv;
}
function newDraft2020(): Ajv2020 {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: true, allowUnionTypes: true });
  addFormats(ajv);
  return ajv;
}

export class SchemaCompileError extends Error {}

/** Compiles pinned schemas once per digest. One instance per snapshot keeps memory bounded. */
export class PinnedSchemaCache {
  private readonly draft07 = newDraft07();
  private readonly draft2020 = newDraft2020();
  private readonly byDigest = new Map<string, ArgumentSchemaCheck>();

  compile(toolName: string, digest: string, inputSchema: Record<string, unknown>): ArgumentSchemaCheck {
    const cached = this.byDigest.get(digest);
    if (cached !== undefined) return cached;
    const dialect = typeof inputSchema.$schema === 'string' ? inputSchema.$schema : undefined;
    let validate: ValidateFunction;
    try {
      // Strip `$id` so two pins of equal schemas under different digests do not collide.
      const { $id: _id, ...schema } = inputSchema;
      validate = dialect !== undefined && dialect.startsWith(DRAFT_2020) ? this.draft2020.compile(schema) : this.draft07.compile(schema);
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
