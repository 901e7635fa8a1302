/**
 * The image build (Dockerfile) cannot run here (no container engine), so these tests hold it
 * to the facts it depends on: the one pinned Node version, the user the chart runs it as, the
 * CLI entry point, the sources the build stage copies, and that the product imports nothing
 * the image prunes away (devDependencies).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICE_NODE_FLAGS } from '../../authz/runtime/node-flags.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const dockerfile = read('Dockerfile');
const pkg = JSON.parse(read('package.json')) as {
  version: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Instructions as [keyword, rest], comments and blank lines dropped. */
const instructions = dockerfile
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => {
    const space = line.indexOf(' ');
    return [line.slice(0, space).toUpperCase(), line.slice(space + 1).trim()] as const;
  });
const all = (keyword: string): string[] => instructions.filter(([k]) => k === keyword).map(([, rest]) => rest);

describe('Dockerfile', () => {
  it('builds on the Node version pinned for development and CI', () => {
    const arg = all('ARG').find((a) => a.startsWith('NODE_VERSION='));
    expect(arg).toBe(`NODE_VERSION=${pkg.devDependencies['node']}`);
    expect(read('.nvmrc').trim()).toBe(pkg.devDependencies['node']);
    const froms = all('FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^node:\$\{NODE_VERSION\}-/);
  });

  it('runs the CLI as the non-root user the Helm chart declares', () => {
    const values = parse(read('deploy/helm/mcp-warden/values.yaml')) as { podSecurityContext: { runAsUser: number; runAsNonRoot: boolean } };
    expect(values.podSecurityContext.runAsNonRoot).toBe(true);
    expect(all('USER').at(-1)).toBe(`${values.podSecurityContext.runAsUser}:${values.podSecurityContext.runAsUser}`);
    const entrypoint = JSON.parse(all('ENTRYPOINT').at(-1) ?? '[]') as string[];
    expect(entrypoint).toEqual(['node', ...SERVICE_NODE_FLAGS, `/app/${pkg.bin['mcp-warden']}`]);
    const chart = parse(read('deploy/helm/mcp-warden/Chart.yaml')) as { appVersion: string };
    expect(chart.appVersion).toBe(pkg.version);
  });

  it('copies every source the build compiles, and each exists outside .dockerignore', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const copied = all('COPY')
      .filter((c) => !c.startsWith('--from'))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    for (const source of copied) {
      expect(existsSync(join(ROOT, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
    const build = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    for (const include of build.include) expect(copied, include).toContain(include.split('/')[0]);
  });

  it('the product imports only runtime dependencies (devDependencies are pruned from the image)', () => {
    const build = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    const roots = [...new Set(build.include.map((i) => i.split('/')[0] as string))];
    const files = roots.flatMap((r) => tsFiles(join(ROOT, r)));
    expect(files.length).toBeGreaterThan(100);
    const runtime = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    const offenders: string[] = [];
    for (const file of files) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\b(?!\s+type\b)[^'";]*?from\s+'([^'.][^']*)'|import\('([^'.][^']*)'\)/g)) {
        const specifier = m[1] ?? m[2] ?? '';
        const name = specifier.startsWith('node:') ? specifier.slice(5) : specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '');
        if (!runtime.has(name)) offenders.push(`${file.slice(ROOT.length)}: ${specifier}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

function tsFiles(path: string): string[] {
  if (path.endsWith('.ts')) return path.endsWith('.test.ts') ? [] : [path];
  if (!existsSync(path) || path.endsWith('.d.ts')) return [];
  let entries: string[];
  try {
    entries = readdirSync(path);
  } catch {
    return [];
  }
  return entries.flatMap((e) => tsFiles(join(path, e)));
}
