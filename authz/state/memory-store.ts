/**
 * In-process StateStore: one entry per (session, policy), least-recently-used first out when
 * the cap is reached, each entry dropped after its TTL. A flood of new session ids therefore
 * costs at most `maxSessions` entries; each entry's own structures are bounded too (id
 * window bitmap, hash ring, at most MAX_COUNTERS counters, distinct sets capped at their
 * threshold). Semantics match the Redis script (redis-script.ts) step for step.
 */
import type {
  CounterOp,
  CounterResult,
  Effect,
  IdObservation,
  Observation,
  ObservationResult,
  SessionFilter,
  SessionKind,
  SessionObservation,
  SessionRecord,
  StateStore,
} from './store.js';

export interface MemoryStoreOptions {
  /** Cap on tracked (session, policy) entries; the least recently used go first. */
  readonly maxSessions?: number;
}

export const DEFAULT_MEMORY_MAX_SESSIONS = 100_000;
/** Per entry: counters beyond this evict the oldest (a session calling many distinct things). */
const MAX_COUNTERS = 32;
/** Suspended entries are skipped over when choosing an eviction victim among this many. */
const EVICTION_SCAN = 8;
/** Weight of the newest bucket in the burst baseline (exponential moving average). */
export const BURST_ALPHA = 0.2;
/** Remembered hashed ids per session (string ids, derived-identity replay). */
export const HASH_RING_MIN = 32;

interface BucketState { t: 'b'; tokens: number; ts: number }
interface WindowState { t: 'w'; i: number; c: number; p: number; l: number | undefined }
interface DistinctState { t: 'd'; i: number; cur: Set<number>; prev: Set<number> | undefined }
interface BurstState { t: 'u'; i: number; c: number; b: number; n: number }
type CounterState = BucketState | WindowState | DistinctState | BurstState;

interface Entry {
  readonly ref: string;
  readonly policy: string;
  expiresAt: number;
  suspendedUntil: number;
  suspendReason: string;
  counters: Map<string, CounterState> | undefined;
  record: SessionState | undefined;
}

interface SessionState {
  kind: SessionKind;
  label: string;
  principal: string;
  createdAt: number;
  lastSeenAt: number;
  requests: number;
  /** name, value, name, value … */
  bound: string[];
  country: string;
  countryAt: number;
  /** Highest integer id seen (NaN before the first) and a bitmap of the ids below it. */
  highest: number;
  bits: number[];
  /** Ring of 48-bit hashes (and their times) for string ids / derived-identity replay. */
  ring: number[] | undefined;
  ringTimes: number[] | undefined;
  ringPos: number;
}

