/**
 * A small least-recently-used memo of detector verdicts, keyed by the exact value inspected.
 * Agents repeat the same arguments (a dashboard's query, a retried call); a detector whose
 * verdict is a pure function of the value and its options can answer a repeat from here.
 *
 * The key is the whole value (never a digest of it), so a hit is the verdict of that very
 * text. Bounded both in entries and in the characters of the keys it holds; values longer
 * than `maxValueChars` are never kept, so one huge value cannot evict everything else.
 * A Map keeps insertion order: a hit is moved to the end, eviction takes from the front.
 */

export interface VerdictCacheLimits {
  readonly maxEntries: number;
  /** Sum of the keys' lengths (UTF-16 code units) kept at most. */
  readonly maxChars: number;
  /** Longest value that is cached. */
  readonly maxValueChars: number;
}

/** Returned by `VerdictCache.get` when the value is not cached. */
export const MISS: unique symbol = Symbol('miss');

/** Marks a cached "nothing found", so `get` can tell it from a miss. */
const CLEAN: unique symbol = Symbol('clean');

export class VerdictCache<V extends object> {
  private readonly entries = new Map<string, V | typeof CLEAN>();
  private chars = 0;

  constructor(private readonly limits: VerdictCacheLimits) {}

  /** The cached verdict (`undefined` for a clean value), or `MISS`. */
  get(value: string): V | undefined | typeof MISS {
    if (value.length > this.limits.maxValueChars) return MISS;
    const hit = this.entries.get(value);
    if (hit === undefined) return MISS;
    // Move to the most recently used end.
    this.entries.delete(value);
    this.entries.set(value, hit);
    return hit === CLEAN ? undefined : hit;
  }

  set(value: string, verdict: V | undefined): void {
    const length = value.length;
    if (length > this.limits.maxValueChars || this.entries.has(value)) return;
    this.entries.set(value, verdict === undefined ? CLEAN : verdict);
    this.chars += length;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.limits.maxEntries && this.chars <= this.limits.maxChars) break;
      this.entries.delete(key);
      this.chars -= key.length;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Characters of keys currently held. */
  get heldChars(): number {
    return this.chars;
  }
}
