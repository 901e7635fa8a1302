/**
 * Writes tool pins into an MCPPolicy held in a YAML file, keeping the rest of the file as the
 * user wrote it: the documents are edited as YAML nodes (comments survive), then only the
 * lines that the edit changed are replaced in the original text, so column-aligned comments
 * and flow style elsewhere stay byte for byte (a reviewable Git diff).
 */
import { isMap, isScalar, isSeq, parseAllDocuments, Pair, Scalar, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { toolDigest } from '../api/digest.js';
import type { ToolDefinition } from '../api/types.js';

/** A file that cannot be edited as asked (no such policy, not YAML …): exit 2. */
export class PinError extends Error {}

export type PinAction = 'pinned' | 're-pinned' | 'unchanged';

export interface PinOutcome {
  readonly tool: string;
  readonly action: PinAction;
  /** The pin before (for re-pinned). */
  readonly from: string | undefined;
  readonly to: string;
  /** The policy had no rule for the tool; one with `action: Allow` was added. */
  readonly addedRule: boolean;
}

export interface PinResult {
  readonly text: string;
  readonly outcomes: readonly PinOutcome[];
  /** `namespace/name` of the edited MCPPolicy. */
  readonly policy: string;
}

export interface PolicyRules {
  readonly policy: string;
  readonly rules: readonly string[];
}

export interface PinOptions {
  /** `metadata.name` of the MCPPolicy, when the file holds more than one. */
  readonly policyName?: string | undefined;
  /** Write `digest:` alone instead of the full `definition`. */
  readonly digestOnly?: boolean;
}

const RENDER = { lineWidth: 0, flowCollectionPadding: false } as const;
/** Past this many cells the line diff gives up and the edited region is taken whole. */
const MAX_DIFF_CELLS = 4_000_000;

/** The definition as the policy stores it: the digested fields as served, without the name. */
export function servedDefinition(tool: ToolDefinition): Record<string, unknown> {
  const definition: Record<string, unknown> = {};
  if (tool.title !== undefined) definition.title = tool.title;
  if (tool.description !== undefined) definition.description = tool.description;
  if (tool.inputSchema !== undefined) definition.inputSchema = tool.inputSchema;
  if (tool.outputSchema !== undefined) definition.outputSchema = tool.outputSchema;
  if (tool.annotations !== undefined) definition.annotations = tool.annotations;
  return definition;
}

function parse(text: string, file: string): Document.Parsed[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) return [];
  docs.forEach((doc, i) => {
    const problem = doc.errors[0];
    if (problem !== undefined) throw new PinError(`${file}:doc ${i + 1}: YAML syntax error: ${problem.message.split('\n')[0] ?? ''}`);
  });
  return docs;
}

function findPolicy(docs: readonly Document.Parsed[], file: string, name: string | undefined): { doc: Document.Parsed; key: string } {
  const policies = docs.filter((doc) => {
    const apiVersion = doc.get('apiVersion');
    return doc.get('kind') === 'MCPPolicy' && typeof apiVersion === 'string' && apiVersion.startsWith('mcpwarden.io/');
  });
  const keyOf = (doc: Document.Parsed): string => `${String(doc.getIn(['metadata', 'namespace']) ?? 'default')}/${String(doc.getIn(['metadata', 'name']))}`;
  const chosen = name === undefined ? policies : policies.filter((doc) => doc.getIn(['metadata', 'name']) === name);
  if (chosen.length === 1 && chosen[0] !== undefined) return { doc: chosen[0], key: keyOf(chosen[0]) };
  if (policies.length === 0) throw new PinError(`${file}: no MCPPolicy document (kind: MCPPolicy, apiVersion: mcpwarden.io/…)`);
  const names = policies.map(keyOf).join(', ');
  if (chosen.length === 0) throw new PinError(`${file}: no MCPPolicy named ${name} (found ${names})`);
  throw new PinError(`${file}: ${chosen.length} MCPPolicy documents (${names}); choose one with --name NAME`);
}

