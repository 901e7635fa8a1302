/**
 * In-process StateStore: one entry per (session, policy), least-recently-used first out, each
 * entry dropped after its TTL. The store is bounded twice: by entries (`maxSessions`) and by
 * approximate bytes (`memoryMaxBytes`, each entry's own structures accounted: counters, id
 * window, hash ring, distinct sets), so neither many light sessions nor fewer heavy ones grow
 * memory past the cap. Semantics match the Redis script (redis-script.ts) step for step; where
 * a bound makes them differ (more than MAX_COUNTERS loop digests per session) the difference
 * is documented beside the bound.
 *
 * Eviction must not become a way to hijack a session: one source address can create at most
 * `newSessionsPerSource` new records per window (so one client cannot churn the LRU), and an
 * evicted `Mcp-Session-Id` record leaves a tombstone with its bindings, so the next request on
 * that id is judged against them instead of binding afresh to whoever sends it.
 */
import type {
  CounterOp,
  CounterResult,
  Effect,
  IdObservation,
  Observation,
  ObservationResult,
  PrincipalRevocation,
  SessionFilter,
  SessionKind,
  SessionObservation,
  SessionRecord,
  StateStore,
} from './store.js';
import { DEFAULT_NEW_SESSIONS_PER_SOURCE, churnedObservation, type NewSessionLimit } from './store.js';

export interface MemoryStoreOptions {
  /** Cap on tracked (session, policy) entries; the least recently used go first. */
  readonly maxSessions?: number;
  /** Cap on the approximate bytes the entries hold; the least recently used go first. */
  readonly memoryMaxBytes?: number;
  /** New session records one source address (IPv6: /64) may create per window. */
  readonly newSessionsPerSource?: NewSessionLimit;
}

export const DEFAULT_MEMORY_MAX_SESSIONS = 100_000;
export const DEFAULT_MEMORY_MAX_BYTES = 256 * 1024 * 1024;
/**
 * Per entry: counters kept. Past it, the loop/enumeration counter with the lowest count makes
 * room (never a rule's rate, burst or distinct counter): a session rotating through more
 * argument sets than this keeps its ~MAX_COUNTERS most used ones counted, where Redis (no
 * cap) counts all. 64 covers the audit's 33-set rotation with room to spare, at 40 bytes each.
 */
export const MAX_COUNTERS = 64;
/** Suspended entries are skipped over when choosing an eviction victim among this many. */
const EVICTION_SCAN = 8;
/** Weight of the newest bucket in the burst baseline (exponential moving average). */
export const BURST_ALPHA = 0.2;
/** Remembered hashed ids per session (string ids, derived-identity replay). */
export const HASH_RING_MIN = 32;
/** Sources whose new-session counts are kept (least recently active forgotten first). */
const MAX_SOURCES = 65_536;
/** Window indexes kept per source modulo this (only equality with now's and the previous one matters). */
const SOURCE_IDX = 2 ** 20;
/** New-session counts per window are kept up to this (4,094 is the largest usable limit). */
const SOURCE_COUNT = 4_096;

/**
 * Approximate costs in bytes, calibrated against the heap growth test/bench/session-memory.ts
 * measures (light and heavy sessions): raw element sizes (4 bytes a small integer, 8 a
 * double) plus allocation slack and fragmentation.
 */
const ENTRY_BYTES = 360;
const STRING_BYTES = 16;
const ARRAY_BYTES = 16;
const COUNTER_NUMBER_BYTES = 9;
const SET_SLOT_BYTES = 8;
const TOMBSTONE_BYTES = 120;
const SOURCE_BYTES = 80;

/**
 * Counters of an entry live in one array of doubles (8 bytes each, unboxed), STRIDE numbers
 * each, with no object per counter: [kind·2^30 + id, a, b, c, d] where
 *   bucket   a tokens, b last refill time
 *   window   a window index, b count, c previous window's count, d last sequence value (NaN)
 *   distinct a window index, b current members, c previous members (sets: see DistinctSets)
 *   burst    a bucket index, b count, c baseline, d buckets seen
 */
const STRIDE = 5;
const KIND_CODE = { bucket: 0, window: 1, distinct: 2, burst: 3 } as const;
const ID_SPACE = 0x40000000;

/** Slots of the entry's times at the head of Entry.counters; its counters follow from HEAD. */
const T_EXPIRES = 0;
const T_SUSPENDED = 1;
const T_CREATED = 2;
const T_SEEN = 3;
const T_COUNTRY = 4;
const T_HIGHEST = 5;
const HEAD = 6;

