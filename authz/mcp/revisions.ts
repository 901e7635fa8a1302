/**
 * What a client may send to an MCP server, per protocol revision, from the published schemas
 * (modelcontextprotocol/modelcontextprotocol `schema/<revision>/schema.ts`: the
 * `ClientRequest`, `ClientNotification` and `ClientResult` unions) and the Streamable HTTP
 * transport page of each revision.
 */

/** Session-based revisions use `initialize`; the stateless one carries everything in `_meta`. */
export type Era = 'session' | 'stateless';

export interface RevisionTable {
  readonly version: string;
  readonly era: Era;
  /** Client→server request methods. */
  readonly requests: ReadonlySet<string>;
  /** Client→server notification methods. */
  readonly notifications: ReadonlySet<string>;
  /** Whether the client may POST JSON-RPC responses (answers to server requests). */
  readonly clientResponses: boolean;
  /** Whether a POST body may be a JSON-RPC batch (array). */
  readonly batches: boolean;
  /** HTTP GET opens a server→client SSE stream. */
  readonly getStream: boolean;
  /** HTTP DELETE ends the session named by `Mcp-Session-Id`. */
  readonly deleteSession: boolean;
}

/** `_meta` key carrying the revision on every request of the stateless era (2026-07-28). */
export const META_PROTOCOL_VERSION = 'io.modelcontextprotocol/protocolVersion';
export const META_CLIENT_CAPABILITIES = 'io.modelcontextprotocol/clientCapabilities';
export const META_CLIENT_INFO = 'io.modelcontextprotocol/clientInfo';

/**
 * 2025-06-18 basic/transports, "Protocol Version Header": a server receiving no
 * MCP-Protocol-Version header SHOULD assume 2025-03-26 (repeated as a MAY in 2026-07-28).
 */
export const DEFAULT_REVISION_WITHOUT_HEADER = '2025-03-26';

const LEGACY_REQUESTS = [
  'initialize',
  'ping',
  'completion/complete',
  'logging/setLevel',
  'prompts/get',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'tools/call',
  'tools/list',
] as const;

const LEGACY_NOTIFICATIONS = [
  'notifications/cancelled',
  'notifications/progress',
  'notifications/initialized',
  'notifications/roots/list_changed',
] as const;

function table(
  version: string,
  era: Era,
  requests: readonly string[],
  notifications: readonly string[],
  flags: Pick<RevisionTable, 'clientResponses' | 'batches' | 'getStream' | 'deleteSession'>,
): RevisionTable {
  return Object.freeze({ version, era, requests: new Set(requests), notifications: new Set(notifications), ...flags });
}

const TABLES: readonly RevisionTable[] = [
  // HTTP+SSE transport: GET opens the SSE stream, POSTs go to the announced endpoint. No
  // batches in its schema. DELETE belongs to Streamable HTTP, but SDK clients that negotiate
  // 2024-11-05 over Streamable HTTP still end sessions with DELETE, so it is allowed.
  // Responses answer sampling/createMessage, roots/list and ping.
  table('2024-11-05', 'session', LEGACY_REQUESTS, LEGACY_NOTIFICATIONS, {
    clientResponses: true,
    batches: false,
    getStream: true,
    deleteSession: true,
  }),
  // Streamable HTTP; the only revision whose schema has JSONRPCBatchRequest/Response.
  table('2025-03-26', 'session', LEGACY_REQUESTS, LEGACY_NOTIFICATIONS, {
    clientResponses: true,
    batches: true,
    getStream: true,
    deleteSession: true,
  }),
  // Batching removed (changelog, PR #416); elicitation/create responses added.
  table('2025-06-18', 'session', LEGACY_REQUESTS, LEGACY_NOTIFICATIONS, {
    clientResponses: true,
    batches: false,
    getStream: true,
    deleteSession: true,
  }),
  // Tasks (SEP-1686): tasks/get, tasks/result, tasks/list, tasks/cancel and
  // notifications/tasks/status flow in both directions.
  table(
    '2025-11-25',
    'session',
    [...LEGACY_REQUESTS, 'tasks/get', 'tasks/result', 'tasks/list', 'tasks/cancel'],
    [...LEGACY_NOTIFICATIONS, 'notifications/tasks/status'],
    { clientResponses: true, batches: false, getStream: true, deleteSession: true },
  ),
  // Stateless: no initialize, ping, logging/setLevel, resources/(un)subscribe; adds
  // server/discover and subscriptions/listen. Servers no longer send requests (sampling,
  // elicitation and roots travel inside results, "MRTR"), so "the client MUST NOT send JSON-RPC
  // responses". GET and DELETE answer 405. Tasks moved to an extension
  // (io.modelcontextprotocol/tasks); policies that use it list its methods in allowMethods.
  // The schema's only ClientNotification is notifications/cancelled; over HTTP it is not
  // expected (closing the stream cancels) but it is harmless, so it stays accepted.
  table(
    '2026-07-28',
    'stateless',
    [
      'server/discover',
      'completion/complete',
      'prompts/get',
      'prompts/list',
      'resources/list',
      'resources/templates/list',
      'resources/read',
      'subscriptions/listen',
      'tools/call',
      'tools/list',
    ],
    ['notifications/cancelled'],
    { clientResponses: false, batches: false, getStream: false, deleteSession: false },
  ),
];

export const REVISIONS: ReadonlyMap<string, RevisionTable> = new Map(TABLES.map((t) => [t.version, t]));

/** Every revision MCP Warden knows, oldest first. */
export const KNOWN_REVISIONS: readonly string[] = Object.freeze(TABLES.map((t) => t.version));

export function revisionTable(version: string | undefined): RevisionTable | undefined {
  return version === undefined ? undefined : REVISIONS.get(version);
}

export function isStatelessRevision(version: string | undefined): boolean {
  return revisionTable(version)?.era === 'stateless';
}