function rulesOf(doc: Document.Parsed, file: string, create: boolean): YAMLSeq | undefined {
  const node = doc.getIn(['spec', 'tools', 'rules'], true);
  if (isSeq(node)) return node;
  if (node !== undefined && !(isScalar(node) && node.value === null)) throw new PinError(`${file}: spec.tools.rules is not a list`);
  if (!create) return undefined;
  const tools = doc.getIn(['spec', 'tools'], true);
  if (isMap(tools)) tools.flow = false;
  doc.setIn(['spec', 'tools', 'rules'], doc.createNode([]));
  const created = doc.getIn(['spec', 'tools', 'rules'], true);
  if (!isSeq(created)) throw new PinError(`${file}: cannot create spec.tools.rules`);
  return created;
}

function ruleName(item: unknown): string | undefined {
  if (!isMap(item)) return undefined;
  const name = item.get('name');
  return typeof name === 'string' ? name : undefined;
}

/** The MCPPolicy the file holds and the tool names it has rules for. */
export function readPolicyRules(text: string, file: string, policyName?: string): PolicyRules {
  const { doc, key } = findPolicy(parse(text, file), file, policyName);
  const rules = rulesOf(doc, file, false);
  return { policy: key, rules: (rules?.items ?? []).map(ruleName).filter((n): n is string => n !== undefined) };
}

function currentPin(doc: Document.Parsed, rule: YAMLMap, name: string): string | undefined {
  const definition = rule.get('definition', true);
  if (isMap(definition)) {
    try {
      return toolDigest({ ...(definition.toJS(doc) as Record<string, unknown>), name });
    } catch {
      return undefined;
    }
  }
  const digest = rule.get('digest');
  return typeof digest === 'string' ? digest : undefined;
}

/** Sets `key` on the map, in place when present, else right after the first of `after` present. */
function setNear(map: YAMLMap, key: string, value: unknown, after: readonly string[], replacing: string): void {
  const items = map.items as Array<Pair<unknown, unknown>>;
  const keyName = (pair: Pair<unknown, unknown>): unknown => (isScalar(pair.key) ? pair.key.value : pair.key);
  const existing = items.findIndex((pair) => keyName(pair) === key);
  if (existing >= 0) {
    (items[existing] as Pair<unknown, unknown>).value = value;
    return;
  }
  const replaced = items.findIndex((pair) => keyName(pair) === replacing);
  if (replaced >= 0) {
    items[replaced] = new Pair(new Scalar(key), value);
    return;
  }
  let at = items.length;
  for (const anchor of after) {
    const i = items.findIndex((pair) => keyName(pair) === anchor);
    if (i >= 0) {
      at = i + 1;
      break;
    }
  }
  items.splice(at, 0, new Pair(new Scalar(key), value));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flow collections longer than this become block style when edited. */
const MAX_FLOW_CHARS = 80;

/**
 * Makes `node` hold `value`, keeping the nodes of the parts that did not change (their flow
 * style and comments), so a re-pin diff shows what the server changed and nothing else.
 */
function updateInPlace(doc: Document.Parsed, node: unknown, value: unknown): unknown {
  if (isMap(node) && isPlainObject(value)) {
    for (const pair of [...node.items]) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key !== 'string' || !(key in value)) node.delete(pair.key);
    }
    for (const [key, child] of Object.entries(value)) {
      const existing = node.get(key, true);
      node.set(key, existing === undefined ? doc.createNode(child) : updateInPlace(doc, existing, child));
    }
    if (node.flow === true && JSON.stringify(value).length > MAX_FLOW_CHARS) node.flow = false;
    return node;
  }
  if (isSeq(node) && Array.isArray(value)) {
    node.items = value.map((child, i) => (i < node.items.length ? updateInPlace(doc, node.items[i], child) : doc.createNode(child)));
    if (node.flow === true && JSON.stringify(value).length > MAX_FLOW_CHARS) node.flow = false;
    return node;
  }
  if (isScalar(node) && (typeof value !== 'object' || value === null)) {
    if (node.value !== value) node.value = value;
    return node;
  }
  return doc.createNode(value);
}

