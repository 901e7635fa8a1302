/**
 * The JSON Schema of mcpwarden.io/v1alpha1 `MCPServer` and `MCPPolicy`: the single source of
 * truth for field names, types, defaults, descriptions and cross-field rules. The CRDs in
 * `crds/` are generated from it (`npm run gen:crds`), and standalone mode validates and
 * defaults manifests with it through ajv (`validate.ts`), so the cluster and a laptop agree.
 *
 * The schemas are Kubernetes structural schemas: every field has a type, free-form parts
 * (tool input schemas, annotations) say `x-kubernetes-preserve-unknown-fields`, uniqueness
 * uses `x-kubernetes-list-type`, and cross-field rules are CEL in `x-kubernetes-validations`
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/).
 * `toAjvSchema` turns a node into plain JSON Schema for ajv; `validate.ts` carries the
 * TypeScript equivalents of the CEL rules, keyed by the same messages.
 */

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface CelRule {
  readonly rule: string;
  readonly message: string;
  /** JSON path (from `self`) of the field the message is about. */
  readonly fieldPath?: string;
}

export interface SchemaNode {
  type?: SchemaType;
  description?: string;
  default?: unknown;
  enum?: readonly (string | number)[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: readonly CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
}

// ---------------------------------------------------------------------------------------
// Shared constants (also used by validate.ts for messages)

/** Go-style durations as Kubernetes writes them: 30s, 15m, 1h30m, 250ms. */
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';
export const DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';
/** RFC 1123 subdomain, the rule for Kubernetes object names. */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** RFC 1123 label, the rule for namespaces. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** IPv4 or IPv6 address with an optional prefix length; validate.ts checks the numbers. */
export const CIDR_PATTERN = '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$';

/** Every MCP protocol revision the authz service understands (ARCHITECTURE.md "MCP protocol eras"). */
export const PROTOCOL_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'] as const;

export const POLICY_MODES = ['Enforce', 'Audit'] as const;
export const TOOL_ACTIONS = ['Allow', 'Deny'] as const;
export const DETECTOR_ACTIONS = ['Deny', 'Audit', 'Off'] as const;
export const BEHAVIOR_ACTIONS = ['Warn', 'Throttle', 'Suspend', 'Deny'] as const;
export const BEHAVIOR_DETECTORS = ['rate', 'loop', 'enumeration', 'burst', 'bulkAccess'] as const;
export const ARGUMENT_KINDS = [
  'path',
  'shell',
  'command',
  'sql',
  'sql-fragment',
  'url',
  'text',
  'identifier',
  'opaque',
] as const;
export const SESSION_BINDINGS = ['sourceAddress', 'userAgent', 'clientCertificate', 'token', 'principal'] as const;
export const TOOL_STATES = ['Approved', 'Unapproved', 'Drifted', 'Denied'] as const;
export const FINDING_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

// ---------------------------------------------------------------------------------------
// Builders. `field` appends the default to the description so `kubectl explain` always
// states it, from the same value ajv and the API server apply.

function describeDefault(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0) {
    return 'When omitted, every field below takes its own default.';
  }
  if (Array.isArray(value) && value.length === 0) return 'Defaults to an empty list.';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return `Defaults to [${value.join(', ')}].`;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return `Defaults to ${String(value)}.`;
  }
  return `Defaults to ${JSON.stringify(value)}.`;
}

function field(node: SchemaNode & { description: string }): SchemaNode {
  const note = describeDefault(node.default);
  return note === undefined ? node : { ...node, description: `${node.description} ${note}` };
}

function str(description: string, extra: Omit<SchemaNode, 'type' | 'description'> = {}): SchemaNode {
  return field({ type: 'string', description, ...extra });
}

function int(description: string, extra: Omit<SchemaNode, 'type' | 'description'> = {}): SchemaNode {
  return field({ type: 'integer', format: 'int64', description, ...extra });
}