/** One (session, policy), or a principal's counters. Kept flat: this is what 100k sessions cost. */
class Entry {
  /** Value of the store's insertion counter when the entry last moved to the recent end. */
  moved = 0;
  /**
   * The entry's times and highest id (HEAD slots), then its counters, in one array of unboxed
   * doubles: as object properties each time (not a small integer) would be a separate box, and
   * a second array would cost its own headers.
   */
  counters: number[];
  /** Bytes accounted to this entry (in the store's total). */
  bytes = 0;
  suspendReason = '';
  /** Distinct-member sets: [counter id, current, previous] triples. */
  sets: Array<number | number[]> | undefined = undefined;
  /** Undefined until the entry holds a session record (principal-scope entries never do). */
  kind: SessionKind | undefined = undefined;
  label = '';
  client = '';
  principal = '';
  requests = 0;
  /** name, value, name, value … (exact length). */
  bound: string[] = NO_STRINGS;
  country = '';
  /** Bitmap of the ids below the highest integer id seen (`highest`, NaN before the first). */
  bits: number[] = NO_NUMBERS;
  /** Ring of [48-bit hash, time] pairs for string ids / derived-identity replay. */
  ring: number[] = NO_NUMBERS;
  ringPos = 0;
  constructor(now: number) {
    // A literal holding NaN is allocated as a double array at once.
    this.counters = [now, 0, 0, 0, 0, Number.NaN];
  }
  get expiresAt(): number {
    return this.counters[T_EXPIRES] ?? 0;
  }
  set expiresAt(v: number) {
    this.counters[T_EXPIRES] = v;
  }
  get suspendedUntil(): number {
    return this.counters[T_SUSPENDED] ?? 0;
  }
  set suspendedUntil(v: number) {
    this.counters[T_SUSPENDED] = v;
  }
  get createdAt(): number {
    return this.counters[T_CREATED] ?? 0;
  }
  set createdAt(v: number) {
    this.counters[T_CREATED] = v;
  }
  get lastSeenAt(): number {
    return this.counters[T_SEEN] ?? 0;
  }
  set lastSeenAt(v: number) {
    this.counters[T_SEEN] = v;
  }
  get countryAt(): number {
    return this.counters[T_COUNTRY] ?? 0;
  }
  set countryAt(v: number) {
    this.counters[T_COUNTRY] = v;
  }
  get highest(): number {
    return this.counters[T_HIGHEST] ?? Number.NaN;
  }
  set highest(v: number) {
    this.counters[T_HIGHEST] = v;
  }
}
const NO_STRINGS: string[] = [];
const NO_NUMBERS: number[] = [];
const NO_COUNTERS: readonly CounterOp[] = [];

/** What an evicted `Mcp-Session-Id` record leaves: enough to judge and restore its binding. */
interface Tombstone {
  readonly bound: string[];
  readonly client: string;
  readonly principal: string;
  readonly createdAt: number;
  readonly highest: number;
  readonly expiresAt: number;
}

/** Concatenation into an array of exactly the needed capacity (spread and push leave spare slots). */
function exact<T>(...parts: ReadonlyArray<readonly T[]>): T[] {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Array<T>(n);
  let i = 0;
  for (const p of parts) for (const v of p) out[i++] = v;
  return out;
}

/**
 * V8 keeps concatenations as rope strings (and a flattened copy beside them once hashed);
 * a string the store keeps for a long time is copied flat once.
 */
function flat(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}

/**
 * Labels, client labels and principals repeat across sessions (one client, one user, many
 * sessions): each distinct text is kept once. Bounded: past INTERNED texts the table restarts
 * (texts already shared stay shared; only new ones are copied afresh), and texts longer than
 * INTERNED_LENGTH are not shared, so the table stays under ~1 MB whatever clients send.
 */
const INTERNED = 4_096;
const INTERNED_LENGTH = 160;
const interned = new Map<string, string>();
function intern(text: string): string {
  if (text === '' || text.length > INTERNED_LENGTH) return flat(text);
  const known = interned.get(text);
  if (known !== undefined) return known;
  if (interned.size >= INTERNED) interned.clear();
  const kept = flat(text);
  interned.set(kept, kept);
  return kept;
}

function hashNumber(hex: string): number {
  return Number.parseInt(hex.slice(0, 12), 16);
}

function entryBytes(key: string, e: Entry): number {
  let n = ENTRY_BYTES + STRING_BYTES + key.length;
  if (e.kind !== undefined) {
    n += 3 * STRING_BYTES + e.label.length + e.client.length + e.principal.length + e.suspendReason.length;
    if (e.bound.length > 0) n += ARRAY_BYTES + 4 * e.bound.length;
    for (let i = 1; i < e.bound.length; i += 2) n += STRING_BYTES + (e.bound[i]?.length ?? 0);
    n += e.bits.length === 0 ? 0 : ARRAY_BYTES + 12 * e.bits.length;
    n += e.ring.length === 0 ? 0 : ARRAY_BYTES + 12 * e.ring.length;
  }
  if (e.counters.length > HEAD) n += ARRAY_BYTES + COUNTER_NUMBER_BYTES * (e.counters.length - HEAD);
  if (e.sets !== undefined) {
    n += ARRAY_BYTES + 4 * e.sets.length;
    for (const s of e.sets) if (typeof s !== 'number' && s.length > 0) n += ARRAY_BYTES + SET_SLOT_BYTES * s.length;
  }
  return n;
}

