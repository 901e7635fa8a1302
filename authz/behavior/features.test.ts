import { describe, expect, it } from 'vitest';
import { loopDigest, sequentialValue } from './features.js';

describe('behaviour features', () => {
  it('treats near-identical calls as the same loop, different ones not', () => {
    const base = loopDigest('query', { sql: 'select * from orders', at: '2026-08-01T10:00:00Z', req: '6f1c7a52-0e1b-4c3a-9d0e-3b1f2a4c5d6e' });
    expect(loopDigest('query', { req: '0a1c7a52-0e1b-4c3a-9d0e-3b1f2a4c5d6f', at: '2026-08-01T10:00:07Z', sql: '  SELECT *  FROM orders' })).toBe(base);
    expect(loopDigest('query', { sql: 'select * from customers' })).not.toBe(loopDigest('query', { sql: 'select * from orders' }));
    expect(loopDigest('get_user', { id: 1 })).not.toBe(loopDigest('get_user', { id: 2 }));
    expect(loopDigest('a', { x: 1 })).not.toBe(loopDigest('b', { x: 1 }));
  });
  it('finds the number a value steps through', () => {
    expect(sequentialValue(42)).toEqual({ shape: '#', n: 42 });
    expect(sequentialValue('user_17')).toEqual({ shape: 'user_#', n: 17 });
    expect(sequentialValue('/data/f9.txt')).toEqual({ shape: '/data/f#.txt', n: 9 });
    expect(sequentialValue('open invoices')).toBeUndefined();
    expect(sequentialValue(1.5)).toBeUndefined();
    expect(sequentialValue({ id: 1 })).toBeUndefined();
  });
});
