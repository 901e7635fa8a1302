/**
 * Tool-definition scanner for poisoning: hidden instructions, exfiltration targets,
 * references to other tools, instructions to hide things from the user, and invisible
 * Unicode — in the name, title, description and every text of the input and output schemas
 * (property names, descriptions, titles, enums, defaults, examples), walked with a budget.
 * Used by `mcp-warden tools scan` and by the operator's discovery.
 */
import { toolDigest } from '../api/digest.js';
import type { ToolDefinition, ToolFinding } from '../api/types.js';
import { PhraseMatcher } from '../detectors/phrases.js';
import { findFakeTag } from '../detectors/prompt.js';
import { excerptAround } from '../detectors/excerpt.js';
import { findInvisible } from '../detectors/unicode.js';
import { findSecretPathUse } from './secret-paths.js';
import { SECTION_TAG_FINDINGS, SEVERITY, TOOL_PHRASES, WEAK_FINDINGS, type ScanRule } from './tool-phrases.js';

export interface ScanFinding extends ToolFinding {
  readonly rule: ScanRule;
  readonly severity: 'low' | 'medium' | 'high' | 'critical';
  readonly excerpt: string;
  /** What was found, for people (`secret file`, `hidden-instruction tag <important>`). */
  readonly message: string;
  /** Where: `description`, `name`, `inputSchema/properties/path/description` …, UTF-16 offsets. */
  readonly span?: { readonly field: string; readonly start: number; readonly end: number };
}

export interface ToolScanResult {
  readonly name: string;
  readonly digest: string;
  readonly findings: readonly ScanFinding[];
}

/** Schema walk budget: nodes visited, nesting depth, characters scanned. */
const MAX_NODES = 5_000;
const MAX_DEPTH = 32;
const MAX_TEXT_CHARS = 1 << 20;
/** Findings reported per tool (the first per rule and field are the useful ones). */
const MAX_FINDINGS = 32;

const PHRASES = new PhraseMatcher(TOOL_PHRASES);

interface Text {
  readonly field: string;
  readonly value: string;
}

/** Every string in a JSON value (keys included), with a JSON-pointer-like field path. */
function collectSchemaTexts(root: unknown, base: string, out: Text[]): void {
  const stack: Array<{ node: unknown; path: string; depth: number }> = [{ node: root, path: base, depth: 0 }];
  let nodes = 0;
  let chars = 0;
  while (stack.length > 0) {
    const cur = stack.pop();
    if (cur === undefined) break;
    if (++nodes > MAX_NODES || chars > MAX_TEXT_CHARS) {
      out.push({ field: `${base} (truncated)`, value: '' });
      return;
    }
    const { node, path, depth } = cur;
    if (typeof node === 'string') {
      out.push({ field: path, value: node });
      chars += node.length;
    } else if (Array.isArray(node)) {
      if (depth < MAX_DEPTH) node.forEach((item, i) => stack.push({ node: item, path: `${path}/${i}`, depth: depth + 1 }));
    } else if (typeof node === 'object' && node !== null && depth < MAX_DEPTH) {
      for (const [key, value] of Object.entries(node)) {
        const child = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
        // Property names reach the model too: scan them like any other text.
        out.push({ field: `${child} (key)`, value: key });
        chars += key.length;
        stack.push({ node: value, path: child, depth: depth + 1 });
      }
    }
  }
}

function textsOf(tool: ToolDefinition): Text[] {
  const texts: Text[] = [];
  if (typeof tool.name === 'string') texts.push({ field: 'name', value: tool.name });
  if (typeof tool.title === 'string') texts.push({ field: 'title', value: tool.title });
  if (typeof tool.description === 'string') texts.push({ field: 'description', value: tool.description });
  if (tool.inputSchema !== undefined) collectSchemaTexts(tool.inputSchema, 'inputSchema', texts);
  if (tool.outputSchema !== undefined) collectSchemaTexts(tool.outputSchema, 'outputSchema', texts);
  if (tool.annotations !== undefined) collectSchemaTexts(tool.annotations, 'annotations', texts);
  return texts;
}