const SEPARATOR = '\u0000';

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  /** Key `ref \0 policy`; Map order is least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private readonly revoked = new Map<string, number>();
  private readonly revokedPrincipals = new Map<string, number>();
  /** Evicted `Mcp-Session-Id` records, oldest first (key as in `entries`). */
  private readonly tombstones = new Map<string, Tombstone>();
  /** Source → window index (mod SOURCE_IDX) · SOURCE_COUNT² + previous count · SOURCE_COUNT + count. */
  private readonly sources = new Map<string, number>();
  private readonly maxSessions: number;
  private readonly maxBytes: number;
  private readonly maxTombstones: number;
  private readonly maxSources: number;
  private readonly churn: NewSessionLimit;
  private insertions = 0;
  private totalBytes = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSessions = Math.max(1, options.maxSessions ?? DEFAULT_MEMORY_MAX_SESSIONS);
    this.maxBytes = Math.max(4_096, options.memoryMaxBytes ?? DEFAULT_MEMORY_MAX_BYTES);
    // Tombstones get their own budget (an eighth of the bytes, at most one per session slot),
    // so making them never evicts live sessions.
    this.maxTombstones = Math.max(64, Math.min(this.maxSessions, Math.floor(this.maxBytes / 8 / (TOMBSTONE_BYTES + 100))));
    this.maxSources = Math.min(MAX_SOURCES, this.maxSessions);
    this.churn = options.newSessionsPerSource ?? DEFAULT_NEW_SESSIONS_PER_SOURCE;
  }

  /** Entries currently held (for tests and benchmarks). */
  get size(): number {
    return this.entries.size;
  }

  /** Approximate bytes held: entries, tombstones and per-source counts (what `memoryMaxBytes` bounds). */
  get bytes(): number {
    return this.totalBytes + this.tombstones.size * TOMBSTONE_BYTES + this.sources.size * SOURCE_BYTES;
  }

  observe(observations: readonly Observation[]): Promise<ObservationResult[]> {
    return Promise.resolve(observations.map((o) => this.observeOne(o)));
  }

  list(filter: SessionFilter = {}, nowMs = Date.now()): Promise<SessionRecord[]> {
    const now = nowMs;
    const out: SessionRecord[] = [];
    for (const [key, e] of this.entries) {
      if (e.kind === undefined || e.expiresAt <= now) continue;
      const [ref = '', policy = ''] = key.split(SEPARATOR);
      if (filter.ref !== undefined && ref !== filter.ref) continue;
      if (filter.principal !== undefined && e.principal !== filter.principal) continue;
      out.push({
        ref,
        policy,
        kind: e.kind,
        label: e.label,
        client: e.client,
        principal: e.principal,
        createdAt: e.createdAt,
        lastSeenAt: e.lastSeenAt,
        requests: e.requests,
        suspendedUntil: e.suspendedUntil > now ? e.suspendedUntil : 0,
        suspendReason: e.suspendedUntil > now ? e.suspendReason : '',
        revoked: (this.revoked.get(ref) ?? 0) > now || (e.principal !== '' && (this.revokedPrincipals.get(e.principal) ?? 0) > now),
      });
    }
    return Promise.resolve(out);
  }

  listRevokedPrincipals(nowMs = Date.now()): Promise<PrincipalRevocation[]> {
    const out: PrincipalRevocation[] = [];
    for (const [principal, until] of this.revokedPrincipals) if (until > nowMs) out.push({ principal, until });
    return Promise.resolve(out);
  }

  revoke(filter: SessionFilter, forMs: number, nowMs: number): Promise<number> {
    const refs = new Set<string>();
    if (filter.ref !== undefined) refs.add(filter.ref);
    if (filter.principal !== undefined) {
      for (const [key, e] of this.entries) {
        if (e.kind !== undefined && e.principal === filter.principal && e.expiresAt > nowMs) refs.add(key.split(SEPARATOR)[0] ?? '');
      }
      // Sessions the principal starts from now on are refused too (checked on every request).
      this.revokedPrincipals.delete(filter.principal);
      this.revokedPrincipals.set(filter.principal, nowMs + forMs);
    }
    for (const ref of refs) {
      this.revoked.delete(ref);
      this.revoked.set(ref, nowMs + forMs);
    }
    // Revocations are rare admin actions; keep them bounded all the same.
    for (const map of [this.revoked, this.revokedPrincipals]) {
      while (map.size > this.maxSessions) {
        const first = map.keys().next();
        if (first.done === true) break;
        map.delete(first.value);
      }
    }
    return Promise.resolve(refs.size);
  }

  close(): Promise<void> {
    this.entries.clear();
    this.revoked.clear();
    this.revokedPrincipals.clear();
    this.tombstones.clear();
    this.sources.clear();
    this.totalBytes = 0;
    return Promise.resolve();
  }

  private take(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.remove(key, entry);
      return undefined;
    }
    // Only entries in the older half of the order move to the recent end (they are the ones
    // eviction could reach); moving every hit would fill the Map with deleted slots.
    if (this.insertions - entry.moved > this.maxSessions / 2) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      entry.moved = ++this.insertions;
    }
    return entry;
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }

  private evictOne(now: number, keep: string): void {
    let victim: string | undefined;
    let scanned = 0;
    for (const [key, entry] of this.entries) {
      if (key === keep) continue;
      victim ??= key;
      if (entry.suspendedUntil <= now) {
        victim = key;
        break;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    if (victim === undefined) return;
    const entry = this.entries.get(victim);
    if (entry === undefined) return;
    this.remove(victim, entry);
    if (entry.kind === 'mcp' && entry.expiresAt > now) this.bury(victim, entry);
  }

  private bury(key: string, e: Entry): void {
    this.tombstones.delete(key);
    this.tombstones.set(key, { bound: e.bound, client: e.client, principal: e.principal, createdAt: e.createdAt, highest: e.highest, expiresAt: e.expiresAt });
    while (this.tombstones.size > this.maxTombstones) {
      const first = this.tombstones.keys().next();
      if (first.done === true) break;
      this.tombstones.delete(first.value);
    }
  }

  /** Counts a new record against its source's allowance; false when the source is over it. */
  private admit(source: string, now: number): boolean {
    if (source === '' || this.churn.max <= 0) return true;
    const win = this.churn.windowMs;
    const idx = Math.floor(now / win);
    const packed = this.sources.get(source);
    let cur = 0;
    let prev = 0;
    if (packed !== undefined) {
      this.sources.delete(source);
      const i = Math.floor(packed / SOURCE_COUNT ** 2);
      const c = packed % SOURCE_COUNT;
      if (i === idx % SOURCE_IDX) {
        cur = c;
        prev = Math.floor(packed / SOURCE_COUNT) % SOURCE_COUNT;
      } else if (i === (idx - 1) % SOURCE_IDX) {
        prev = c;
      }
    }
    const admitted = estimate(prev, cur + 1, now, idx, win) <= this.churn.max;
    if (admitted) cur = Math.min(SOURCE_COUNT - 1, cur + 1);
    this.sources.set(source, (idx % SOURCE_IDX) * SOURCE_COUNT ** 2 + prev * SOURCE_COUNT + cur);
    while (this.sources.size > this.maxSources) {
      const first = this.sources.keys().next();
      if (first.done === true) break;
      this.sources.delete(first.value);
    }
    return admitted;
  }

  private observeOne(o: Observation): ObservationResult {
    const now = o.nowMs;
    const s = o.session;
    const lookup = o.ref + SEPARATOR + o.policy;
    let e = this.take(lookup, now);
    let tomb: Tombstone | undefined;
    if (e === undefined) {
      if (s !== undefined) {
        tomb = this.tombstones.get(lookup);
        if (tomb !== undefined) {
          this.tombstones.delete(lookup);
          if (tomb.expiresAt <= now) tomb = undefined;
        }
        // A returning evicted session is not new; anything else counts against its source.
        if (tomb === undefined && !this.admit(s.source, now)) return churnedObservation(this.principalRevoked(s, now));
      }
      e = new Entry(now);
      e.moved = ++this.insertions;
      this.entries.set(flat(lookup), e);
    }
    const revoked = (this.revoked.get(o.ref) ?? 0) > now || (s !== undefined && this.principalRevoked(s, now));
    let blocked = revoked;
    const suspendedUntil = e.suspendedUntil > now ? e.suspendedUntil : 0;
    const suspendReason = suspendedUntil > 0 ? e.suspendReason : '';
    if (suspendedUntil > 0) blocked = true;
    let suspendWith = '';

    let expired: ObservationResult['expired'] = '';
    let renewed = false;
    let mismatch = '';
    let boundValue = '';
    let travelFrom = '';
    let ids: IdPlan | undefined;
    if (s !== undefined) {
      let fresh = e.kind === undefined;
      if (fresh && tomb !== undefined) {
        // Restored from its tombstone: bound as before, so a stranger is a mismatch.
        startSession(e, s, now);
        e.bound = tomb.bound;
        e.client = tomb.client;
        e.principal = tomb.principal;
        e.createdAt = tomb.createdAt;
        e.highest = tomb.highest;
        // The window's bitmap was not kept: every id up to the highest counts as used (an
        // evicted session was the least recently used one, so none of them is in flight).
        if (!Number.isNaN(tomb.highest)) e.bits = new Array<number>(Math.ceil((s.reorderWindow + 1) / 32)).fill(-1);
        fresh = false;
      }
      if (!fresh) {
        if (now - e.createdAt > s.maxLifetimeMs) expired = 'lifetime';
        else if (now - e.lastSeenAt > s.idleTimeoutMs) expired = 'idle';
        if (expired !== '') {
          if (s.renewOnExpiry) {
            fresh = true;
            renewed = true;
          } else {
            blocked = true;
          }
        }
      }
      if (fresh) {
        startSession(e, s, now);
      } else if (expired === '') {
        const bound = e.bound;
        for (const [name, value] of s.bind) {
          let at = -1;
          for (let i = 0; i < bound.length; i += 2) if (bound[i] === name) at = i;
          const stored = bound[at + 1] ?? '';
          if (at < 0) {
            e.bound = exact(e.bound, [name, flat(value)]);
          } else if (stored === '' && value !== '') {
            // An attribute absent at first use (no token yet) binds when it first appears.
            bound[at + 1] = flat(value);
          } else if (stored !== value) {
            mismatch = name;
            boundValue = stored;
            break;
          }
        }
        if (mismatch !== '') [blocked, suspendWith] = apply(s.mismatch, 'binding-mismatch', blocked, suspendWith);
        if (s.country !== '' && s.travelMinIntervalMs > 0 && e.country !== '' && e.country !== s.country && now - e.countryAt < s.travelMinIntervalMs) {
          travelFrom = e.country;
          [blocked, suspendWith] = apply(s.travel, 'impossible-travel', blocked, suspendWith);
        }
      }
      ids = planIds(e, s, now);
      if (ids.replayIndex >= 0) [blocked, suspendWith] = apply(s.replay, 'id-replay', blocked, suspendWith);
      if (ids.tooOldIndex >= 0) [blocked, suspendWith] = apply(s.replay, 'id-too-old', blocked, suspendWith);
      if (ids.gapIndex >= 0) [blocked, suspendWith] = apply(s.gap, 'id-gap', blocked, suspendWith);
    }

    const counters: CounterResult[] = [];
    let maxWindowMs = 0;
    // Stage 7 fails fast: a request refused for the session's integrity (a hijacker's, a
    // replay) never reaches the behaviour counters, so it cannot spend the owner's budget.
    const counted = blocked ? NO_COUNTERS : o.counters;
    for (const op of counted) {
      const result = count(e, op, now);
      counters.push(result);
      maxWindowMs = Math.max(maxWindowMs, windowOf(op));
      if (result.exceeded) [blocked, suspendWith] = apply(op.effect, op.id, blocked, suspendWith);
    }

    if (s !== undefined && !blocked) {
      commitIds(e, s, now);
      e.lastSeenAt = now;
      e.requests += 1;
      if (s.country !== '' && travelFrom === '') {
        e.country = s.country;
        e.countryAt = now;
      }
    }
    let suspendedNow = 0;
    if (suspendWith !== '' && suspendedUntil === 0) {
      suspendedNow = now + o.suspendMs;
      e.suspendedUntil = suspendedNow;
      e.suspendReason = suspendWith;
    }
    e.expiresAt = Math.max(e.expiresAt, now + ttlFor(o, e, maxWindowMs), e.suspendedUntil);
    const bytes = entryBytes(lookup, e);
    this.totalBytes += bytes - e.bytes;
    e.bytes = bytes;
    while (this.entries.size > this.maxSessions || (this.bytes > this.maxBytes && this.entries.size > 1)) this.evictOne(now, lookup);
    return {
      revoked,
      suspendedUntil,
      suspendReason,
      expired,
      renewed,
      mismatch,
      boundValue,
      travelFrom,
      replayIndex: ids?.replayIndex ?? -1,
      gapIndex: ids?.gapIndex ?? -1,
      gapDirection: ids?.gapDirection ?? '',
      tooOldIndex: ids?.tooOldIndex ?? -1,
      counters,
      suspendedNow,
      churned: false,
    };
  }

  private principalRevoked(s: SessionObservation, now: number): boolean {
    return s.principal !== '' && this.revokedPrincipals.size > 0 && (this.revokedPrincipals.get(s.principal) ?? 0) > now;
  }
}

function startSession(e: Entry, s: SessionObservation, now: number): void {
  e.kind = s.kind;
  e.label = intern(s.label);
  e.client = intern(s.client);
  e.principal = intern(s.principal);
  e.createdAt = now;
  e.lastSeenAt = now;
  e.requests = 0;
  e.bound = s.bind.length === 0 ? NO_STRINGS : exact(...s.bind.map(([name, value]) => [name, flat(value)]));
  e.country = s.country;
  e.countryAt = s.country === '' ? 0 : now;
  e.highest = Number.NaN;
  e.bits = NO_NUMBERS;
  e.ring = NO_NUMBERS;
  e.ringPos = 0;
}

/**
 * Counter ids as 30-bit numbers (FNV-1a) with the kind above them: a number in the array
 * costs 8 bytes, a string id 40. Ids only need to differ among one entry's counters.
 */
function idNumber(id: string, kind: CounterOp['kind']): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return KIND_CODE[kind] * ID_SPACE + (h & (ID_SPACE - 1));
}

