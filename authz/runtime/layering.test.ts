/**
 * Product code (what `npm run build` ships: cli.ts, commands.ts, authz/, operator/) never
 * imports from test/: the demo's process management, Envoy installation and sample server
 * live in authz/runtime and authz/demo, and test/support re-exports them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from './package-root.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) found.push(m[1] ?? '');
  return found;
}

describe('layering', () => {
  it('no product module imports from test/', () => {
    const root = packageRoot();
    const files = [join(root, 'cli.ts'), join(root, 'commands.ts'), ...sources(join(root, 'authz')), ...sources(join(root, 'operator'))];
    const offenders: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (/(^|\/)test\//.test(spec)) offenders.push(`${relative(root, file)} → ${spec}`);
      }
    }
    expect(files.length).toBeGreaterThan(50);
    expect(offenders).toEqual([]);
  });
});
