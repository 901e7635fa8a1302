/**
 * The state behind session integrity (stage 7) and behaviour (stage 8): one interface, two
 * implementations (memory-store.ts, redis-store.ts) with the same semantics. A check sends
 * every update for one request in a single `observe` call (one Redis round trip); the store
 * applies them atomically, compares thresholds, records suspensions, and returns the inputs
 * the stages turn into denials. Values that identify people (user agents, tokens, ids) arrive
 * here already hashed.
 */

export type SessionKind = 'mcp' | 'principal' | 'peer';

/** One JSON-RPC request id, as the replay window sees it. */
export type IdObservation =
  /** Integer id in an `Mcp-Session-Id` session: sliding window around the highest id seen. */
  | { readonly kind: 'int'; readonly id: number }
  /** String id (hashed) in an `Mcp-Session-Id` session, or id+message digest of a derived identity. */
  | { readonly kind: 'hash'; readonly hash: string };

/** Behaviour counters; each returns a value and whether it passed its threshold. */
export type CounterOp =
  /** Token bucket: `capacity` tokens, refilled at `refillPerMs`; `cost` tokens per check (requests in it). */
  | { readonly kind: 'bucket'; readonly id: string; readonly capacity: number; readonly refillPerMs: number; readonly cost: number; readonly effect: Effect }
  /**
   * Sliding-window count (two fixed windows, the previous one weighted by overlap). With
   * `seq`, only a step of 1..maxStep from the last value seen counts (enumeration).
   */
  | {
      readonly kind: 'window';
      readonly id: string;
      readonly windowMs: number;
      readonly threshold: number;
      readonly seq?: number;
      readonly maxStep?: number;
      readonly effect: Effect;
    }
  /** Distinct members in a sliding window (bulk access); members are hashes. */
  | { readonly kind: 'distinct'; readonly id: string; readonly windowMs: number; readonly threshold: number; readonly member: string; readonly effect: Effect }
  /**
   * Requests per bucket against the scope's own moving baseline (EWMA over past buckets);
   * exceeds when the current bucket holds at least `minCount` and more than `factor` × baseline,
   * once `minHistory` buckets have been seen.
   */
  | {
      readonly kind: 'burst';
      readonly id: string;
      readonly bucketMs: number;
      readonly factor: number;
      readonly minCount: number;
      readonly minHistory: number;
      /** Requests this check adds to the current bucket. */
      readonly cost: number;
      readonly effect: Effect;
    };

/**
 * What crossing a threshold does inside the store: `block` stops the request's id from being
 * recorded; `suspend` also suspends the scope. Warn and audit-mode rules pass `none`.
 */
export type Effect = 'none' | 'block' | 'suspend';

export interface SessionObservation {
  readonly kind: SessionKind;
  /** Non-secret label for `sessions list` (principal, address + agent, or an id prefix). */
  readonly label: string;
  /** `Mcp-Session-Id` sessions: redacted client address and truncated user agent for `sessions list` ('' otherwise). */
  readonly client: string;
  /**
   * Client address (IPv6 cut to /64) that new session records are counted against
   * (`newSessionsPerSource`); '' when unknown.
   */
  readonly source: string;
  /** Principal for `sessions revoke --principal` ('' when anonymous). */
  readonly principal: string;
  readonly maxLifetimeMs: number;
  readonly idleTimeoutMs: number;
  /** Derived identities start a fresh session on expiry instead of being refused. */
  readonly renewOnExpiry: boolean;
  /** Binding on first use: values compared on every later request, in this order. */
  readonly bind: ReadonlyArray<readonly [name: string, value: string]>;
  readonly mismatch: Effect;
  /** ISO country of the client address ('' when unknown or travel is off). */
  readonly country: string;
  readonly travelMinIntervalMs: number;
  readonly travel: Effect;
  readonly ids: readonly IdObservation[];
  readonly reorderWindow: number;
  /** For hashed ids of derived identities: how long a hash is remembered (0: by count only). */
  readonly replayWindowMs: number;
  readonly replay: Effect;
  readonly gap: Effect;
}

export interface Observation {
  /** Session reference (`m.…`, `p.…`, `a.…`): the key's hash tag. */
  readonly ref: string;
  /** Policy key: each policy keeps its own view of a session. */
  readonly policy: string;
  readonly nowMs: number;
  readonly suspendMs: number;
  /** Present for the session scope; absent for per-principal counters. */
  readonly session?: SessionObservation;
  readonly counters: readonly CounterOp[];
}