/**
 * How much a counter has been used lately, as its sliding-window estimate (eviction keeps the
 * most used). `windowMs` is the incoming counter's: counters crowding an entry are one rule's.
 */
function usage(c: number[], at: number, now: number, windowMs: number): number {
  // Only per-argument counters (loop, enumeration) are ever evicted; a rule's own counters
  // (rate, burst, bulk access) must not reset because a session called many distinct things.
  if (Math.floor((c[at] ?? 0) / ID_SPACE) !== KIND_CODE.window) return Number.POSITIVE_INFINITY;
  const idx = Math.floor(now / windowMs);
  const i = c[at + 1] ?? 0;
  if (i < idx - 1) return 0;
  if (i === idx - 1) return estimate(c[at + 2] ?? 0, 0, now, idx, windowMs);
  return estimate(c[at + 3] ?? 0, c[at + 2] ?? 0, now, idx, windowMs);
}

/** Finds (or makes room for) a counter; returns its first slot. */
function counterSlot(e: Entry, op: CounterOp, init: readonly number[], now: number): number {
  const id = idNumber(op.id, op.kind);
  let c = e.counters;
  for (let i = HEAD; i < c.length; i += STRIDE) if (c[i] === id) return i;
  let at: number;
  if (c.length < HEAD + MAX_COUNTERS * STRIDE) {
    // Grown by copying (concat keeps the double elements kind), so no spare capacity.
    c = e.counters = c.concat(id, init[0] ?? 0, init[1] ?? 0, init[2] ?? 0, init[3] ?? 0);
    return c.length - STRIDE;
  }
  at = HEAD;
  let least = Number.POSITIVE_INFINITY;
  for (let i = HEAD; i < c.length; i += STRIDE) {
    const u = usage(c, i, now, op.kind === 'window' || op.kind === 'distinct' ? op.windowMs : 60_000);
    if (u < least) {
      least = u;
      at = i;
    }
  }
  if (Math.floor((c[at] ?? 0) / ID_SPACE) === KIND_CODE.distinct) dropSets(e, c[at] ?? 0);
  c[at] = id;
  for (let k = 0; k < STRIDE - 1; k++) c[at + 1 + k] = init[k] ?? 0;
  return at;
}

