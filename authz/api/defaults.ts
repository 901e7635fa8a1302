/**
 * Defaults for MCPServer and MCPPolicy, taken from the `default` keywords of the schema in
 * `schema.ts` by ajv (`useDefaults`), exactly as the API server applies the CRD defaults,
 * plus the two defaults a schema cannot express (they depend on a sibling field).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import type { MCPPolicy, MCPPolicySpec, MCPServer, MCPServerSpec } from './types.js';
import { resourceSchema, toAjvSchema, type ResourceKind } from './schema.js';

const addFormats = formatsModule.default;

/** Checks a whole resource against the schema and fills in defaults in place. */
export interface ResourceSchemaCheck {
  (doc: unknown): boolean;
  errors?: ErrorObject[] | null;
}

let validators: Record<ResourceKind, ValidateFunction> | undefined;

function compileValidators(): Record<ResourceKind, ValidateFunction> {
  // draft-07 Ajv; `strict` makes a typo in schema.ts itself fail loudly at start-up.
  const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true, strictRequired: false });
  addFormats(ajv);
  return {
    MCPServer: ajv.compile(toAjvSchema(resourceSchema('MCPServer'))),
    MCPPolicy: ajv.compile(toAjvSchema(resourceSchema('MCPPolicy'))),
  };
}

/** The compiled schema check for one kind (compiled once, on first use). */
export function resourceSchemaCheck(kind: ResourceKind): ResourceSchemaCheck {
  validators ??= compileValidators();
  return validators[kind];
}

/**
 * Defaults that depend on a sibling field: a pinned definition is named after its rule
 * (the digest covers the name), and an sql argument without options is read-only.
 */
export function applyDerivedDefaults(spec: MCPPolicySpec): void {
  for (const rule of spec.tools?.rules ?? []) {
    if (rule.definition !== undefined && typeof rule.definition === 'object' && !('name' in rule.definition)) {
      rule.definition = { name: rule.name, ...rule.definition };
    }
    for (const argument of Object.values(rule.arguments ?? {})) {
      if ((argument.kind === 'sql' || argument.kind === 'sql-fragment') && argument.sql === undefined) {
        argument.sql = { readOnly: true };
      }
    }
  }
}

/**
 * A deep copy of `doc` with every default applied; invalid parts are left as they are
 * (use `validateResource` to find them). `kind` picks the schema.
 */
export function applyDefaults<T>(kind: ResourceKind, doc: T): T {
  const copy = structuredClone(doc);
  resourceSchemaCheck(kind)(copy);
  if (kind === 'MCPPolicy' && isRecord(copy) && isRecord(copy.spec)) {
    applyDerivedDefaults(copy.spec as unknown as MCPPolicySpec);
  }
  return copy;
}

type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** An MCPPolicy as written: only `targetRefs` is required in the spec. */
export type MCPPolicyInput = Omit<MCPPolicy, 'spec'> & {
  spec: DeepPartial<MCPPolicySpec> & Pick<MCPPolicySpec, 'targetRefs'>;
};

/** An MCPServer as written: only `upstream.port` is required in the spec. */
export type MCPServerInput = Omit<MCPServer, 'spec'> & {
  spec: DeepPartial<MCPServerSpec> & { upstream: DeepPartial<MCPServerSpec['upstream']> & { port: number } };
};

/** A copy of the policy with every default applied (not validated: see `validateMCPPolicy`). */
export function applyPolicyDefaults(doc: MCPPolicyInput): MCPPolicy {
  return applyDefaults('MCPPolicy', doc) as unknown as MCPPolicy;
}

/** A copy of the server with every default applied (not validated: see `validateMCPServer`). */
export function applyServerDefaults(doc: MCPServerInput): MCPServer {
  return applyDefaults('MCPServer', doc) as unknown as MCPServer;
}

/** The policy spec a policy with only `targetRefs` gets (e.g. for the built-in default). */
export function defaultPolicySpec(targetRefs: MCPPolicySpec['targetRefs'] = []): MCPPolicySpec {
  const doc = applyDefaults('MCPPolicy', {
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPPolicy',
    metadata: { name: 'default' },
    spec: { targetRefs: structuredClone(targetRefs) },
  });
  return doc.spec as unknown as MCPPolicySpec;
}

/** The server spec a server with only `upstream.port` gets. */
export function defaultServerSpec(upstreamPort: number): MCPServerSpec {
  const doc = applyDefaults('MCPServer', {
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPServer',
    metadata: { name: 'default' },
    spec: { upstream: { port: upstreamPort } },
  });
  return doc.spec as unknown as MCPServerSpec;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
