/** Durations as policies write them (`24h`, `90s`, `1h30m`, `250ms`), in milliseconds. */
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

export function parseDuration(text: string, field = 'duration'): number {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  let total = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let m = PART.exec(value); m !== null; m = PART.exec(value)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1_000);
    consumed = PART.lastIndex;
  }
  if (value === '' || consumed !== value.length) {
    throw new Error(`${field}: '${text}' is not a duration (write e.g. 90s, 15m, 2h, 1h30m)`);
  }
  return total;
}

/** Like parseDuration, with a fallback for an absent field. */
export function durationOr(text: string | undefined, fallbackMs: number, field?: string): number {
  return text === undefined || text === '' ? fallbackMs : parseDuration(text, field);
}