function dropSets(e: Entry, id: number): void {
  const sets = e.sets;
  if (sets === undefined) return;
  for (let i = 0; i < sets.length; i += 3) {
    if (sets[i] === id) {
      e.sets = exact(sets.slice(0, i), sets.slice(i + 3));
      return;
    }
  }
}

/**
 * Distinct members as open-addressing hash sets of 30-bit hashes (small integers: 4 bytes a
 * slot; 0 = empty), at most half full, never holding more than threshold + 1 members (enough
 * to know the threshold was passed), so one counter costs at most ~16 × threshold bytes.
 */
const EMPTY_SET: number[] = [];

function setHas(set: readonly number[], m: number): boolean {
  const mask = set.length - 1;
  if (mask < 0) return false;
  for (let i = m & mask; ; i = (i + 1) & mask) {
    const v = set[i];
    if (v === 0) return false;
    if (v === m) return true;
  }
}

function setAdd(set: number[], size: number, m: number): number[] {
  let s = set;
  if ((size + 1) * 2 > s.length) {
    const grown = new Array<number>(Math.max(4, s.length * 2)).fill(0);
    for (const v of s) if (v !== 0) insert(grown, v);
    s = grown;
  }
  insert(s, m);
  return s;
}

function insert(set: number[], m: number): void {
  const mask = set.length - 1;
  let i = m & mask;
  while (set[i] !== 0) i = (i + 1) & mask;
  set[i] = m;
}

