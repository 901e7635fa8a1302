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

/**
 * Counters of an entry live in one flat array, COUNTER_STRIDE slots each, with no object per
 * counter: [id (idNumber), a, b, c, d] where
 *   bucket   a tokens, b last refill time
 *   window   a window index, b count, c previous window's count, d last sequence value (NaN)
 *   distinct a window index, b current members (number[]), c previous members (number[])
 *   burst    a bucket index, b count, c baseline, d buckets seen
 * Most recently used counters sit at the end; the first ones go when MAX_COUNTERS is reached.
 */
const COUNTER_STRIDE = 5;
type CounterSlot = string | number | number[];

/** One (session, policy), or a principal's counters. Kept flat: this is what 100k sessions cost. */
class Entry {
  /** Value of the store's insertion counter when the entry last moved to the recent end. */
  moved = 0;
  expiresAt: number;
  suspendedUntil = 0;
  suspendReason = '';
  counters: CounterSlot[] | undefined = undefined;
  /** Undefined until the entry holds a session record (principal-scope entries never do). */
  kind: SessionKind | undefined = undefined;
  label = '';
  principal = '';
  createdAt = 0;
  lastSeenAt = 0;
  requests = 0;
  /** name, value, name, value … (exact length). */
  bound: string[] = NO_STRINGS;
  country = '';
  countryAt = 0;
  /** Highest integer id seen (NaN before the first) and a bitmap of the ids below it. */
  highest = Number.NaN;
  bits: number[] = NO_NUMBERS;
  /** Ring of [48-bit hash, time] pairs for string ids / derived-identity replay. */
  ring: number[] = NO_NUMBERS;
  ringPos = 0;
  constructor(now: number) {
    this.expiresAt = now;
  }
}
const NO_STRINGS: string[] = [];

/** Concatenation into an array of exactly the needed capacity (spread and push leave spare slots). */
function exact<T>(...parts: ReadonlyArray<readonly T[]>): T[] {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Array<T>(n);
  let i = 0;
  for (const p of parts) for (const v of p) out[i++] = v;
  return out;
}
const NO_NUMBERS: number[] = [];
const NO_COUNTERS: readonly CounterOp[] = [];

/**
 * V8 keeps concatenations as rope strings (and a flattened copy beside them once hashed);
 * a string the store keeps for a long time is copied flat once.
 */
function flat(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}

function hashNumber(hex: string): number {
  return Number.parseInt(hex.slice(0, 12), 16);
}

const SEPARATOR = '\u0000';

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  /** Key `ref \0 policy`; Map order is least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private readonly revoked = new Map<string, number>();
  private readonly maxSessions: number;
  private insertions = 0;

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
        principal: e.principal,
        createdAt: e.createdAt,
        lastSeenAt: e.lastSeenAt,
        requests: e.requests,
        suspendedUntil: e.suspendedUntil > now ? e.suspendedUntil : 0,
        suspendReason: e.suspendedUntil > now ? e.suspendReason : '',
        revoked: (this.revoked.get(ref) ?? 0) > now,
      });
    }
    return Promise.resolve(out);
  }

  revoke(filter: SessionFilter, forMs: number, nowMs: number): Promise<number> {
    const refs = new Set<string>();
    if (filter.ref !== undefined) refs.add(filter.ref);
    if (filter.principal !== undefined) {
      for (const [key, e] of this.entries) {
        if (e.kind !== undefined && e.principal === filter.principal && e.expiresAt > nowMs) refs.add(key.split(SEPARATOR)[0] ?? '');
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
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
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
    const lookup = o.ref + SEPARATOR + o.policy;
    let e = this.take(lookup, now);
    if (e === undefined) {
      e = new Entry(now);
      e.moved = ++this.insertions;
      this.entries.set(flat(lookup), e);
      while (this.entries.size > this.maxSessions) this.evictOne(now);
    }
    const revoked = (this.revoked.get(o.ref) ?? 0) > now;
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
    const s = o.session;
    if (s !== undefined) {
      let fresh = e.kind === undefined;
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
            e.bound = exact(bound, [name, flat(value)]);
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
    };
  }
}

function startSession(e: Entry, s: SessionObservation, now: number): void {
  e.kind = s.kind;
  e.label = flat(s.label);
  e.principal = flat(s.principal);
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
 * Counter ids as 31-bit numbers (FNV-1a): a number in the slot costs nothing beside it, a
 * string id 40 bytes. Ids only need to differ among one entry's ≤ MAX_COUNTERS counters.
 */