function hashNumber(hex: string): number {
  return Number.parseInt(hex.slice(0, 12), 16);
}

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly revoked = new Map<string, number>();
  private readonly maxSessions: number;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSessions = Math.max(1, options.maxSessions ?? DEFAULT_MEMORY_MAX_SESSIONS);
  }

  /** Entries currently held (for tests and benchmarks). */
  get size(): number {
    return this.entries.size;
  }

  observe(observations: readonly Observation[]): Promise<ObservationResult[]> {
    return Promise.resolve(observations.map((o) => this.observeOne(o)));
  }

  list(filter: SessionFilter = {}, nowMs = Date.now()): Promise<SessionRecord[]> {
    const now = nowMs;
    const out: SessionRecord[] = [];
    for (const entry of this.entries.values()) {
      const r = entry.record;
      if (r === undefined || entry.expiresAt <= now) continue;
      if (filter.ref !== undefined && entry.ref !== filter.ref) continue;
      if (filter.principal !== undefined && r.principal !== filter.principal) continue;
      out.push({
        ref: entry.ref,
        policy: entry.policy,
        kind: r.kind,
        label: r.label,
        principal: r.principal,
        createdAt: r.createdAt,
        lastSeenAt: r.lastSeenAt,
        requests: r.requests,
        suspendedUntil: entry.suspendedUntil > now ? entry.suspendedUntil : 0,
        suspendReason: entry.suspendedUntil > now ? entry.suspendReason : '',
        revoked: (this.revoked.get(entry.ref) ?? 0) > now,
      });
    }
    return Promise.resolve(out);
  }

  revoke(filter: SessionFilter, forMs: number, nowMs: number): Promise<number> {
    const refs = new Set<string>();
    if (filter.ref !== undefined) refs.add(filter.ref);
    if (filter.principal !== undefined) {
      for (const entry of this.entries.values()) {
        if (entry.record?.principal === filter.principal && entry.expiresAt > nowMs) refs.add(entry.ref);
      }
    }
    for (const ref of refs) {
      this.revoked.delete(ref);
      this.revoked.set(ref, nowMs + forMs);
    }
    // Revocations are rare admin actions; keep them bounded all the same.
    while (this.revoked.size > this.maxSessions) {
      const first = this.revoked.keys().next();
      if (first.done === true) break;
      this.revoked.delete(first.value);
    }
    return Promise.resolve(refs.size);
  }

  close(): Promise<void> {
    this.entries.clear();
    this.revoked.clear();
    return Promise.resolve();
  }

  private take(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  private insert(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    while (this.entries.size > this.maxSessions) this.evictOne(entry.expiresAt);
  }

  private evictOne(now: number): void {
    let victim: string | undefined;
    let scanned = 0;
    for (const [key, entry] of this.entries) {
      victim ??= key;
      if (entry.suspendedUntil <= now) {
        victim = key;
        break;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    if (victim !== undefined) this.entries.delete(victim);
  }

  private observeOne(o: Observation): ObservationResult {
    const now = o.nowMs;
    const key = `${o.ref}\u0000${o.policy}`;
    let entry = this.take(key, now);
    if (entry === undefined) {
      entry = { ref: o.ref, policy: o.policy, expiresAt: now, suspendedUntil: 0, suspendReason: '', counters: undefined, record: undefined };
      this.insert(key, entry);
    }
    const revoked = (this.revoked.get(o.ref) ?? 0) > now;
    let blocked = revoked;
    const suspendedUntil = entry.suspendedUntil > now ? entry.suspendedUntil : 0;
    const suspendReason = suspendedUntil > 0 ? entry.suspendReason : '';
    if (suspendedUntil > 0) blocked = true;
    let suspendWith = '';

    let expired: ObservationResult['expired'] = '';
    let renewed = false;
    let mismatch = '';
    let boundValue = '';
    let travelFrom = '';
    let ids: IdPlan | undefined;
    const s = o.session;
    if (s !== undefined) {
      let r = entry.record;
      if (r !== undefined) {
        if (now - r.createdAt > s.maxLifetimeMs) expired = 'lifetime';
        else if (now - r.lastSeenAt > s.idleTimeoutMs) expired = 'idle';
        if (expired !== '') {
          if (s.renewOnExpiry) {
            r = undefined;
            renewed = true;
          } else {
            blocked = true;
          }
        }
      }
      if (r === undefined) {
        r = newSession(s, now);
        entry.record = r;
      } else if (expired === '') {
        for (const [name, value] of s.bind) {
          let at = -1;
          for (let i = 0; i < r.bound.length; i += 2) if (r.bound[i] === name) at = i;
          const stored = r.bound[at + 1] ?? '';
          if (at < 0) {
            r.bound.push(name, value);
          } else if (stored === '' && value !== '') {
            // An attribute absent at first use (no token yet) binds when it first appears.
            r.bound[at + 1] = value;
          } else if (stored !== value) {
            mismatch = name;
            boundValue = stored;
            break;
          }
        }
        if (mismatch !== '') [blocked, suspendWith] = apply(s.mismatch, 'binding-mismatch', blocked, suspendWith);
        if (s.country !== '' && s.travelMinIntervalMs > 0 && r.country !== '' && r.country !== s.country && now - r.countryAt < s.travelMinIntervalMs) {
          travelFrom = r.country;
          [blocked, suspendWith] = apply(s.travel, 'impossible-travel', blocked, suspendWith);
        }
      }
      ids = planIds(r, s, now);
      if (ids.replayIndex >= 0) [blocked, suspendWith] = apply(s.replay, 'id-replay', blocked, suspendWith);
      if (ids.gapIndex >= 0) [blocked, suspendWith] = apply(s.gap, 'id-gap', blocked, suspendWith);
    }

    const counters: CounterResult[] = [];
    let maxWindowMs = 0;
    for (const op of o.counters) {
      const result = this.count(entry, op, now);
      counters.push(result);
      maxWindowMs = Math.max(maxWindowMs, windowOf(op));
      if (result.exceeded) [blocked, suspendWith] = apply(op.effect, op.id, blocked, suspendWith);
    }

    const r = entry.record;
    if (s !== undefined && r !== undefined && !blocked) {
      if (ids !== undefined) commitIds(r, ids, s, now);
      r.lastSeenAt = now;
      r.requests += 1;
      if (s.country !== '' && travelFrom === '') {
        r.country = s.country;
        r.countryAt = now;
      }
    }
    let suspendedNow = 0;
    if (suspendWith !== '' && suspendedUntil === 0) {
      suspendedNow = now + o.suspendMs;
      entry.suspendedUntil = suspendedNow;
      entry.suspendReason = suspendWith;
    }
    entry.expiresAt = Math.max(entry.expiresAt, now + ttlFor(o, r, maxWindowMs), entry.suspendedUntil);
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
      counters,
      suspendedNow,
    };
  }

  private count(entry: Entry, op: CounterOp, now: number): CounterResult {
    entry.counters ??= new Map();
    const map = entry.counters;
    let state = map.get(op.id);
    // Least recently used counter goes first: a stream of one-off loop digests must not push
    // out the counters every request touches (rate, enumeration, bulk access).
    if (state !== undefined) map.delete(op.id);
    else if (map.size >= MAX_COUNTERS) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
    switch (op.kind) {
      case 'bucket': {
        const st: BucketState = state?.t === 'b' ? state : { t: 'b', tokens: op.capacity, ts: now };
        st.tokens = Math.min(op.capacity, st.tokens + Math.max(0, now - st.ts) * op.refillPerMs);
        st.ts = now;
        let exceeded = true;
        if (st.tokens >= op.cost) {
          st.tokens -= op.cost;
          exceeded = false;
        }
        state = st;
        map.set(op.id, state);
        return { value: Math.floor(st.tokens), exceeded };
      }
      case 'window': {
        const idx = Math.floor(now / op.windowMs);
        const st: WindowState = state?.t === 'w' ? state : { t: 'w', i: idx, c: 0, p: 0, l: undefined };
        rotate(st, idx);
        let counts = true;
        if (op.seq !== undefined) {
          const step = st.l === undefined ? 0 : Math.abs(op.seq - st.l);
          counts = step > 0 && step <= (op.maxStep ?? 1);
          st.l = op.seq;
        }
        if (counts) st.c += 1;
        map.set(op.id, st);
        const est = estimate(st.p, st.c, now, idx, op.windowMs);
        return { value: est, exceeded: est > op.threshold };
      }
      case 'distinct': {
        const idx = Math.floor(now / op.windowMs);
        let st: DistinctState = state?.t === 'd' ? state : { t: 'd', i: idx, cur: new Set(), prev: undefined };
        if (st.i === idx - 1) st = { t: 'd', i: idx, cur: new Set(), prev: st.cur };
        else if (st.i < idx - 1) st = { t: 'd', i: idx, cur: new Set(), prev: undefined };
        const m = hashNumber(op.member);
        if (st.prev?.has(m) !== true && !st.cur.has(m) && st.cur.size <= op.threshold) st.cur.add(m);
        map.set(op.id, st);
        const est = estimate(st.prev?.size ?? 0, st.cur.size, now, idx, op.windowMs);
        return { value: est, exceeded: est > op.threshold };
      }
      case 'burst': {
        const idx = Math.floor(now / op.bucketMs);
        const st: BurstState = state?.t === 'u' ? state : { t: 'u', i: idx, c: 0, b: 0, n: 0 };
        if (idx > st.i) {
          const k = idx - st.i;
          st.b = (st.b * (1 - BURST_ALPHA) + st.c * BURST_ALPHA) * Math.pow(1 - BURST_ALPHA, k - 1);
          st.n += k;
          st.c = 0;
          st.i = idx;
        }
        st.c += op.cost;
        map.set(op.id, st);
        const exceeded = st.n >= op.minHistory && st.c >= op.minCount && st.c > op.factor * Math.max(st.b, 1);
        return { value: st.c, exceeded };
      }
    }
  }
}

function rotate(st: WindowState, idx: number): void {
  if (st.i === idx) return;
  st.p = st.i === idx - 1 ? st.c : 0;
  st.c = 0;
  st.i = idx;
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

function newSession(s: SessionObservation, now: number): SessionState {
  const bound: string[] = [];
  for (const [name, value] of s.bind) bound.push(name, value);
  return {
    kind: s.kind,
    label: s.label,
    principal: s.principal,
    createdAt: now,
    lastSeenAt: now,
    requests: 0,
    bound,
    country: s.country,
    countryAt: now,
    highest: Number.NaN,
    bits: [],
    ring: undefined,
    ringTimes: undefined,
    ringPos: 0,
  };
}

interface IdPlan {
  replayIndex: number;
  gapIndex: number;
  gapDirection: '' | 'forward' | 'backward';
}

function ringSize(s: SessionObservation): number {
  return Math.max(HASH_RING_MIN, s.reorderWindow);
}

/** Is `id` (at or below `highest`, within the window) marked in the bitmap? */
function hasBit(r: SessionState, id: number): boolean {
  const offset = r.highest - id;
  const word = r.bits[offset >>> 5] ?? 0;
  return (word & (1 << (offset & 31))) !== 0;
}

function setBit(r: SessionState, id: number, window: number): void {
  if (Number.isNaN(r.highest)) {
    r.highest = id;
    r.bits = [1];
    return;
  }
  if (id > r.highest) {
    shift(r.bits, id - r.highest, window);
    r.highest = id;
  }
  const offset = r.highest - id;
  const w = offset >>> 5;
  while (r.bits.length <= w) r.bits.push(0);
  r.bits[w] = (r.bits[w] ?? 0) | (1 << (offset & 31));
}

/** Shifts the bitmap by `n` positions (older ids move to higher offsets), keeping window+1 bits. */
function shift(bits: number[], n: number, window: number): void {
  const words = Math.ceil((window + 1) / 32);
  if (n > window) {
    bits.length = 0;
    return;
  }
  const old = bits.slice();
  bits.length = 0;
  for (let w = 0; w < words; w++) bits.push(0);
  for (let offset = 0; offset <= window - n; offset++) {
    if (((old[offset >>> 5] ?? 0) & (1 << (offset & 31))) !== 0) {
      const to = offset + n;
      bits[to >>> 5] = (bits[to >>> 5] ?? 0) | (1 << (to & 31));
    }
  }
}

function ringHas(r: SessionState, h: number, s: SessionObservation, now: number): boolean {
  if (r.ring === undefined || r.ringTimes === undefined) return false;
  for (let i = 0; i < r.ring.length; i++) {
    if (r.ring[i] === h && (s.replayWindowMs === 0 || now - (r.ringTimes[i] ?? 0) <= s.replayWindowMs)) return true;
  }
  return false;
}

function planIds(r: SessionState, s: SessionObservation, now: number): IdPlan {
  const plan: IdPlan = { replayIndex: -1, gapIndex: -1, gapDirection: '' };
  const w = s.reorderWindow;
  let highest = r.highest;
  const seenInts = new Set<number>();
  const seenHashes = new Set<number>();
  s.ids.forEach((idObs: IdObservation, i) => {
    if (idObs.kind === 'hash') {
      const h = hashNumber(idObs.hash);
      if (seenHashes.has(h) || ringHas(r, h, s, now)) {
        if (plan.replayIndex < 0) plan.replayIndex = i;
      }
      seenHashes.add(h);
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
      if (plan.gapIndex < 0) {
        plan.gapIndex = i;
        plan.gapDirection = 'backward';
      }
      return;
    }
    const known = seenInts.has(id) || (!Number.isNaN(r.highest) && id <= r.highest && id >= r.highest - w && hasBit(r, id));
    if (known && plan.replayIndex < 0) plan.replayIndex = i;
    seenInts.add(id);
  });
  return plan;
}

function commitIds(r: SessionState, _plan: IdPlan, s: SessionObservation, now: number): void {
  const w = s.reorderWindow;
  for (const idObs of s.ids) {
    if (idObs.kind === 'hash') {
      const size = ringSize(s);
      r.ring ??= [];
      r.ringTimes ??= [];
      r.ring[r.ringPos % size] = hashNumber(idObs.hash);
      r.ringTimes[r.ringPos % size] = now;
      r.ringPos = (r.ringPos + 1) % size;
      continue;
    }
    if (!Number.isNaN(r.highest) && idObs.id < r.highest - w) continue;
    setBit(r, idObs.id, w);
  }
}

function ttlFor(o: Observation, r: SessionState | undefined, maxWindowMs: number): number {
  const s = o.session;
  let ttl = 2 * maxWindowMs;
  if (s !== undefined && r !== undefined) {
    ttl = Math.max(ttl, s.idleTimeoutMs + 60_000);
    // Keep an Mcp-Session-Id's record for its whole lifetime, so an expired id stays refused.
    if (s.kind === 'mcp') ttl = Math.max(ttl, r.createdAt + s.maxLifetimeMs + s.idleTimeoutMs - o.nowMs);
    if (s.replayWindowMs > 0) ttl = Math.max(ttl, s.replayWindowMs);
  }
  return ttl;
}