function setsOf(e: Entry, id: number): number {
  const sets = (e.sets ??= []);
  for (let i = 0; i < sets.length; i += 3) if (sets[i] === id) return i;
  e.sets = exact(sets, [id, EMPTY_SET, EMPTY_SET]);
  return sets.length;
}

function count(e: Entry, op: CounterOp, now: number): CounterResult {
  switch (op.kind) {
    case 'bucket': {
      const at = counterSlot(e, op, [op.capacity, now, 0, 0], now);
      const c = e.counters;
      let tokens = Math.min(op.capacity, (c[at + 1] ?? 0) + Math.max(0, now - (c[at + 2] ?? 0)) * op.refillPerMs);
      let exceeded = true;
      if (tokens >= op.cost) {
        tokens -= op.cost;
        exceeded = false;
      }
      c[at + 1] = tokens;
      c[at + 2] = now;
      return { value: Math.floor(tokens), exceeded };
    }
    case 'window': {
      const idx = Math.floor(now / op.windowMs);
      const at = counterSlot(e, op, [idx, 0, 0, Number.NaN], now);
      const c = e.counters;
      let cur = c[at + 2] ?? 0;
      let prev = c[at + 3] ?? 0;
      const i = c[at + 1] ?? 0;
      if (i !== idx) {
        prev = i === idx - 1 ? cur : 0;
        cur = 0;
      }
      let counts = true;
      if (op.seq !== undefined) {
        const last = c[at + 4] ?? Number.NaN;
        const step = Number.isNaN(last) ? 0 : Math.abs(op.seq - last);
        counts = step > 0 && step <= (op.maxStep ?? 1);
        c[at + 4] = op.seq;
      }
      if (counts) cur += 1;
      c[at + 1] = idx;
      c[at + 2] = cur;
      c[at + 3] = prev;
      const est = estimate(prev, cur, now, idx, op.windowMs);
      return { value: est, exceeded: est > op.threshold };
    }
    case 'distinct': {
      const idx = Math.floor(now / op.windowMs);
      const at = counterSlot(e, op, [idx, 0, 0, 0], now);
      const c = e.counters;
      const si = setsOf(e, c[at] ?? 0);
      const sets = e.sets as Array<number | number[]>;
      let cur = sets[si + 1] as number[];
      let prev = sets[si + 2] as number[];
      let curN = c[at + 2] ?? 0;
      let prevN = c[at + 3] ?? 0;
      const i = c[at + 1] ?? 0;
      if (i !== idx) {
        prev = i === idx - 1 ? cur : EMPTY_SET;
        prevN = i === idx - 1 ? curN : 0;
        cur = EMPTY_SET;
        curN = 0;
      }
      // The member's 48 bits folded to 30 (a small integer: 4 bytes in the set).
      const h = hashNumber(op.member);
      const m = ((h % ID_SPACE) ^ Math.floor(h / ID_SPACE)) & (ID_SPACE - 1) || 1;
      if (!setHas(prev, m) && !setHas(cur, m) && curN <= op.threshold) {
        cur = setAdd(cur, curN, m);
        curN += 1;
      }
      c[at + 1] = idx;
      c[at + 2] = curN;
      c[at + 3] = prevN;
      sets[si + 1] = cur;
      sets[si + 2] = prev;
      const est = estimate(prevN, curN, now, idx, op.windowMs);
      return { value: est, exceeded: est > op.threshold };
    }
    case 'burst': {
      const idx = Math.floor(now / op.bucketMs);
      const at = counterSlot(e, op, [idx, 0, 0, 0], now);
      const c = e.counters;
      let i = c[at + 1] ?? 0;
      let cur = c[at + 2] ?? 0;
      let base = c[at + 3] ?? 0;
      let n = c[at + 4] ?? 0;
      if (idx > i) {
        const k = idx - i;
        base = (base * (1 - BURST_ALPHA) + cur * BURST_ALPHA) * Math.pow(1 - BURST_ALPHA, k - 1);
        n += k;
        cur = 0;
        i = idx;
      }
      cur += op.cost;
      c[at + 1] = i;
      c[at + 2] = cur;
      c[at + 3] = base;
      c[at + 4] = n;
      const exceeded = n >= op.minHistory && cur >= op.minCount && cur > op.factor * Math.max(base, 1);
      return { value: cur, exceeded };
    }
  }
}