function duration(description: string, defaultValue?: string): SchemaNode {
  return str(`${description} A duration such as 30s, 15m or 1h30m.`, {
    pattern: DURATION_PATTERN,
    maxLength: 32,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

/** CEL: a duration field of this object, when set, is longer than zero (`0s` would disable or divide by zero). */
function positive(name: string): CelRule {
  return { rule: `!has(self.${name}) || duration(self.${name}) > duration('0s')`, message: `${name} must be longer than zero`, fieldPath: `.${name}` };
}

function enumField<T extends string>(
  values: readonly T[],
  description: string,
  defaultValue?: T,
): SchemaNode {
  return str(`${description} One of: ${values.join(', ')}.`, {
    enum: values,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

function stringList(description: string, extra: Omit<SchemaNode, 'type' | 'description'> = {}, itemMax = 253): SchemaNode {
  return field({
    type: 'array',
    description,
    maxItems: 256,
    items: { type: 'string', description: 'One entry.', maxLength: itemMax },
    ...extra,
  });
}

function object(
  description: string,
  properties: Record<string, SchemaNode>,
  extra: Omit<SchemaNode, 'type' | 'description' | 'properties'> = {},
): SchemaNode {
  return field({ type: 'object', description, properties, ...extra });
}

function freeForm(description: string): SchemaNode {
  return field({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });
}

function stringMap(description: string): SchemaNode {
  return field({
    type: 'object',
    description,
    additionalProperties: { type: 'string', description: 'One value.' },
  });
}

// ---------------------------------------------------------------------------------------
// Common pieces

const conditionSchema: SchemaNode = object(
  'A metav1.Condition: one aspect of the resource state. Ready summarises the others.',
  {
    type: str('Condition type in CamelCase, e.g. Ready, Accepted, ToolsApproved.', {
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: enumField(['True', 'False', 'Unknown'], 'Status of the condition.'),
    observedGeneration: int('The metadata.generation the condition was computed from.', { minimum: 0 }),
    lastTransitionTime: str('When the status last changed (RFC 3339).', { format: 'date-time' }),
    reason: str('Stable CamelCase reason for the status, for machines.', {
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    message: str('Human readable explanation of the status.', { maxLength: 32768 }),
  },
  { required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'] },
);

const conditionsSchema: SchemaNode = field({
  type: 'array',
  description: 'Standard conditions, one per type.',
  maxItems: 32,
  items: conditionSchema,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

const observedGenerationSchema = int('The metadata.generation the controller last acted on.', { minimum: 0 });

/**
 * A tool definition as tools/list returns it, limited to the fields the pin digest covers
 * (authz/api/digest.ts DIGEST_FIELDS).
 */
const toolDefinitionSchema: SchemaNode = object(
  'The approved tool definition: the pin. A tools/call is allowed only while the live definition has the same digest (RFC 8785 canonical JSON over name, title, description, inputSchema, outputSchema, annotations), and arguments are validated against this inputSchema.',
  {
    name: str('Tool name as the server lists it. Defaults to the rule name.', { minLength: 1, maxLength: 128 }),
    title: str('Human readable title, as listed by the server.', { maxLength: 1024 }),
    description: str('Tool description, as listed by the server (scanned for hidden instructions).', {
      maxLength: 65536,
    }),
    inputSchema: freeForm(
      'JSON Schema of the tool arguments (type object). Arguments are validated against it; unknown properties and missing required ones are rejected. Required in a pinned definition. That it is type object and valid JSON Schema is checked by the authz service, not the API server (CEL cannot read free-form fields): a policy that fails it makes its servers deny every request (rule policy-invalid).',
    ),
    outputSchema: freeForm('JSON Schema of the structured tool result, as listed by the server.'),
    annotations: freeForm('Tool annotations (readOnlyHint, destructiveHint, …), as listed by the server.'),
  },
);

// ---------------------------------------------------------------------------------------
// MCPServer

const labelSelectorSchema: SchemaNode = object(
  'Pods that get the Envoy sidecar, as a standard label selector.',
  {
    matchLabels: stringMap('Labels a pod must carry, all of them.'),
    matchExpressions: field({
      type: 'array',
      description: 'Label requirements, all of which must hold.',
      maxItems: 32,
      items: object(
        'One label requirement.',
        {
          key: str('Label key.', { minLength: 1, maxLength: 317 }),
          operator: enumField(['In', 'NotIn', 'Exists', 'DoesNotExist'], 'How the key relates to the values.'),
          values: stringList('Values for In and NotIn; empty for Exists and DoesNotExist.', {}, 63),
        },
        { required: ['key', 'operator'] },
      ),
    }),
  },
);

export const mcpServerSpecSchema: SchemaNode = object(
  'Desired state of an MCP server protected by MCP Warden.',
  {
    selector: labelSelectorSchema,
    upstream: object(
      'The MCP server inside the pod, where Envoy forwards allowed requests.',
      {
        port: int('TCP port of the MCP server.', { minimum: 1, maximum: 65535 }),
        path: str('HTTP path of the MCP Streamable HTTP endpoint.', {
          default: '/mcp',
          pattern: '^/',
          maxLength: 1024,
        }),
        host: str('Host or address of the MCP server as seen from the sidecar.', {
          default: '127.0.0.1',
          minLength: 1,
          maxLength: 253,
        }),
      },
      { required: ['port'] },
    ),
    listener: object(
      'Where Envoy listens for agents.',
      { port: int('TCP port Envoy listens on.', { default: 15080, minimum: 1, maximum: 65535 }) },
      { default: {} },
    ),
    trustedProxies: stringList(
      'CIDRs of proxies in front of Envoy whose X-Forwarded-For entry is believed when finding the client address; all other hops are ignored.',
      { default: [], items: { type: 'string', description: 'An IPv4 or IPv6 address or CIDR, e.g. 10.0.0.0/8.', pattern: CIDR_PATTERN, maxLength: 64 } },
    ),
    auth: object('Optional authentication Envoy performs before the authz service sees a request.', {
      jwt: object(
        'Verify a bearer JWT on every request; its subject and claims become the principal.',
        {
          issuer: str('Expected iss claim.', { minLength: 1, maxLength: 2048 }),
          audiences: stringList('Accepted aud values; empty accepts any audience.'),
          jwksUri: str('URL of the issuer JSON Web Key Set.', { pattern: '^https?://', maxLength: 2048 }),
        },
        { required: ['issuer', 'jwksUri'] },
      ),
    }),
    discovery: object(
      'The operator connects to the server as an MCP client, lists its tools and records their digests and scan findings in status.tools.',
      {
        interval: duration('How often tools are listed again. Longer than zero.', '10m'),
        enabled: field({ type: 'boolean', description: 'Whether discovery runs.', default: true }),
      },
      { default: {}, 'x-kubernetes-validations': [positive('interval')] },
    ),
  },
  {
    required: ['upstream'],
    'x-kubernetes-validations': [
      {
        rule: '!has(self.listener) || !has(self.listener.port) || self.listener.port != self.upstream.port',
        message: 'listener.port must differ from upstream.port: Envoy and the MCP server share the pod network',
        fieldPath: '.listener.port',
      },
      {
        // isIP/isCIDR: the Kubernetes IP and CIDR CEL libraries (API server 1.31 and later).
        rule: '!has(self.trustedProxies) || self.trustedProxies.all(p, isIP(p) || isCIDR(p))',
        message: 'trustedProxies entries must be IPv4 or IPv6 addresses or CIDRs such as 10.0.0.0/8 or fd00::/8',
        fieldPath: '.trustedProxies',
      },
    ],
  },
);

export const mcpServerStatusSchema: SchemaNode = object('Observed state, written by the operator.', {
  observedGeneration: observedGenerationSchema,
  conditions: conditionsSchema,
  tools: field({
    type: 'array',
    description: 'Tools the server lists, with their live digest and approval state.',
    maxItems: 1024,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
    items: object(
      'One discovered tool.',
      {
        name: str('Tool name.', { minLength: 1, maxLength: 128 }),
        digest: str('sha256 digest of the live definition.', { pattern: DIGEST_PATTERN }),
        state: enumField(TOOL_STATES, 'Whether the live definition matches an approved pin.'),
        findings: field({
          type: 'array',
          description: 'Scanner findings in the live definition (hidden instructions, invisible Unicode, …).',
          maxItems: 64,
          items: object(
            'One finding.',
            {
              rule: str('Scanner rule name, kebab-case.', { minLength: 1, maxLength: 128 }),
              severity: enumField(FINDING_SEVERITIES, 'How severe the finding is.'),
              excerpt: str('Redacted excerpt of the text that matched.', { maxLength: 1024 }),
            },
            { required: ['rule'] },
          ),
        }),
      },
      { required: ['name', 'digest'] },
    ),
  }),
  driftedTools: int('Number of tools whose live digest differs from the approved pin.', { minimum: 0 }),
  toolsSummary: str(
    'The names of status.tools joined with ", " (e.g. "read_file, run_backup"), for the Tools printer column: a JSONPath column over a list shows only its first element.',
    { maxLength: 4096 },
  ),
});

// ---------------------------------------------------------------------------------------
// MCPPolicy

const argumentRuleSchema: SchemaNode = object(
  'How one argument is inspected. Keys of the arguments map are top-level argument names or JSON pointers (/filter/path).',
  {
    kind: enumField(
      ARGUMENT_KINDS,
      'What the value is, which decides the injection detectors and allowlists applied: path (traversal, roots), shell and command (command injection), sql and sql-fragment (SQL injection, read-only), url (SSRF, hosts), text (prompt injection), identifier (a plain name or id), opaque (not inspected).',
    ),
    allow: stringList(
      'path: glob roots the normalised path must fall under; url: host globs allowed. Empty allows any (subject to the detectors).',
      {},
      1024,
    ),
    deny: stringList('path: glob roots refused after normalisation; url: host globs refused.', {}, 1024),
    schemes: stringList('url: allowed URL schemes (default http, https, ws, wss, ftp; every one is held to the host rules), e.g. [https].', {}, 32),
    commands: stringList('command and shell: allowed program names (argv[0]).', {}, 256),
    sql: object('sql and sql-fragment: statement restrictions. Omitted for kind sql or sql-fragment: readOnly true.', {
      readOnly: field({
        type: 'boolean',
        description: 'Allow only statements that cannot change data (SELECT without side effects).',
        default: true,
      }),
      allowFunctions: stringList('Functions allowed in addition to the built-in safe set.', {}, 128),
      denyFunctions: stringList('Functions refused in addition to the built-in dangerous set.', {}, 128),
      maxRows: int('Largest LIMIT a query may ask for.', { minimum: 1 }),
    }),
    maxLength: int('Longest value accepted, in characters.', { minimum: 1 }),
  },
  {
    required: ['kind'],
    'x-kubernetes-validations': [
      {
        rule: "!has(self.sql) || self.kind == 'sql' || self.kind == 'sql-fragment'",
        message: 'sql options apply only to kind sql or sql-fragment',
        fieldPath: '.sql',
      },
      {
        rule: "!has(self.commands) || self.kind == 'command' || self.kind == 'shell'",
        message: 'commands apply only to kind command or shell',
        fieldPath: '.commands',
      },
      {
        rule: "!has(self.schemes) || self.kind == 'url'",
        message: 'schemes apply only to kind url',
        fieldPath: '.schemes',
      },
      {
        rule: "!has(self.allow) || self.kind == 'path' || self.kind == 'url'",
        message: 'allow applies only to kind path or url',
        fieldPath: '.allow',
      },
      {
        rule: "!has(self.deny) || self.kind == 'path' || self.kind == 'url'",
        message: 'deny applies only to kind path or url',
        fieldPath: '.deny',
      },
    ],
  },
);

const toolRuleSchema: SchemaNode = object(
  'What happens to calls of one tool.',
  {
    name: str('Tool name, exactly as the server lists it.', { minLength: 1, maxLength: 128 }),
    action: enumField(TOOL_ACTIONS, 'Whether calls to the tool are allowed (subject to the checks below) or denied.', 'Allow'),
    definition: toolDefinitionSchema,
    digest: str(
      'Pin by digest alone (sha256:<64 hex>); the schema then comes from discovery. When definition is also set, the digest must be the definition digest; the API server cannot check that (CEL cannot compute the digest), the authz service does: a mismatch makes the servers of the policy deny every request (rule policy-invalid).',
      { pattern: DIGEST_PATTERN },
    ),
    arguments: field({
      type: 'object',
      description:
        'Per-argument inspection, by argument name or JSON pointer. Arguments not listed get a kind inferred from the pinned inputSchema.',
      maxProperties: 64,
      additionalProperties: argumentRuleSchema,
    }),
    when: str(
      'CEL expression over {principal, claims, tool, args, source}; the call is allowed only when it is true. E.g. claims.groups.exists(g, g == "analysts"). The API server does not compile it; the authz service does, and a policy whose expression does not compile makes its servers deny every request (rule policy-invalid).',
      { maxLength: 4096 },
    ),
    principals: stringList('Principals allowed to call the tool: exact, or with a trailing * as a prefix glob. Empty allows anyone.'),
  },
  {
    required: ['name'],
    'x-kubernetes-validations': [
      {
        rule: '!has(self.definition) || !has(self.definition.name) || self.definition.name == self.name',
        message: 'definition.name must equal the rule name (or be omitted)',
        fieldPath: '.definition.name',
      },
      {
        rule: '!has(self.definition) || has(self.definition.inputSchema)',
        message: 'definition needs inputSchema: the schema arguments are validated against',
        fieldPath: '.definition.inputSchema',
      },
    ],
  },
);

const behaviorRuleSchema: SchemaNode = object(
  'One behaviour detector and the action taken when it trips.',
  {
    detector: enumField(
      BEHAVIOR_DETECTORS,
      'rate: calls per window; loop: the same tool with near-identical arguments; enumeration: sequential values of an argument; burst: a jump of factor over the calm baseline; bulkAccess: distinct values of one argument.',
    ),
    threshold: int('How many events within window trip the detector (all detectors but burst).', { minimum: 1 }),
    window: duration('Sliding window the threshold counts over (all detectors but burst). Longer than zero.'),
    factor: field({
      type: 'number',
      description: 'burst: how many times the calm baseline rate counts as a burst.',
      minimum: 1,
    }),
    argument: str('bulkAccess and enumeration: the argument whose distinct or sequential values are counted.', {
      minLength: 1,
      maxLength: 256,
    }),
    tool: str('Count only calls of this tool. Omitted: all tools.', { minLength: 1, maxLength: 128 }),
    scope: enumField(['session', 'principal'], 'Whose calls are counted together.', 'session'),
    action: enumField(
      BEHAVIOR_ACTIONS,
      'Graduated response: Warn logs, Throttle answers 429 with Retry-After, Suspend refuses the session for actions.suspend.duration, Deny refuses the call.',
    ),
  },
  {
    required: ['detector', 'action'],
    'x-kubernetes-validations': [
      { rule: "self.detector != 'burst' || has(self.factor)", message: 'detector burst needs factor', fieldPath: '.factor' },
      {
        rule: "self.detector != 'bulkAccess' || has(self.argument)",
        message: 'detector bulkAccess needs argument',
        fieldPath: '.argument',
      },
      {
        rule: "self.detector == 'burst' || (has(self.threshold) && has(self.window))",
        message: 'detectors other than burst need threshold and window',
        fieldPath: '.threshold',
      },
      positive('window'),
    ],
  },
);

/** The behaviour detectors a policy gets when it lists none (ARCHITECTURE.md "Defaults matter"). */
export const DEFAULT_BEHAVIOR = [
  { detector: 'loop', threshold: 100, window: '60s', action: 'Throttle' },
  { detector: 'rate', threshold: 50, window: '1s', action: 'Throttle' },
  { detector: 'bulkAccess', argument: 'path', threshold: 200, window: '60s', action: 'Suspend' },
] as const;

export const mcpPolicySpecSchema: SchemaNode = object(
  'Desired protection of the MCPServers it targets. Several policies may target one server: the strictest verdict wins.',
  {
    targetRefs: field({
      type: 'array',
      description: 'MCPServers in the same namespace that this policy protects. At least one.',
      minItems: 1,
      maxItems: 64,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: object(
        'A reference to one MCPServer.',
        {
          name: str('Name of the MCPServer.', { minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN }),
          kind: enumField(['MCPServer'], 'Kind of the target.', 'MCPServer'),
        },
        { required: ['name'] },
      ),
    }),
    mode: enumField(POLICY_MODES, 'Enforce denies; Audit allows and logs what would have been denied.', 'Enforce'),
    protocol: object(
      'Transport and JSON-RPC/MCP protocol checks (stages 1 and 2).',
      {
        maxBodyBytes: int('Largest request body, checked before parsing (413 beyond it).', {
          default: 1048576,
          minimum: 1,
          maximum: 104857600,
        }),
        versions: field({
          type: 'array',
          description: `MCP protocol revisions accepted. Known revisions: ${PROTOCOL_VERSIONS.join(', ')}.`,
          default: [...PROTOCOL_VERSIONS],
          minItems: 1,
          maxItems: 16,
          'x-kubernetes-list-type': 'set',
          items: { type: 'string', description: 'A protocol revision date.', enum: PROTOCOL_VERSIONS },
        }),
        maxDepth: int('Deepest nesting of JSON objects and arrays in a body.', { default: 64, minimum: 1, maximum: 1024 }),
        maxWidth: int('Most members of one JSON object or elements of one array.', {
          default: 10000,
          minimum: 1,
          maximum: 1000000,
        }),
        maxBatchSize: int('Most messages in one JSON-RPC batch, in revisions that allow batches.', {
          default: 32,
          minimum: 1,
          maximum: 1024,
        }),
        allowMethods: stringList('Methods allowed beyond the revision method table (vendor extensions).', {}, 128),
        denyMethods: stringList('Methods refused even though the revision defines them.', {}, 128),
      },
      { default: {} },
    ),
    tools: object(
      'Tool allowlist and pins (stages 3 to 6).',
      {
        default: enumField(TOOL_ACTIONS, 'What happens to tools that no rule names.', 'Deny'),
        rules: field({
          type: 'array',
          description: 'One rule per tool; names are unique.',
          default: [],
          maxItems: 512,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: toolRuleSchema,
        }),
      },
      { default: {} },
    ),
    detection: object(
      'Injection detectors run on tool arguments (stage 5): Deny refuses, Audit logs, Off skips.',
      {
        commandInjection: enumField(DETECTOR_ACTIONS, 'Shell metacharacters and command chaining in shell/command arguments.', 'Deny'),
        sqlInjection: enumField(DETECTOR_ACTIONS, 'Stacked statements, tautologies and writes in sql arguments.', 'Deny'),
        pathTraversal: enumField(DETECTOR_ACTIONS, 'Escapes from allowed roots, including encoded variants, in path arguments.', 'Deny'),
        ssrf: enumField(DETECTOR_ACTIONS, 'Internal, link-local and metadata addresses in url arguments.', 'Deny'),
        promptInjection: enumField(DETECTOR_ACTIONS, 'Instruction-override markers in text arguments.', 'Audit'),
      },
      { default: {} },
    ),
    session: object(
      'Session integrity (stage 7).',
      {
        bind: field({
          type: 'array',
          description: `What a session is bound to; a request of the session that differs is a mismatch. Values: ${SESSION_BINDINGS.join(', ')}.`,
          default: ['sourceAddress', 'token'],
          maxItems: 5,
          'x-kubernetes-list-type': 'set',
          items: { type: 'string', description: 'One binding.', enum: SESSION_BINDINGS },
        }),
        sourcePrefix: object(
          'How much of the source address is bound: the prefix length compared.',
          {
            ipv4: int('IPv4 prefix length.', { default: 32, minimum: 0, maximum: 32 }),
            ipv6: int('IPv6 prefix length (64 tolerates privacy-address rotation within a network).', {
              default: 64,
              minimum: 0,
              maximum: 128,
            }),
          },
          { default: {} },
        ),
        onMismatch: enumField(['Deny', 'Suspend'], 'What a binding mismatch does.', 'Deny'),
        maxLifetime: duration('Longest a session may live. Longer than zero.', '24h'),
        idleTimeout: duration('Longest a session may stay unused. At most maxLifetime.', '2h'),
        requestIds: object(
          'JSON-RPC id checks within a session.',
          {
            onReplay: enumField(
              ['Deny', 'Warn', 'Off'],
              'What a repeated request id does; also an integer id more than reorderWindow below the highest seen (rule id-too-old), which cannot be proven fresh.',
              'Deny',
            ),
            reorderWindow: int('How far integer ids may arrive out of order: ids within this distance of the highest are remembered for replay detection.', {
              default: 32,
              minimum: 0,
              maximum: 4096,
            }),
            onGap: enumField(['Deny', 'Warn', 'Off'], 'What an integer id jumping more than reorderWindow ahead of the highest seen does (rule id-gap).', 'Warn'),
            replayWindow: duration(
              'Sessions without Mcp-Session-Id (stateless revision): how long a request id and message are remembered for replay detection.',
              '5m',
            ),
          },
          { default: {} },
        ),
        impossibleTravel: object(
          'A session seen from a different network sooner than minInterval after its last request.',
          {
            minInterval: duration('Shortest plausible time between requests from different networks.'),
            action: enumField(['Deny', 'Suspend', 'Warn'], 'What impossible travel does.', 'Deny'),
          },
          { required: ['minInterval'] },
        ),
        onStoreUnavailable: enumField(
          ['FailClosed', 'FailOpen'],
          'What happens when the session store (Redis) cannot be reached: FailClosed denies.',
          'FailClosed',
        ),
      },
      {
        default: {},
        'x-kubernetes-validations': [
          {
            rule: '!has(self.idleTimeout) || !has(self.maxLifetime) || duration(self.idleTimeout) <= duration(self.maxLifetime)',
            message: 'idleTimeout must not be longer than maxLifetime',
            fieldPath: '.idleTimeout',
          },
          positive('maxLifetime'),
          positive('idleTimeout'),
        ],
      },
    ),
    behavior: field({
      type: 'array',
      description: `Behaviour detectors (stage 8) with graduated actions. Listing any replaces the whole default list; an empty list turns behaviour detection off.`,
      default: DEFAULT_BEHAVIOR.map((rule) => ({ ...rule })),
      maxItems: 64,
      items: behaviorRuleSchema,
    }),
    actions: object(
      'Parameters of the graduated actions.',
      {
        throttle: object(
          'Throttle answers 429.',
          { retryAfter: duration('Retry-After sent with a throttled answer. At least 1s (it is sent in whole seconds).', '30s') },
          {
            default: {},
            'x-kubernetes-validations': [
              {
                rule: "!has(self.retryAfter) || duration(self.retryAfter) >= duration('1s')",
                message: 'retryAfter must be at least 1s (Retry-After is sent in whole seconds)',
                fieldPath: '.retryAfter',
              },
            ],
          },
        ),
        suspend: object(
          'Suspend refuses every request of the session.',
          { duration: duration('How long a suspension lasts. Longer than zero.', '15m') },
          { default: {}, 'x-kubernetes-validations': [positive('duration')] },
        ),
      },
      { default: {} },
    ),
  },
  { required: ['targetRefs'] },
);

export const mcpPolicyStatusSchema: SchemaNode = object('Observed state, written by the operator.', {
  observedGeneration: observedGenerationSchema,
  conditions: conditionsSchema,
  targets: stringList('namespace/name of the MCPServers the policy applies to.'),
  targetsSummary: str(
    'The names of spec.targetRefs joined with ", " (e.g. "warden-demo, ghost"), for the Targets printer column: a JSONPath column over a list shows only its first element.',
    { maxLength: 4096 },
  ),
});

// ---------------------------------------------------------------------------------------
// Whole resources (for ajv: Kubernetes validates apiVersion, kind and metadata itself)

export type ResourceKind = 'MCPServer' | 'MCPPolicy';

const metadataSchema: SchemaNode = {
  type: 'object',
  description: 'Standard object metadata.',
  required: ['name'],
  properties: {
    name: str('Object name (RFC 1123 subdomain).', { minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN }),
    namespace: str('Namespace (RFC 1123 label).', {
      default: 'default',
      minLength: 1,
      maxLength: 63,
      pattern: DNS_LABEL_PATTERN,
    }),
    labels: stringMap('Labels.'),
    annotations: stringMap('Annotations.'),
  },
  // Everything else Kubernetes writes (uid, resourceVersion, managedFields, …) passes.
  'x-kubernetes-preserve-unknown-fields': true,
};

export function resourceSchema(kind: ResourceKind): SchemaNode {
  const spec = kind === 'MCPServer' ? mcpServerSpecSchema : mcpPolicySpecSchema;
  const status = kind === 'MCPServer' ? mcpServerStatusSchema : mcpPolicyStatusSchema;
  return {
    type: 'object',
    description: `A ${kind} manifest.`,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { type: 'string', description: 'mcpwarden.io/v1alpha1', enum: ['mcpwarden.io/v1alpha1'] },
      kind: { type: 'string', description: kind, enum: [kind] },
      metadata: metadataSchema,
      spec,
      status,
    },
  };
}

// ---------------------------------------------------------------------------------------
// ajv form

/** A plain JSON Schema (draft-07) object, as ajv takes it. */
export type JsonSchemaObject = Record<string, unknown>;

/**
 * Plain JSON Schema for ajv from a structural schema: drops the Kubernetes-only keywords,
 * turns `x-kubernetes-list-type: set` into `uniqueItems`, and closes every object that
 * lists its properties (Kubernetes prunes unknown fields; a file loader should name them).
 */
export function toAjvSchema(node: SchemaNode): JsonSchemaObject {
  const out: JsonSchemaObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties' && value !== undefined) {
      const props: Record<string, JsonSchemaObject> = {};
      for (const [name, child] of Object.entries(value as Record<string, SchemaNode>)) props[name] = toAjvSchema(child);
      out.properties = props;
    } else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object' && value !== null) {
      out[key] = toAjvSchema(value as SchemaNode);
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  if (
    node.type === 'object' &&
    node.properties !== undefined &&
    node.additionalProperties === undefined &&
    node['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}
