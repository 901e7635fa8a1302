/** Installs the repository's CRDs (crds/*.yaml) into a test cluster and waits until they serve. */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { KubeClient, KubeObject } from '../../operator/runtime/kube-client.js';
import { CUSTOM_RESOURCE_DEFINITIONS } from '../../operator/runtime/resources.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every YAML document in the files of `dir` (relative to the repository). */
export async function readManifests(dir: string): Promise<KubeObject[]> {
  const folder = join(REPO_ROOT, dir);
  const files = (await readdir(folder).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f)).sort();
  const docs: KubeObject[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(folder, file), 'utf8'))) {
      const value = doc.toJS() as KubeObject | null;
      if (value !== null) docs.push(value);
    }
  }
  return docs;
}

export async function installCrds(client: KubeClient, timeoutMs = 30_000): Promise<KubeObject[]> {
  const crds = (await readManifests('crds')).filter((d) => d.kind === 'CustomResourceDefinition');
  if (crds.length === 0) throw new Error('no CustomResourceDefinitions in crds/');
  for (const crd of crds) await client.apply(CUSTOM_RESOURCE_DEFINITIONS, crd);
  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    for (;;) {
      const live = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(
        CUSTOM_RESOURCE_DEFINITIONS,
        undefined,
        crd.metadata?.name ?? '',
      );
      if (live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata?.name} not Established: ${JSON.stringify(live.status)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return crds;
}