export interface CounterResult {
  readonly value: number;
  readonly exceeded: boolean;
}

export interface ObservationResult {
  readonly revoked: boolean;
  /** Suspension in force before this request (ms since epoch; 0 when none). */
  readonly suspendedUntil: number;
  readonly suspendReason: string;
  /** 'lifetime' or 'idle' when the session had expired (renewed ones report it too). */
  readonly expired: '' | 'lifetime' | 'idle';
  readonly renewed: boolean;
  /** Name of the first binding that differs ('' when all match), and the bound value. */
  readonly mismatch: string;
  readonly boundValue: string;
  /** Country change faster than allowed: previous country ('' when none). */
  readonly travelFrom: string;
  /** Index into `ids` of the first replayed id (-1 when none). */
  readonly replayIndex: number;
  /** Index into `ids` of the first id that jumps ahead of the reorder window (-1 when none). */
  readonly gapIndex: number;
  /** 'forward' when `gapIndex` is set (ids behind the window are `tooOldIndex`). */
  readonly gapDirection: '' | 'forward';
  /**
   * Index into `ids` of the first integer id below highest − reorderWindow (-1 when none):
   * the window no longer says whether it was used, so it cannot be proven fresh and is
   * judged as a replay (`replay` effect), never merely as a gap.
   */
  readonly tooOldIndex: number;
  /** One per counter op, in order; empty when session integrity refused the request first. */
  readonly counters: readonly CounterResult[];
  /** Set when this request suspended the scope (until this time). */
  readonly suspendedNow: number;
  /**
   * The request would have created a new session record, but its source already created
   * `newSessionsPerSource` in the window: nothing was recorded.
   */
  readonly churned: boolean;
}

export interface SessionRecord {
  readonly ref: string;
  readonly policy: string;
  readonly kind: SessionKind;
  readonly label: string;
  /** `Mcp-Session-Id` sessions: redacted client address and user agent at first use. */
  readonly client: string;
  readonly principal: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly requests: number;
  readonly suspendedUntil: number;
  readonly suspendReason: string;
  readonly revoked: boolean;
}

/** A principal refused by `sessions revoke --principal`, including sessions it starts later. */
export interface PrincipalRevocation {
  readonly principal: string;
  /** ms since the epoch. */
  readonly until: number;
}

/** How many new session records one source may create per window (0 turns the limit off). */
export interface NewSessionLimit {
  readonly max: number;
  readonly windowMs: number;
}

/**
 * 200 a minute: far above what one client (or a NAT of agents) starts, far below what it
 * takes to churn a 100,000-entry memory store.
 */
export const DEFAULT_NEW_SESSIONS_PER_SOURCE: NewSessionLimit = { max: 200, windowMs: 60_000 };

export interface SessionFilter {
  readonly ref?: string;
  readonly principal?: string;
}

export interface StateStore {
  /** Which implementation (for logs and `sessions list`). */
  readonly kind: 'memory' | 'redis';
  /** Applies all observations of one check atomically per scope, in one round trip. */
  observe(observations: readonly Observation[]): Promise<ObservationResult[]>;
  /** Sessions known to the store; `nowMs` decides what counts as expired, suspended, revoked. */
  list(filter?: SessionFilter, nowMs?: number): Promise<SessionRecord[]>;
  /**
   * Marks matching sessions revoked for `forMs`; returns how many session refs were revoked.
   * With a principal, also refuses every session the principal starts during `forMs`.
   */
  revoke(filter: SessionFilter, forMs: number, nowMs: number): Promise<number>;
  /** Principal revocations in force at `nowMs`. */
  listRevokedPrincipals(nowMs?: number): Promise<PrincipalRevocation[]>;
  close(): Promise<void>;
}

/** Raised by a store that cannot be reached; the stage applies `onStoreUnavailable`. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** What a refused new session reports: nothing was recorded, so every per-session field is empty. */
export function churnedObservation(revoked: boolean): ObservationResult {
  return {
    revoked,
    suspendedUntil: 0,
    suspendReason: '',
    expired: '',
    renewed: false,
    mismatch: '',
    boundValue: '',
    travelFrom: '',
    replayIndex: -1,
    gapIndex: -1,
    gapDirection: '',
    tooOldIndex: -1,
    counters: [],
    suspendedNow: 0,
    churned: true,
  };
}
