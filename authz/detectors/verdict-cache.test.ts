import { describe, expect, it } from 'vitest';
import { MISS, VerdictCache } from './verdict-cache.js';

const finding = (rule: string): { rule: string } => ({ rule });

describe('VerdictCache', () => {
  it('answers a repeat of the exact value, clean or not, and misses anything else', () => {
    const cache = new VerdictCache<{ rule: string }>({ maxEntries: 8, maxChars: 1000, maxValueChars: 100 });
    const bad = finding('sql-multiple-statements');
    cache.set('SELECT 1; DROP TABLE t', bad);
    cache.set('SELECT 1', undefined);
    expect(cache.get('SELECT 1; DROP TABLE t')).toBe(bad);
    expect(cache.get('SELECT 1')).toBeUndefined();
    // Near misses are misses: the key is the whole value.
    expect(cache.get('SELECT 1 ')).toBe(MISS);
    expect(cache.get('select 1')).toBe(MISS);
    expect(cache.get('SELECT 1; DROP TABLE t ')).toBe(MISS);
  });

  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = new VerdictCache<{ rule: string }>({ maxEntries: 3, maxChars: 1000, maxValueChars: 100 });
    for (const v of ['a', 'b', 'c']) cache.set(v, finding(v));
    expect(cache.get('a')).toEqual(finding('a')); // a is now the most recent
    cache.set('d', finding('d'));
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBe(MISS);
    expect(cache.get('a')).toEqual(finding('a'));
    expect(cache.get('c')).toEqual(finding('c'));
    expect(cache.get('d')).toEqual(finding('d'));
  });

  it('keeps the characters it holds under maxChars and never caches values over maxValueChars', () => {
    const cache = new VerdictCache<{ rule: string }>({ maxEntries: 1000, maxChars: 100, maxValueChars: 40 });
    for (let i = 0; i < 50; i++) cache.set(`${'x'.repeat(30)}${i}`, undefined);
    expect(cache.heldChars).toBeLessThanOrEqual(100);
    expect(cache.size).toBe(3);
    cache.set('y'.repeat(41), finding('too-long'));
    expect(cache.get('y'.repeat(41))).toBe(MISS);
    expect(cache.heldChars).toBeLessThanOrEqual(100);
  });
});
