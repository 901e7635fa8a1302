/**
 * Writes a rendered sidecar config to a directory the way Envoy's watched_directory expects:
 * each file is written under a temporary name and renamed into place (an atomic move, which
 * is what triggers the reload), clusters before the listener that routes to them.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { BOOTSTRAP_FILE, CDS_FILE, LDS_FILE, type EnvoySidecarConfig } from './render.js';
import type { JsonObject } from './json.js';

/** The three files as text, keyed by file name (what the operator puts in a ConfigMap). */
export function envoyConfigFiles(config: EnvoySidecarConfig): Record<string, string> {
  const text = (doc: JsonObject): string => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
  return {
    [BOOTSTRAP_FILE]: text(config.bootstrap),
    [CDS_FILE]: text(config.cds),
    [LDS_FILE]: text(config.lds),
  };
}

let counter = 0;

async function writeAtomically(path: string, content: string): Promise<void> {
  counter += 1;
  // Hidden temporary name in the same directory: rename(2) is atomic only within a filesystem.
  const temporary = join(resolve(path, '..'), `.${process.pid}.${counter}.tmp`);
  await writeFile(temporary, content, { mode: 0o644 });
  await rename(temporary, path);
}

/**
 * Writes envoy.yaml, cds.yaml and lds.yaml into `dir`. `dir` must be the directory the
 * config was rendered for (its bootstrap points Envoy there). Writing again with a new
 * config updates a running Envoy in place.
 */
export async function writeEnvoyConfig(dir: string, config: EnvoySidecarConfig): Promise<{ bootstrapPath: string }> {
  const target = resolve(dir);
  if (target !== resolve(config.configDir)) {
    throw new Error(`writeEnvoyConfig: the config was rendered for ${config.configDir} but is being written to ${target}; render it with configDir: '${target}'`);
  }
  await mkdir(target, { recursive: true });
  const files = envoyConfigFiles(config);
  for (const name of [BOOTSTRAP_FILE, CDS_FILE, LDS_FILE]) {
    await writeAtomically(join(target, name), files[name] ?? '');
  }
  return { bootstrapPath: join(target, BOOTSTRAP_FILE) };
}
