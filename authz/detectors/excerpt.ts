/**
 * The excerpt every detector finding and scan finding carries: a short, printable piece of the
 * value around the match, so logs and denials show what was found without echoing the value.
 */
import { REDACTED, secretRangesAround } from '../telemetry/redact.js';
import { invisibleClass } from './unicode.js';

const MAX_EXCERPT = 64;

/**
 * A short excerpt around `[start, end)` for findings and logs: at most 64 characters,
 * control and invisible characters shown as `\u{…}` escapes, an ellipsis where cut.
 */
export function excerptAround(value: string, start: number, end: number = start): string {
  const from = Math.max(0, Math.min(start, value.length) - 16);
  const to = Math.min(value.length, Math.max(end, from + 1) + 16, from + 48);
  // Secrets are recognised on the unclipped neighbourhood, so one cut by the edge is still masked.
  const secrets = secretRangesAround(value, from, to);
  let next = 0;
  let out = from > 0 ? '…' : '';
  for (let i = from; i < to && out.length < MAX_EXCERPT - 1; i++) {
    const secret = secrets[next];
    if (secret !== undefined && i >= secret[0]) {
      out += REDACTED;
      i = secret[1] - 1;
      next++;
      continue;
    }
    const c = value.charCodeAt(i);
    const cp = value.codePointAt(i) ?? c;
    if (c < 0x20 || c === 0x7f || invisibleClass(cp) !== undefined) {
      out += `\\u{${cp.toString(16)}}`;
      if (cp > 0xffff) i++;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      out += value.slice(i, i + 2);
      i++;
    } else {
      out += value[i];
    }
  }
  if (to < value.length) out += '…';
  return out.length > MAX_EXCERPT ? `${out.slice(0, MAX_EXCERPT - 1)}…` : out;
}
