import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads the forms policies use', () => {
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('15m')).toBe(900_000);
  });
  it('names the field when a value is not a duration', () => {
    expect(() => parseDuration('soon', 'spec.session.idleTimeout')).toThrow(/spec.session.idleTimeout: 'soon'/);
    expect(() => parseDuration('10 minutes')).toThrow();
  });
});