function pinRule(doc: Document.Parsed, rules: YAMLSeq, tool: ToolDefinition, digestOnly: boolean): PinOutcome {
  const to = toolDigest(tool);
  const field = digestOnly ? 'digest' : 'definition';
  const other = digestOnly ? 'definition' : 'digest';
  const rule = rules.items.find((item) => ruleName(item) === tool.name);
  if (rule === undefined) {
    rules.flow = false;
    rules.items.push(doc.createNode({ name: tool.name, action: 'Allow', [field]: digestOnly ? to : servedDefinition(tool) }));
    return { tool: tool.name, action: 'pinned', from: undefined, to, addedRule: true };
  }
  if (!isMap(rule)) throw new Error('unreachable: rules are matched by map name');
  const from = currentPin(doc, rule, tool.name);
  if (from === to) return { tool: tool.name, action: 'unchanged', from, to, addedRule: false };
  // A block value inside a flow mapping would turn the whole rule into one long line.
  rule.flow = false;
  const existing = rule.get(field, true);
  const value = digestOnly ? to : existing !== undefined ? updateInPlace(doc, existing, servedDefinition(tool)) : doc.createNode(servedDefinition(tool));
  setNear(rule, field, value, ['action', 'name'], other);
  // A stale pin of the other form would contradict the new one (the load rejects a mismatch).
  rule.delete(other);
  return { tool: tool.name, action: from === undefined ? 'pinned' : 're-pinned', from, to, addedRule: false };
}

function render(docs: readonly Document.Parsed[]): string {
  return docs.map((doc) => doc.toString(RENDER)).join('');
}

/**
 * The original text with only the lines that changed between `baseline` (the unedited
 * documents, re-rendered) and `after` (the edited ones) replaced. Undefined when the
 * re-rendering does not line up with the original, so the caller falls back to `after`.
 */
export function patchChangedLines(original: string, baseline: string, after: string): string | undefined {
  const o = original.split('\n');
  const b = baseline.split('\n');
  const a = after.split('\n');
  if (o.length !== b.length) return undefined;
  let start = 0;
  while (start < b.length && start < a.length && b[start] === a[start]) start++;
  let endB = b.length;
  let endA = a.length;
  while (endB > start && endA > start && b[endB - 1] === a[endA - 1]) {
    endB--;
    endA--;
  }
  const mb = endB - start;
  const ma = endA - start;
  const middle: string[] = [];
  if (mb * ma > MAX_DIFF_CELLS) {
    middle.push(...a.slice(start, endA));
  } else {
    // Longest common subsequence of the changed regions: common lines keep their original text.
    const width = ma + 1;
    const lcs = new Uint32Array((mb + 1) * width);
    for (let i = mb - 1; i >= 0; i--) {
      for (let j = ma - 1; j >= 0; j--) {
        lcs[i * width + j] = b[start + i] === a[start + j] ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < mb && j < ma) {
      if (b[start + i] === a[start + j]) {
        middle.push(o[start + i] as string);
        i++;
        j++;
      } else if ((lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0)) {
        i++;
      } else {
        middle.push(a[start + j] as string);
        j++;
      }
    }
    while (j < ma) middle.push(a[start + j++] as string);
  }
  return [...o.slice(0, start), ...middle, ...o.slice(endB)].join('\n');
}

function sameContent(text: string, docs: readonly Document.Parsed[]): boolean {
  try {
    const reparsed = parseAllDocuments(text, { uniqueKeys: true });
    if (!Array.isArray(reparsed) || reparsed.length !== docs.length || reparsed.some((d) => d.errors.length > 0)) return false;
    return reparsed.every((doc, i) => JSON.stringify(doc.toJS()) === JSON.stringify(docs[i]?.toJS()));
  } catch {
    return false;
  }
}

/** Pins each tool in the chosen MCPPolicy of `text`; returns the new text and what changed. */
export function pinTools(text: string, file: string, tools: readonly ToolDefinition[], options: PinOptions = {}): PinResult {
  const docs = parse(text, file);
  const { doc, key } = findPolicy(docs, file, options.policyName);
  const baseline = render(docs);
  const rules = rulesOf(doc, file, tools.length > 0);
  const outcomes = rules === undefined ? [] : tools.map((tool) => pinRule(doc, rules, tool, options.digestOnly === true));
  if (outcomes.every((o) => o.action === 'unchanged')) return { text, outcomes, policy: key };
  const after = render(docs);
  const patched = patchChangedLines(text, baseline, after);
  return { text: patched !== undefined && sameContent(patched, docs) ? patched : after, outcomes, policy: key };
}
