/**
 * IP address → ISO country, for impossible travel. The default database ships inside an npm
 * package (`geoip-country`: MaxMind GeoLite2 Country data, loaded into memory on first use,
 * about 8 MB), so the service needs no download at run time. Users with their own MaxMind
 * database (GeoIP2/GeoLite2 Country or City `.mmdb`, or any mmdb with a `country_code` field)
 * plug it in with `openMmdbGeoLookup`.
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { CountryResponse } from 'maxmind';

export interface GeoLookup {
  /** ISO 3166-1 alpha-2 code, or undefined for private, reserved and unknown addresses. */
  country(address: string): string | undefined;
}

interface GeoipCountryModule {
  lookup(ip: string): { country?: string } | null;
}

let bundled: GeoLookup | undefined;

/** The database bundled with the `geoip-country` package (loaded once per process). */
export function bundledGeoLookup(): GeoLookup {
  if (bundled !== undefined) return bundled;
  const require = createRequire(import.meta.url);
  const geoip = require('geoip-country') as GeoipCountryModule;
  bundled = {
    country(address) {
      if (isIP(address) === 0) return undefined;
      const hit = geoip.lookup(address);
      return hit?.country !== undefined && hit.country !== '' ? hit.country : undefined;
    },
  };
  return bundled;
}

interface MmdbCountryRecord {
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
  country_code?: string;
}

/** A MaxMind `.mmdb` file the user supplies (read into memory once). */
export async function openMmdbGeoLookup(path: string): Promise<GeoLookup> {
  const maxmind = await import('maxmind');
  const reader = await maxmind.open<CountryResponse>(path);
  return {
    country(address) {
      if (isIP(address) === 0) return undefined;
      const record = reader.get(address) as MmdbCountryRecord | null;
      return record?.country?.iso_code ?? record?.registered_country?.iso_code ?? record?.country_code ?? undefined;
    },
  };
}

/** A fixed table (tests, air-gapped installs with a handful of known networks). */
export function staticGeoLookup(table: Readonly<Record<string, string>>): GeoLookup {
  return { country: (address) => table[address] };
}

/**
 * The lookup the service runs with: the user's `.mmdb` when a path is given (e.g. a
 * `--geoip-db` flag or MCP_WARDEN_GEOIP_DB), else undefined (the bundled database is then
 * loaded on first use by a policy with `session.impossibleTravel`).
 */
export async function geoLookupFromOptions(opts: { mmdbPath?: string | undefined } = {}): Promise<GeoLookup | undefined> {
  const path = opts.mmdbPath ?? process.env.MCP_WARDEN_GEOIP_DB;
  return path === undefined || path === '' ? undefined : openMmdbGeoLookup(path);
}
