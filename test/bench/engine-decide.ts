/**
 * The real engine behind the benchmarks: config from engine-config.yaml, every stage on,
 * in-memory session state. `createDecide()` is what grpc-check.ts --decide-module loads.
 */
import { fileURLToPath } from 'node:url';
import { loadManifests } from '../../authz/config/load.js';
import { buildSnapshot } from '../../authz/config/snapshot.js';
import { initSqlParser } from '../../authz/detectors/sql.js';
import { createEngine } from '../../authz/pipeline/decide.js';
import type { WardenRequest } from '../../authz/pipeline/request.js';
import type { Verdict } from '../../authz/pipeline/verdict.js';
import { createStatefulChecks, createStoreFromOptions } from '../../authz/stages/stateful.js';

export const BENCH_CONFIG = fileURLToPath(new URL('./engine-config.yaml', import.meta.url));

export async function createDecide(options: { stateful?: boolean } = {}): Promise<(request: WardenRequest) => Promise<Verdict>> {
  await initSqlParser();
  const loaded = await loadManifests(BENCH_CONFIG);
  if (loaded.errors.length > 0) throw new Error(`bench config: ${JSON.stringify(loaded.errors)}`);
  const build = buildSnapshot(loaded, 1, Date.now());
  if (build.snapshot === undefined) throw new Error(`bench config: ${JSON.stringify(build.problems)}`);
  const snapshot = build.snapshot;
  const stateful = options.stateful === false ? undefined : createStatefulChecks({ store: await createStoreFromOptions({}) });
  const engine = createEngine({ snapshot: () => snapshot, stateful });
  return (request) => engine.decide(request);
}
