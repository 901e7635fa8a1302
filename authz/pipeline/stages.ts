/**
 * The order of the synchronous stages (ARCHITECTURE.md "The verdict pipeline"), in one list.
 * Stages 7 (session) and 8 (behaviour) need shared state and run after these, in
 * `StatefulChecks`.
 */
import { argumentsStage } from '../stages/arguments.js';
import { authorizationStage } from '../stages/authorization.js';
import { protocolStage } from '../stages/protocol.js';
import { schemaStage } from '../stages/schema.js';
import { toolStage } from '../stages/tool.js';
import { transportStage } from '../stages/transport.js';
import type { SyncStage } from './context.js';

export const SYNC_STAGES: readonly SyncStage[] = [
  transportStage,
  protocolStage,
  toolStage,
  schemaStage,
  argumentsStage,
  authorizationStage,
];
