/** Short, stable digests for values the store keeps instead of the values themselves. */
import { createHash } from 'node:crypto';

/** 48 bits as 12 hex digits: enough to tell values of one session apart, small to keep. */
export function shortHash(...parts: ReadonlyArray<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const part of parts) {
    h.update(part);
    h.update('\u0000');
  }
  return h.digest('hex').slice(0, 12);
}

/** 132 bits, URL-safe: session references (collision-resistant across all sessions). */
export function refHash(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const part of parts) {
    h.update(part);
    h.update('\u0000');
  }
  return h.digest('base64url').slice(0, 22);
}
