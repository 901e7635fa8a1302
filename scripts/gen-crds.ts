/**
 * Writes crds/*.yaml from authz/api/schema.ts, so the CRDs and standalone validation share
 * one schema, and the same files into the Helm chart's crds/ (helm installs them before the
 * templates). Run with `npm run gen:crds`; a test fails when the committed files differ.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Document, Scalar, visit } from 'yaml';
import {
  mcpPolicySpecSchema,
  mcpPolicyStatusSchema,
  mcpServerSpecSchema,
  mcpServerStatusSchema,
  type ResourceKind,
  type SchemaNode,
} from '../authz/api/schema.js';
import { API_GROUP, API_VERSION } from '../authz/api/types.js';

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

interface CrdSource {
  kind: ResourceKind;
  plural: string;
  shortName: string;
  description: string;
  spec: SchemaNode;
  status: SchemaNode;
  columns: PrinterColumn[];
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' };

const SOURCES: readonly CrdSource[] = [
  {
    kind: 'MCPServer',
    plural: 'mcpservers',
    shortName: 'mcps',
    description:
      'An MCP server protected by MCP Warden: which pods get the Envoy sidecar, where the server listens inside the pod, and how its tools are discovered and pinned. Policies attach to it through MCPPolicy.spec.targetRefs.',
    spec: mcpServerSpecSchema,
    status: mcpServerStatusSchema,
    columns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether the sidecar and discovery are working.' },
      { name: 'Drifted', type: 'integer', jsonPath: '.status.driftedTools', description: 'Tools whose live definition differs from the approved pin (blocked).' },
      // A JSONPath column over a list prints only its first element, so the operator writes a joined string.
      { name: 'Tools', type: 'string', jsonPath: '.status.toolsSummary', description: 'Tools the server lists.', priority: 1 },
      AGE,
    ],
  },
  {
    kind: 'MCPPolicy',
    plural: 'mcppolicies',
    shortName: 'mcpp',
    description:
      'How MCP Warden protects the MCPServers it targets: protocol limits, the tool allowlist with pinned definitions, argument inspection, injection detectors, session integrity and behaviour limits. Every section has secure defaults; a policy with only targetRefs is useful.',
    spec: mcpPolicySpecSchema,
    status: mcpPolicyStatusSchema,
    columns: [
      { name: 'Mode', type: 'string', jsonPath: '.spec.mode', description: 'Enforce or Audit.' },
      { name: 'Targets', type: 'string', jsonPath: '.status.targetsSummary', description: 'MCPServers the policy protects.' },
      { name: 'Accepted', type: 'string', jsonPath: '.status.conditions[?(@.type=="Accepted")].status', description: 'Whether the policy compiled and applies.' },
      AGE,
    ],
  },
];

/** Where the CRDs are written: kubectl users apply crds/, the Helm chart ships its own copy. */
export const CRD_DIRS = ['crds', 'deploy/helm/mcp-warden/crds'] as const;

export interface GeneratedCrd {
  /** Path relative to the repository root (under crds/). */
  readonly file: string;
  /** Every path the generator writes this CRD to, relative to the repository root. */
  readonly files: readonly string[];
  readonly object: Record<string, unknown>;
  readonly text: string;
}

function crdObject(source: CrdSource): Record<string, unknown> {
  const singular = source.kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${source.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: source.kind,
        listKind: `${source.kind}List`,
        plural: source.plural,
        singular,
        shortNames: [source.shortName],
        categories: ['mcp'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: source.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: source.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: `${API_GROUP}/${API_VERSION}` },
                kind: { type: 'string', description: source.kind },
                metadata: { type: 'object' },
                spec: source.spec,
                status: source.status,
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * Go's YAML 1.1 resolver (sigs.k8s.io/yaml, used by kubectl) parses numbers with
 * strconv's base-0 rules, so it also reads `0o17`, `0b1` or `1_000` as integers; any string
 * that starts like a number is quoted, which costs nothing where it was not needed.
 */
const NUMBER_LIKE = /^[-+.]?[0-9]/;

/**
 * kubectl reads manifests as YAML 1.1, where plain `Off`, `yes`, `~` or `2025-06-18` are not
 * strings; serializing with the 1.1 schema quotes every string 1.1 would read otherwise.
 */
export function toKubectlYaml(value: unknown): string {
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && NUMBER_LIKE.test(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

const HEADER = '# Generated by scripts/gen-crds.ts from authz/api/schema.ts (npm run gen:crds). Do not edit.\n';

export function generateCrds(): GeneratedCrd[] {
  return SOURCES.map((source) => {
    const object = crdObject(source);
    // JSON round trip drops the readonly/`as const` typing and any undefined members.
    const plain = JSON.parse(JSON.stringify(object)) as Record<string, unknown>;
    const name = `${API_GROUP}_${source.plural}.yaml`;
    return {
      file: `crds/${name}`,
      files: CRD_DIRS.map((dir) => `${dir}/${name}`),
      object: plain,
      text: HEADER + toKubectlYaml(plain),
    };
  });
}

async function main(): Promise<void> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  for (const crd of generateCrds()) {
    for (const file of crd.files) {
      const target = join(root, file);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, crd.text);
      process.stdout.write(`wrote ${file}\n`);
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`gen-crds: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
