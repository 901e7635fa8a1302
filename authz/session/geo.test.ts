import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeCountryMmdb } from '../../test/support/mmdb.js';
import { bundledGeoLookup, openMmdbGeoLookup } from './geo.js';

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

describe('MaxMind .mmdb databases users supply', () => {
  it('reads countries from a GeoIP2-style Country database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpw-mmdb-'));
    const path = join(dir, 'country.mmdb');
    await writeCountryMmdb(path, { '203.0.113.0/24': 'FR', '198.51.100.0/24': 'JP', '192.0.2.128/25': 'BR' });
    const geo = await openMmdbGeoLookup(path);
    expect(geo.country('203.0.113.77')).toBe('FR');
    expect(geo.country('198.51.100.1')).toBe('JP');
    expect(geo.country('192.0.2.200')).toBe('BR');
    expect(geo.country('192.0.2.5')).toBeUndefined();
    expect(geo.country('8.8.8.8')).toBeUndefined();
    await rm(dir, { recursive: true, force: true });
  });
});
