/**
 * Stage 5 — argument inspection. Each string in a tools/call's arguments is judged by the
 * detector of its kind: the kind the policy gives its JSON pointer, else the kind inferred
 * from the pinned inputSchema, else (for keys neither knows) the kind its name implies. The
 * walk over the values is bounded (nodes, depth, bytes inspected); exceeding the bound is a
 * finding, never a silent allow. Detector actions come from `spec.detection`: Off skips,
 * Audit records, Deny refuses.
 *
 * Pointers: object properties only; an array's elements take the array's pointer, and a
 * string with no kind of its own takes the kind of its nearest typed ancestor.
 *
 * Rules: every detector rule, plus argument-too-long, arguments-budget-exceeded,
 * arguments-inspection-failed.
 */
import type { ArgumentKind, ArgumentRule, DetectionSpec, DetectorAction } from '../api/types.js';
import { inspectorForKind } from '../detectors/index.js';
import { escapePointerToken, inferArgumentKinds, kindFromName } from '../detectors/kinds.js';
import { compilePathRule } from '../detectors/path.js';
import { compileCommandRule } from '../detectors/shell.js';
import { compileUrlRule } from '../detectors/ssrf.js';
import { DETECTOR_BY_KIND, type DetectorFinding, type DetectorName, type KindInspector } from '../detectors/types.js';
import type { ArgumentFinding, ArgumentInspection } from '../pipeline/compiled.js';
import type { CheckContext } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

export interface ArgumentKindNote {
  readonly pointer: string;
  readonly kind: ArgumentKind;
  readonly reason: string;
  readonly source: 'policy' | 'inferred';
}

export interface CompiledArgumentInspection {
  readonly inspect: ArgumentInspection;
  /** Every kind in force, policy-given and inferred, for logging at load and `explain`. */
  readonly inferred: readonly ArgumentKindNote[];
}

export interface ArgumentBudget {
  readonly maxNodes: number;
  readonly maxDepth: number;
  /** Total UTF-16 code units of the strings handed to detectors. */
  readonly maxInspectedChars: number;
}

export const DEFAULT_ARGUMENT_BUDGET: ArgumentBudget = { maxNodes: 10_000, maxDepth: 32, maxInspectedChars: 2 * 1024 * 1024 };

interface KindEntry {
  readonly kind: ArgumentKind;
  readonly rule: ArgumentRule | undefined;
  readonly inspector: KindInspector | undefined;
  readonly detector: DetectorName | undefined;
  readonly action: DetectorAction;
}

const MAX_POINTER_IN_MESSAGE = 128;
const MAX_RUNTIME_NAME = 128;
/** Property names whose name-implied kind is remembered per tool (names come from clients). */
const MAX_REMEMBERED_NAMES = 256;

/** `path` → `/path`; `/filter/path` stays. */
export function ruleKeyToPointer(key: string): string {
  return key.startsWith('/') ? key : `/${escapePointerToken(key)}`;
}

function entryFor(kind: ArgumentKind, rule: ArgumentRule | undefined, detection: DetectionSpec): KindEntry {
  const detector = DETECTOR_BY_KIND[kind];
  const inspector = inspectorForKind(kind);
  return { kind, rule, inspector, detector, action: detector !== undefined ? detection[detector] : 'Off' };
}

