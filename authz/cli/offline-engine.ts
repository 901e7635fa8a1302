/**
 * The decision engine as the service runs it, for offline commands: every stage, session and
 * behaviour included, with in-memory state and the request's own `receivedAtMs` as the clock
 * (so recorded traffic replays its timing, and behaviour rules can be tested without waiting).
 */
import { createEngine, type Engine } from '../pipeline/decide.js';
import type { Snapshot } from '../pipeline/compiled.js';
import { createStatefulChecks, createStoreFromOptions } from '../stages/stateful.js';

export interface OfflineEngine {
  readonly engine: Engine;
  close(): Promise<void>;
}

export async function createOfflineEngine(snapshot: Snapshot): Promise<OfflineEngine> {
  const stateful = createStatefulChecks({ store: await createStoreFromOptions({}) });
  return { engine: createEngine({ snapshot: () => snapshot, stateful }), close: () => stateful.close() };
}
