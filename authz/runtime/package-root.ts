/**
 * The mcp-warden package root (a checkout or an installed package): where examples/,
 * scripts/ and .cache/ live, found the same way from source (authz/runtime/*.ts) and from
 * the build (dist/authz/runtime/*.js).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The nearest directory above this module whose package.json is named mcp-warden. */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  const self = fileURLToPath(import.meta.url);
  let dir = dirname(self);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'mcp-warden') return (cached = dir);
      } catch {
        // Not ours; keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the mcp-warden package root above ${self}`);
    dir = parent;
  }
}