/** Builds the kind-specific matchers now, so a bad glob is refused at load, naming the argument. */
function precompile(toolName: string, key: string, rule: ArgumentRule): void {
  try {
    if (rule.kind === 'path') compilePathRule(rule);
    else if (rule.kind === 'url') compileUrlRule(rule);
    else if (rule.kind === 'command' || rule.kind === 'shell') compileCommandRule(rule);
  } catch (err) {
    throw new Error(`tool "${toolName}": arguments.${key}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function stripDetectorPrefix(message: string): string {
  const colon = message.indexOf(': ');
  return colon > 0 && colon <= 24 && !message.slice(0, colon).includes(' ') ? message.slice(colon + 2) : message;
}

function shortPointer(pointer: string): string {
  return pointer.length > MAX_POINTER_IN_MESSAGE ? `${pointer.slice(0, MAX_POINTER_IN_MESSAGE)}…` : pointer;
}

function findingDenial(toolName: string, pointer: string, finding: DetectorFinding): Denial {
  const where = shortPointer(pointer);
  return deny(
    'arguments',
    finding.rule,
    'policy',
    ErrorCode.ArgumentRejected,
    `tool "${toolName}": argument "${where}" rejected by ${finding.detector}: ${stripDetectorPrefix(finding.message)}`,
    { data: { tool: toolName, argument: where, detector: finding.detector }, excerpt: finding.excerpt },
  );
}

function stageDenial(toolName: string, rule: string, pointer: string, message: string): Denial {
  const where = shortPointer(pointer);
  return deny('arguments', rule, 'policy', ErrorCode.ArgumentRejected, `tool "${toolName}": argument "${where}" ${message}`, {
    data: { tool: toolName, argument: where, detector: 'arguments' },
  });
}

/**
 * Compiles the inspection of one tool's arguments: the policy's kinds (rule keys are names
 * or JSON pointers), kinds inferred from the pinned inputSchema where the policy is silent,
 * and the detector action of each kind under `detection`.
 */
export function compileArgumentInspection(
  toolName: string,
  rules: Record<string, ArgumentRule> | undefined,
  inputSchema: Record<string, unknown> | undefined,
  detection: DetectionSpec,
  budget: ArgumentBudget = DEFAULT_ARGUMENT_BUDGET,
): CompiledArgumentInspection {
  const kinds = new Map<string, KindEntry>();
  const notes: ArgumentKindNote[] = [];
  for (const [key, rule] of Object.entries(rules ?? {})) {
    precompile(toolName, key, rule);
    const pointer = ruleKeyToPointer(key);
    kinds.set(pointer, entryFor(rule.kind, rule, detection));
    notes.push({ pointer, kind: rule.kind, reason: `policy arguments.${key}`, source: 'policy' });
  }
  for (const inferred of inferArgumentKinds(inputSchema)) {
    if (kinds.has(inferred.pointer)) continue;
    kinds.set(inferred.pointer, entryFor(inferred.kind, undefined, detection));
    notes.push({ ...inferred, source: 'inferred' });
  }
  const byName = new Map<ArgumentKind, KindEntry>();
  // The same few property names arrive on every call: their kinds are worked out once.
  const rememberedNames = new Map<string, KindEntry | null>();
  const entryForName = (name: string): KindEntry | undefined => {
    if (name.length > MAX_RUNTIME_NAME) return undefined;
    const remembered = rememberedNames.get(name);
    if (remembered !== undefined) return remembered ?? undefined;
    const guess = kindFromName(name);
    let entry: KindEntry | undefined;
    if (guess !== undefined) {
      entry = byName.get(guess.kind);
      if (entry === undefined) {
        entry = entryFor(guess.kind, undefined, detection);
        byName.set(guess.kind, entry);
      }
    }
    if (rememberedNames.size < MAX_REMEMBERED_NAMES) rememberedNames.set(name, entry ?? null);
    return entry;
  };

  const inspect: ArgumentInspection = (args) => {
    try {
      return walkArguments(toolName, args, kinds, entryForName, budget);
    } catch {
      // Detectors never throw; should anything else, refuse rather than allow (fail closed).
      return [{ action: 'Deny', denial: stageDenial(toolName, 'arguments-inspection-failed', '', 'could not be inspected') }];
    }
  };
  return { inspect, inferred: notes };
}

interface Frame {
  readonly value: unknown;
  /** Pointer of the value itself (array indices included), for messages. */
  readonly valuePointer: string;
  /** Pointer used to look kinds up (array indices left out). */
  readonly kindPointer: string;
  /** Nearest typed ancestor's entry. */
  readonly inherited: KindEntry | undefined;
  readonly depth: number;
  /** Key of the value in its parent object (for name-based kinds), '' for array elements. */
  readonly name: string;
}

function walkArguments(
  toolName: string,
  args: Readonly<Record<string, unknown>>,
  kinds: ReadonlyMap<string, KindEntry>,
  entryForName: (name: string) => KindEntry | undefined,
  budget: ArgumentBudget,
): ArgumentFinding[] {
  const findings: ArgumentFinding[] = [];
  const stack: Frame[] = [{ value: args, valuePointer: '', kindPointer: '', inherited: undefined, depth: 0, name: '' }];
  let nodes = 0;
  let inspected = 0;
  const overBudget = (pointer: string, what: string): ArgumentFinding[] => {
    findings.push({ action: 'Deny', denial: stageDenial(toolName, 'arguments-budget-exceeded', pointer, `exceeds the inspection budget (${what}); refused rather than allowed uninspected`) });
    return findings;
  };
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    if (++nodes > budget.maxNodes) return overBudget(frame.valuePointer, `more than ${budget.maxNodes} values`);
    if (frame.depth > budget.maxDepth) return overBudget(frame.valuePointer, `nested deeper than ${budget.maxDepth}`);
    const own = frame.kindPointer !== '' ? (kinds.get(frame.kindPointer) ?? (frame.name !== '' ? entryForName(frame.name) : undefined)) : undefined;
    const entry = own ?? frame.inherited;
    const value = frame.value;
    if (typeof value === 'string') {
      if (entry === undefined) continue;
      const maxLength = entry.rule?.maxLength;
      if (maxLength !== undefined && value.length > maxLength) {
        findings.push({ action: 'Deny', denial: stageDenial(toolName, 'argument-too-long', frame.valuePointer, `is longer than the ${maxLength} characters the policy allows`) });
        return findings;
      }
      if (entry.inspector === undefined || entry.action === 'Off') continue;
      inspected += value.length;
      if (inspected > budget.maxInspectedChars) return overBudget(frame.valuePointer, `more than ${budget.maxInspectedChars} characters of strings`);
      const finding = entry.inspector(value, entry.rule);
      if (finding === undefined) continue;
      const denial = findingDenial(toolName, frame.valuePointer, finding);
      if (entry.action === 'Deny') {
        findings.push({ action: 'Deny', denial });
        return findings;
      }
      findings.push({ action: 'Audit', denial });
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const width = Array.isArray(value) ? value.length : Object.keys(value).length;
    if (nodes + stack.length + width > budget.maxNodes) return overBudget(frame.valuePointer, `more than ${budget.maxNodes} values`);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], valuePointer: `${frame.valuePointer}/${i}`, kindPointer: frame.kindPointer, inherited: entry, depth: frame.depth + 1, name: '' });
      }
      continue;
    }
    const keys = Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      const token = escapePointerToken(key);
      stack.push({
        value: (value as Record<string, unknown>)[key],
        valuePointer: `${frame.valuePointer}/${token}`,
        kindPointer: `${frame.kindPointer}/${token}`,
        inherited: entry,
        depth: frame.depth + 1,
        name: key,
      });
    }
  }
  return findings;
}

/**
 * Runs each tool call's inspection: the first Deny finding refuses the request; Audit findings
 * are recorded in `ctx.audited`.
 */
export function argumentsStage(ctx: CheckContext): Denial | undefined {
  for (const call of ctx.toolCalls) {
    const inspect = call.rule !== undefined ? call.rule.inspectArguments : ctx.policy.inspectUnlistedArguments;
    if (inspect === undefined) continue;
    for (const finding of inspect(call.arguments)) {
      if (finding.action === 'Deny') return finding.denial;
      ctx.audited.push(finding.denial);
    }
  }
  return undefined;
}
