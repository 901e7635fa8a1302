/**
 * kubectl (sigs.k8s.io/yaml) reads YAML 1.1, where a plain `Off`, `yes`, `~` or `2025-06-18` is
 * not a string. The YAML we ship must mean the same under 1.1 as under 1.2 (the generator and
 * our own loaders), or `kubectl apply -f crds/` installs enums like ["Deny","Audit",false].
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateCrds, toKubectlYaml } from '../../scripts/gen-crds.js';
import { REPO_ROOT } from './crd-install.js';

const SHIPPED_DIRS = ['crds', 'examples', 'deploy'];

function parseAll(text: string, version: '1.1' | '1.2'): unknown[] {
  return parseAllDocuments(text, { version }).map((doc) => doc.toJS() as unknown);
}

/** Every `enum` array found anywhere in `value`, with its path. */
function enums(value: unknown, path = ''): Array<{ path: string; values: unknown[] }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => enums(v, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  const found: Array<{ path: string; values: unknown[] }> = [];
  for (const [key, child] of Object.entries(value)) {
    if (key === 'enum' && Array.isArray(child)) found.push({ path: `${path}.enum`, values: child });
    found.push(...enums(child, `${path}.${key}`));
  }
  return found;
}

async function shippedFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const dir of SHIPPED_DIRS) {
    for (const name of (await readdir(join(REPO_ROOT, dir))).sort()) if (/\.ya?ml$/.test(name)) files.push(`${dir}/${name}`);
  }
  return files;
}

describe('shipped YAML under YAML 1.1 (kubectl)', () => {
  it('every CRD enum entry is a string when read as YAML 1.1', async () => {
    for (const file of (await shippedFiles()).filter((f) => f.startsWith('crds/'))) {
      const docs = parseAll(await readFile(join(REPO_ROOT, file), 'utf8'), '1.1');
      const found = docs.flatMap((d) => enums(d));
      expect(found.length, file).toBeGreaterThan(0);
      for (const e of found) {
        for (const v of e.values) expect(typeof v, `${file} ${e.path}: ${JSON.stringify(v)}`).toBe('string');
      }
    }
  });

  it('the detector action enums keep Off (a detector can be switched off in a cluster)', async () => {
    const text = await readFile(join(REPO_ROOT, 'crds/mcpwarden.io_mcppolicies.yaml'), 'utf8');
    const found = parseAll(text, '1.1').flatMap((d) => enums(d));
    expect(found.some((e) => e.values.includes('Off'))).toBe(true);
    expect(found.some((e) => e.values.includes(false))).toBe(false);
  });

  it('every shipped YAML file means the same under YAML 1.1 and 1.2', async () => {
    const files = await shippedFiles();
    expect(files.length).toBeGreaterThan(2);
    for (const file of files) {
      const text = await readFile(join(REPO_ROOT, file), 'utf8');
      expect(parseAll(text, '1.1'), file).toEqual(parseAll(text, '1.2'));
    }
  });

  it('the generator quotes strings YAML 1.1 would read as booleans, null, numbers or dates', () => {
    const tricky = ['Off', 'on', 'ON', 'y', 'N', 'yes', 'No', 'true', 'False', 'null', '~', '', '0x1F', '010', '1_000', '1e3', '.inf', '12:30', '2025-06-18', 'Deny', '0o17', '0b101', '+1', '-1.5', '.5', '10m'];
    const text = toKubectlYaml({ enum: tricky });
    expect(parseAll(text, '1.1')[0]).toEqual({ enum: tricky });
    expect(parseAll(text, '1.2')[0]).toEqual({ enum: tricky });
    // Go's resolver reads base-0 integers (0o17, 0b101, 1_000) too: those must be quoted, not plain.
    for (const value of ['0o17', '0b101', '1_000', '+1']) expect(text).toContain(`"${value}"`);
    for (const crd of generateCrds()) {
      expect(parseAll(crd.text, '1.1')[0], crd.file).toEqual(crd.object);
    }
  });
});