function scanText(text: Text, add: (rule: ScanRule, what: string, start: number, end: number) => void): void {
  const { value } = text;
  if (value === '') return;
  const hidden = findInvisible(value);
  if (hidden !== undefined) {
    const smuggled = hidden.tagText !== '' ? ` spelling "${hidden.tagText.slice(0, 32)}"` : '';
    add('invisible-unicode', `${hidden.count} invisible ${hidden.cls} character(s)${smuggled}`, hidden.start, hidden.end);
  }
  const tag = findFakeTag(value);
  if (tag !== undefined) add('hidden-instruction', `hidden-instruction tag ${tag.tag}`, tag.start, tag.end);
  const secret = findSecretPathUse(value);
  if (secret !== undefined) add('exfiltration', `credential file after "${secret.verb}"`, secret.start, secret.end);
  for (const m of PHRASES.findAll(spacedIdentifier(text), 8, 'what')) add(m.rule as ScanRule, m.what, m.start, m.end);
}

/** Identifiers of this many words or more are read as prose (`read_id_rsa_and_include_it`). */
const PROSE_IDENTIFIER_WORDS = 5;

/**
 * A property name made of many `_`/`-`-joined words reaches the model as a sentence: it is read
 * with spaces in their place (same length, so offsets stay valid). Short names
 * (`include_sensitive`, `api_key`) are left as they are.
 */
function spacedIdentifier(text: Text): string {
  const { value } = text;
  if (!text.field.endsWith('(key)')) return value;
  let joins = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 95 || c === 45) joins++;
  }
  return joins + 1 >= PROSE_IDENTIFIER_WORDS ? value.replace(/[_-]/g, ' ') : value;
}

export function scanTool(tool: ToolDefinition): ToolScanResult {
  const findings: ScanFinding[] = [];
  const seen = new Set<string>();
  const weak = new Set<ScanFinding>();
  let digest: string;
  try {
    digest = toolDigest(tool);
  } catch {
    digest = '';
  }
  for (const text of textsOf(tool)) {
    if (text.field.endsWith('(truncated)')) {
      findings.push({
        rule: 'hidden-instruction',
        severity: 'medium',
        excerpt: '',
        message: 'schema too large to scan completely',
        span: { field: text.field, start: 0, end: 0 },
      });
      continue;
    }
    scanText(text, (rule, what, start, end) => {
      // A weak marker must not hide a finding of the same rule in the same field.
      const key = `${rule}\u0000${text.field}\u0000${WEAK_FINDINGS.has(what) || SECTION_TAG_FINDINGS.has(what) ? what : ''}`;
      if (seen.has(key) || findings.length >= MAX_FINDINGS) return;
      seen.add(key);
      const severity = rule === 'invisible-unicode' && what.includes('tag') ? 'critical' : SEVERITY[rule];
      const finding: ScanFinding = { rule, severity, excerpt: excerptAround(text.value, start, end), message: what, span: { field: text.field, start, end } };
      findings.push(finding);
      // A property name addressing the model is no way real servers write: never weak there.
      if (WEAK_FINDINGS.has(what) && !text.field.endsWith('(key)')) weak.add(finding);
    });
  }
  const tagged = withoutLoneSectionTag(findings, weak);
  return { name: typeof tool.name === 'string' ? tool.name : '', digest, findings: withoutLoneWeakMarker(tagged, weak) };
}

/** A section tag (SECTION_TAG_FINDINGS) is kept only where a finding that is not a marker shares its text. */
function withoutLoneSectionTag(findings: ScanFinding[], weak: ReadonlySet<ScanFinding>): ScanFinding[] {
  const isTag = (f: ScanFinding): boolean => SECTION_TAG_FINDINGS.has(f.message);
  if (!findings.some(isTag)) return findings;
  const backed = new Set(findings.filter((f) => !isTag(f) && !weak.has(f)).map((f) => f.span?.field));
  return findings.filter((f) => !isTag(f) || backed.has(f.span?.field));
}

/**
 * Real servers address the model ("Note to LLM:", "[IMPORTANT] If auto-discovery fails …") and
 * ask for every call ("for each message"); poisoned ones pair such a marker with what it asks.
 * A marker from WEAK_FINDINGS counts only next to a different finding.
 */
function withoutLoneWeakMarker(findings: ScanFinding[], weak: ReadonlySet<ScanFinding>): ScanFinding[] {
  const kinds = new Set<string>();
  for (const f of findings) {
    if (!weak.has(f)) return findings;
    kinds.add(f.message);
  }
  return kinds.size >= 2 ? findings : [];
}
