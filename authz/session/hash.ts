/** Short, stable digests for values the store keeps instead of the values themselves. */
import { hash } from 'node:crypto';

const SEPARATOR = Buffer.from([0]);

/**
 * The bytes hashed: each part (strings as UTF-8) followed by a NUL. One-shot `crypto.hash`
 * over them gives the same digest as streaming the parts into a Hash, without a Hash object
 * per call (a per-request cost).
 */
function joined(parts: ReadonlyArray<string | Uint8Array>): string | Buffer {
  let text = '';
  for (const part of parts) {
    if (typeof part !== 'string') return Buffer.concat(parts.flatMap((p) => [typeof p === 'string' ? Buffer.from(p, 'utf8') : p, SEPARATOR]));
    text += `${part}\u0000`;
  }
  return text;
}

/** 48 bits as 12 hex digits: enough to tell values of one session apart, small to keep. */
export function shortHash(...parts: ReadonlyArray<string | Uint8Array>): string {
  return hash('sha256', joined(parts), 'hex').slice(0, 12);
}

/** Recent session references: one session's requests hash the same parts again and again. */
const recentRefs = new Map<string, string>();
const MAX_RECENT_REFS = 4_096;
const MAX_MEMO_KEY_CHARS = 512;

/** 132 bits, URL-safe: session references (collision-resistant across all sessions). */
export function refHash(...parts: readonly string[]): string {
  const text = joined(parts) as string;
  const known = recentRefs.get(text);
  if (known !== undefined) return known;
  const ref = hash('sha256', text, 'base64url').slice(0, 22);
  if (text.length <= MAX_MEMO_KEY_CHARS) {
    // Bounded: start over when full (a flood of new sessions only costs the hashing again).
    if (recentRefs.size >= MAX_RECENT_REFS) recentRefs.clear();
    recentRefs.set(text, ref);
  }
  return ref;
}
