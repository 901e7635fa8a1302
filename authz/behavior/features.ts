/**
 * What behaviour detectors look at in one tool call: a digest of its arguments that ignores
 * differences a looping agent makes without meaning to (case, spacing, fresh timestamps and
 * request UUIDs), the numeric part of arguments that may be stepped through (enumeration),
 * and the values of one argument (bulk access). All bounded in work per call.
 */
import { shortHash } from '../session/hash.js';

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const ISO_TIME = /\b\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?\b/gi;
const MAX_DEPTH = 8;
const MAX_STRING = 4_096;

/** Whitespace other than a space; without it, only two spaces in a row need collapsing. */
const NON_SPACE_WHITESPACE = /[^\S ]/;

function normalise(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    let text = value.slice(0, MAX_STRING).trim().toLowerCase();
    // The replacements are skipped where they cannot match (same result, no scan per word).
    if (text.includes('  ') || NON_SPACE_WHITESPACE.test(text)) text = text.replace(/\s+/g, ' ');
    // Both patterns need a '-'.
    if (text.includes('-')) text = text.replace(ISO_TIME, '<time>').replace(UUID, '<uuid>');
    return text;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '<deep>';
  if (Array.isArray(value)) return value.slice(0, 64).map((v) => normalise(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort().slice(0, 64)) out[key] = normalise((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/** Same digest for identical and near-identical calls of one tool. */
export function loopDigest(tool: string, args: Readonly<Record<string, unknown>>): string {
  return shortHash('loop', tool, JSON.stringify(normalise(args, 0)) ?? '');
}

export interface SequentialValue {
  /** The value with its number taken out (`user_#`, `#`): values of one shape are compared. */
  readonly shape: string;
  readonly n: number;
}

const NUMBERED = /^(.*?)(\d{1,15})(\D*)$/s;

/** The number an argument value carries (`42`, `"42"`, `"user_42"`, `"/data/f42.txt"`). */
export function sequentialValue(value: unknown): SequentialValue | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? { shape: '#', n: value } : undefined;
  }
  if (typeof value !== 'string' || value.length > 256) return undefined;
  const m = NUMBERED.exec(value);
  if (m === null) return undefined;
  return { shape: `${m[1] ?? ''}#${m[3] ?? ''}`, n: Number(m[2]) };
}

/** A scalar argument value as a member for distinct counting (undefined when not scalar). */
export function memberOf(value: unknown): string | undefined {
  if (typeof value === 'string') return shortHash('member', value);
  if (typeof value === 'number' || typeof value === 'boolean') return shortHash('member', String(value));
  return undefined;
}