/** Sliding-window estimate: the previous window weighted by how much of it still overlaps. */
export function estimate(prev: number, cur: number, now: number, idx: number, windowMs: number): number {
  return prev * (1 - (now - idx * windowMs) / windowMs) + cur;
}

function windowOf(op: CounterOp): number {
  switch (op.kind) {
    case 'bucket':
      return op.capacity / Math.max(op.refillPerMs, 1e-9);
    case 'burst':
      return op.bucketMs * 20;
    default:
      return op.windowMs;
  }
}

function apply(effect: Effect, reason: string, blocked: boolean, suspendWith: string): [boolean, string] {
  if (effect === 'none') return [blocked, suspendWith];
  return [true, effect === 'suspend' && suspendWith === '' ? reason : suspendWith];
}

interface IdPlan {
  replayIndex: number;
  gapIndex: number;
  gapDirection: '' | 'forward';
  tooOldIndex: number;
}

function ringSize(s: SessionObservation): number {
  return Math.max(HASH_RING_MIN, s.reorderWindow);
}

/** Is `id` (at or below `highest`, within the window) marked in the bitmap? */
function hasBit(e: Entry, id: number): boolean {
  const offset = e.highest - id;
  const word = e.bits[offset >>> 5] ?? 0;
  return (word & (1 << (offset & 31))) !== 0;
}

