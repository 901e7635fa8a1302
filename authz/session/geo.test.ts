import { describe, expect, it } from 'vitest';
import { bundledGeoLookup } from './geo.js';

describe('bundled geo database', () => {
  it('maps public addresses to countries and private ones to nothing', () => {
    const geo = bundledGeoLookup();
    expect(geo.country('8.8.8.8')).toBe('US');
    expect(geo.country('81.2.69.160')).toBe('GB');
    expect(geo.country('193.0.0.1')).toBe('NL');
    expect(geo.country('2001:4860:4860::8888')).toBe('US');
    expect(geo.country('10.0.0.1')).toBeUndefined();
    expect(geo.country('not-an-address')).toBeUndefined();
  });
});