function idNumber(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

/** Finds (or makes room for) a counter and moves it to the end; returns its first slot. */
function counterSlot(e: Entry, counterId: string, init: readonly CounterSlot[]): number {
  const id = idNumber(counterId);
  let c = e.counters;
  if (c === undefined) {
    e.counters = exact([id], init);
    return 0;
  }
  let at = -1;
  for (let i = 0; i < c.length; i += COUNTER_STRIDE) {
    if (c[i] === id) {
      at = i;
      break;
    }
  }
  const last = c.length - COUNTER_STRIDE;
  if (at === last) return at;
  if (at >= 0) {
    rotateToEnd(c, at);
    return last;
  }
  if (c.length >= MAX_COUNTERS * COUNTER_STRIDE) {
    rotateToEnd(c, 0);
    c[last] = id;
    for (let k = 0; k < init.length; k++) c[last + 1 + k] = init[k] as CounterSlot;
    return last;
  }
  // Grown by copying, so the array holds no spare capacity.
  c = e.counters = exact(c, [id], init);
  return c.length - COUNTER_STRIDE;
}

/** Moves the counter at `at` to the end, in place (no reallocation). */
function rotateToEnd(c: CounterSlot[], at: number): void {
  const moved = c.slice(at, at + COUNTER_STRIDE);
  c.copyWithin(at, at + COUNTER_STRIDE);
  for (let k = 0; k < COUNTER_STRIDE; k++) c[c.length - COUNTER_STRIDE + k] = moved[k] as CounterSlot;
}

function num(c: CounterSlot[], i: number): number {
  const v = c[i];
  return typeof v === 'number' ? v : Number.NaN;
}

function members(c: CounterSlot[], i: number): number[] {
  const v = c[i];
  return Array.isArray(v) ? v : NO_NUMBERS;
}

function count(e: Entry, op: CounterOp, now: number): CounterResult {
  switch (op.kind) {
    case 'bucket': {
      const at = counterSlot(e, op.id, [op.capacity, now, 0, 0]);
      const c = e.counters as CounterSlot[];
      let tokens = Math.min(op.capacity, num(c, at + 1) + Math.max(0, now - num(c, at + 2)) * op.refillPerMs);
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
      const at = counterSlot(e, op.id, [idx, 0, 0, Number.NaN]);
      const c = e.counters as CounterSlot[];
      let cur = num(c, at + 2);
      let prev = num(c, at + 3);
      const i = num(c, at + 1);
      if (i !== idx) {
        prev = i === idx - 1 ? cur : 0;
        cur = 0;
      }
      let counts = true;
      if (op.seq !== undefined) {
        const last = num(c, at + 4);
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
      const at = counterSlot(e, op.id, [idx, NO_NUMBERS, NO_NUMBERS, 0]);
      const c = e.counters as CounterSlot[];
      let cur = members(c, at + 2);
      let prev = members(c, at + 3);
      const i = num(c, at + 1);
      if (i !== idx) {
        prev = i === idx - 1 ? cur : NO_NUMBERS;
        cur = NO_NUMBERS;
      }
      const m = hashNumber(op.member);
      if (!prev.includes(m) && !cur.includes(m) && cur.length <= op.threshold) cur = exact(cur, [m]);
      c[at + 1] = idx;
      c[at + 2] = cur;
      c[at + 3] = prev;
      const est = estimate(prev.length, cur.length, now, idx, op.windowMs);
      return { value: est, exceeded: est > op.threshold };
    }
    case 'burst': {
      const idx = Math.floor(now / op.bucketMs);
      const at = counterSlot(e, op.id, [idx, 0, 0, 0]);
      const c = e.counters as CounterSlot[];
      let i = num(c, at + 1);
      let cur = num(c, at + 2);
      let base = num(c, at + 3);
      let n = num(c, at + 4);
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