/** Marks `id`, sliding the window when it is the new highest; the bitmap keeps window+1 bits. */
function setBit(e: Entry, id: number, window: number): void {
  const words = Math.ceil((window + 1) / 32);
  if (Number.isNaN(e.highest) || id - e.highest > window) {
    e.highest = id;
    e.bits = new Array<number>(words).fill(0);
  } else if (id > e.highest) {
    const n = id - e.highest;
    const old = e.bits;
    const bits = new Array<number>(words).fill(0);
    for (let offset = 0; offset <= window - n; offset++) {
      if (((old[offset >>> 5] ?? 0) & (1 << (offset & 31))) !== 0) {
        const to = offset + n;
        bits[to >>> 5] = (bits[to >>> 5] ?? 0) | (1 << (to & 31));
      }
    }
    e.bits = bits;
    e.highest = id;
  }
  const offset = e.highest - id;
  const w = offset >>> 5;
  e.bits[w] = (e.bits[w] ?? 0) | (1 << (offset & 31));
}

function ringHas(e: Entry, h: number, s: SessionObservation, now: number): boolean {
  const ring = e.ring;
  for (let i = 0; i < ring.length; i += 2) {
    if (ring[i] === h && (s.replayWindowMs === 0 || now - (ring[i + 1] ?? 0) <= s.replayWindowMs)) return true;
  }
  return false;
}

function planIds(e: Entry, s: SessionObservation, now: number): IdPlan {
  const plan: IdPlan = { replayIndex: -1, gapIndex: -1, gapDirection: '', tooOldIndex: -1 };
  if (s.ids.length === 0) return plan;
  const w = s.reorderWindow;
  let highest = e.highest;
  const seenInts: number[] = [];
  const seenHashes: number[] = [];
  s.ids.forEach((idObs: IdObservation, i) => {
    if (idObs.kind === 'hash') {
      const h = hashNumber(idObs.hash);
      if (seenHashes.includes(h) || ringHas(e, h, s, now)) {
        if (plan.replayIndex < 0) plan.replayIndex = i;
      }
      seenHashes.push(h);
      return;
    }
    const id = idObs.id;
    if (Number.isNaN(highest)) {
      highest = id;
    } else if (id > highest) {
      if (id - highest > w && plan.gapIndex < 0) {
        plan.gapIndex = i;
        plan.gapDirection = 'forward';
      }
      highest = id;
    } else if (id < highest - w) {
      // Below the window nothing says whether this id was used: it cannot be proven fresh.
      if (plan.tooOldIndex < 0) plan.tooOldIndex = i;
      return;
    }
    const known = seenInts.includes(id) || (!Number.isNaN(e.highest) && id <= e.highest && id >= e.highest - w && hasBit(e, id));
    if (known && plan.replayIndex < 0) plan.replayIndex = i;
    seenInts.push(id);
  });
  return plan;
}

function commitIds(e: Entry, s: SessionObservation, now: number): void {
  const w = s.reorderWindow;
  for (const idObs of s.ids) {
    if (idObs.kind === 'hash') {
      const size = ringSize(s);
      if (e.ring.length !== 2 * size) e.ring = new Array<number>(2 * size).fill(-1);
      e.ring[2 * e.ringPos] = hashNumber(idObs.hash);
      e.ring[2 * e.ringPos + 1] = now;
      e.ringPos = (e.ringPos + 1) % size;
      continue;
    }
    if (!Number.isNaN(e.highest) && idObs.id < e.highest - w) continue;
    setBit(e, idObs.id, w);
  }
}

function ttlFor(o: Observation, e: Entry, maxWindowMs: number): number {
  const s = o.session;
  let ttl = 2 * maxWindowMs;
  if (s !== undefined && e.kind !== undefined) {
    ttl = Math.max(ttl, s.idleTimeoutMs + 60_000);
    // Keep an Mcp-Session-Id's record for its whole lifetime, so an expired id stays refused.
    if (s.kind === 'mcp') ttl = Math.max(ttl, e.createdAt + s.maxLifetimeMs + s.idleTimeoutMs - o.nowMs);
    if (s.replayWindowMs > 0) ttl = Math.max(ttl, s.replayWindowMs);
  }
  return ttl;
}
