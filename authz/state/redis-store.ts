/**
 * StateStore on Redis (or Redis Cluster) through ioredis. A check costs one round trip: one
 * EVALSHA per scope, sent together (EVAL only after a NOSCRIPT, e.g. a restarted Redis). Keys
 * carry the session reference as hash tag (`mcpw:{ref}:…`) so every key a script touches
 * lives on one Cluster slot. The client never queues commands while disconnected and gives
 * each command a short timeout, so an unreachable Redis fails a check fast
 * (StoreUnavailableError) instead of stalling Envoy; ioredis keeps reconnecting and the store
 * works again as soon as Redis is back.
 */
import { createHash } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { OBSERVE_SCRIPT } from './redis-script.js';
import { BURST_ALPHA } from './memory-store.js';
import {
  StoreUnavailableError,
  type CounterOp,
  type Observation,
  type ObservationResult,
  type SessionFilter,
  type SessionKind,
  type SessionRecord,
  type StateStore,
} from './store.js';

export const KEY_PREFIX = 'mcpw';
const SCRIPT_SHA = createHash('sha1').update(OBSERVE_SCRIPT).digest('hex');

type RedisClient = Redis | Cluster;

interface EncodedResult {
  rv: number;
  su: number;
  sr: string;
  ex: '' | 'lifetime' | 'idle';
  rn: number;
  mm: string;
  bv: string;
  tf: string;
  rp: number;
  gp: number;
  gd: '' | 'forward';
  to: number;
  sn: number;
  c: Array<[number, number]> | Record<string, never>;
}

function safePolicy(policy: string): string {
  return policy.replace(/[^A-Za-z0-9._/-]/g, '_');
}

export function sessionKeyBase(ref: string): string {
  return `${KEY_PREFIX}:{${ref}}`;
}

function keysFor(o: Observation): string[] {
  const base = sessionKeyBase(o.ref);
  const pol = safePolicy(o.policy);
  const keys = [`${base}:s:${pol}`, `${base}:r`, `${base}:i:${pol}`, `${base}:q:${pol}`];
  for (const op of o.counters) {
    if (op.kind === 'distinct') {
      const idx = Math.floor(o.nowMs / op.windowMs);
      keys.push(`${base}:d:${pol}:${op.id}:${idx}`, `${base}:d:${pol}:${op.id}:${idx - 1}`);
    } else {
      keys.push(`${base}:c:${pol}:${op.id}`);
    }
  }
  return keys;
}

function encodeCounter(op: CounterOp): Record<string, unknown> {
  const e = op.effect;
  switch (op.kind) {
    case 'bucket':
      return { k: op.kind, id: op.id, e, cap: op.capacity, rate: op.refillPerMs, cost: op.cost };
    case 'window':
      return op.seq === undefined
        ? { k: op.kind, id: op.id, e, win: op.windowMs, th: op.threshold }
        : { k: op.kind, id: op.id, e, win: op.windowMs, th: op.threshold, seq: op.seq, step: op.maxStep ?? 1 };
    case 'distinct':
      return { k: op.kind, id: op.id, e, win: op.windowMs, th: op.threshold, m: op.member.slice(0, 12) };
    case 'burst':
      return { k: op.kind, id: op.id, e, bucket: op.bucketMs, factor: op.factor, min: op.minCount, hist: op.minHistory, alpha: BURST_ALPHA, cost: op.cost };
  }
}

/** The observation as the script's ARGV[1]. Hashes are cut to 48 bits, as the memory store keeps them. */
export function encodeObservation(o: Observation): string {
  const s = o.session;
  return JSON.stringify({
    now: o.nowMs,
    susp: o.suspendMs,
    s:
      s === undefined
        ? undefined
        : {
            kind: s.kind,
            label: s.label,
            pr: s.principal,
            life: s.maxLifetimeMs,
            idle: s.idleTimeoutMs,
            renew: s.renewOnExpiry,
            bind: s.bind.length === 0 ? undefined : s.bind,
            mme: s.mismatch,
            co: s.country,
            tmin: s.travelMinIntervalMs,
            te: s.travel,
            ids: s.ids.length === 0 ? undefined : s.ids.map((id) => (id.kind === 'int' ? { t: 'i', v: id.id } : { t: 'h', v: id.hash.slice(0, 12) })),
            w: s.reorderWindow,
            rw: s.replayWindowMs,
            re: s.replay,
            ge: s.gap,
          },
    c: o.counters.length === 0 ? undefined : o.counters.map(encodeCounter),
  });
}

function decode(raw: unknown): ObservationResult {
  const r = JSON.parse(String(raw)) as EncodedResult;
  const counters = Array.isArray(r.c) ? r.c.map(([value, exceeded]) => ({ value, exceeded: exceeded === 1 })) : [];
  return {
    revoked: r.rv === 1,
    suspendedUntil: r.su,
    suspendReason: r.sr,
    expired: r.ex,
    renewed: r.rn === 1,
    mismatch: r.mm,
    boundValue: r.bv,
    travelFrom: r.tf,
    replayIndex: r.rp,
    gapIndex: r.gp,
    gapDirection: r.gd,
    tooOldIndex: r.to,
    counters,
    suspendedNow: r.sn,
  };
}

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…` (TLS). */
  readonly url: string;
  readonly tls?: boolean;
  /** PEM of the CA that signed Redis's certificate (default: the system's trusted CAs). */
  readonly tlsCa?: string;
  readonly password?: string;
  /** Per-command timeout; a check never waits longer on Redis than this. */
  readonly commandTimeoutMs?: number;
  /** Treat `url` as a seed node of a Redis Cluster. */
  readonly cluster?: boolean;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 50;

export function createRedisClient(options: RedisStoreOptions): RedisClient {
  const url = new URL(options.url);
  const tls = options.tls === true || url.protocol === 'rediss:';
  const password = options.password ?? (url.password !== '' ? decodeURIComponent(url.password) : undefined);
  const common = {
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Keep reconnecting, at most once a second, for as long as the service runs.
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1_000),
    ...(password !== undefined ? { password } : {}),
    ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
    ...(tls ? { tls: { servername: url.hostname, ...(options.tlsCa !== undefined ? { ca: options.tlsCa } : {}) } } : {}),
  };
  const port = url.port === '' ? 6379 : Number(url.port);
  if (options.cluster === true) {
    return new Cluster([{ host: url.hostname, port }], {
      redisOptions: common,
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt: number) => Math.min(50 * attempt, 1_000),
    });
  }
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return new Redis({ ...common, host: url.hostname, port, db });
}

export class RedisStateStore implements StateStore {
  readonly kind = 'redis' as const;
  constructor(readonly client: RedisClient) {
    // ioredis reports connection errors as events; the check path sees them as failed commands.
    client.on('error', () => undefined);
  }

  /** Resolves once connected, or after `timeoutMs` (the store then fails checks until Redis is up). */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    if (this.client.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.client.once('ready', onReady);
    });
  }

  async observe(observations: readonly Observation[]): Promise<ObservationResult[]> {
    if (observations.length === 0) return [];
    try {
      // Scopes (session, principal) are sent together and answered concurrently: one round
      // trip. They are separate commands, not a pipeline, because in a Cluster each scope's
      // keys may live on another node.
      const replies = await Promise.all(observations.map((o) => this.evalOne(keysFor(o), encodeObservation(o))));
      return replies.map(decode);
    } catch (err) {
      throw new StoreUnavailableError(`redis: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  private async evalOne(keys: string[], arg: string): Promise<unknown> {
    try {
      return await this.client.evalsha(SCRIPT_SHA, keys.length, ...keys, arg);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      // The script cache was flushed (restart, failover): EVAL loads it again.
      return this.client.eval(OBSERVE_SCRIPT, keys.length, ...keys, arg);
    }
  }

  private masters(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }

  private async scanRecords(): Promise<string[]> {
    const keys: string[] = [];
    for (const node of this.masters()) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', `${KEY_PREFIX}:{*}:s:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
    }
    return keys;
  }

  async list(filter: SessionFilter = {}, nowMs = Date.now()): Promise<SessionRecord[]> {
    const now = nowMs;
    const out: SessionRecord[] = [];
    for (const key of await this.scanRecords()) {
      const match = /^mcpw:\{([^}]*)\}:s:(.*)$/.exec(key);
      if (match === null) continue;
      const [, ref = '', policy = ''] = match;
      if (filter.ref !== undefined && ref !== filter.ref) continue;
      const [h, revoked] = await Promise.all([this.client.hgetall(key), this.client.get(`${sessionKeyBase(ref)}:r`)]);
      if (h.ca === undefined) continue;
      const principal = h.pr ?? '';
      if (filter.principal !== undefined && principal !== filter.principal) continue;
      out.push({
        ref,
        policy,
        kind: (h.k ?? 'peer') as SessionKind,
        label: h.lb ?? '',
        principal,
        createdAt: Number(h.ca),
        lastSeenAt: Number(h.ls ?? h.ca),
        requests: Number(h.n ?? 0),
        suspendedUntil: Number(h.su ?? 0) > now ? Number(h.su) : 0,
        suspendReason: Number(h.su ?? 0) > now ? (h.sr ?? '') : '',
        revoked: Number(revoked ?? 0) > now,
      });
    }
    return out;
  }

  async revoke(filter: SessionFilter, forMs: number, nowMs: number): Promise<number> {
    const refs = new Set<string>();
    if (filter.ref !== undefined) refs.add(filter.ref);
    if (filter.principal !== undefined) {
      for (const record of await this.list({ principal: filter.principal }, nowMs)) refs.add(record.ref);
    }
    for (const ref of refs) {
      await this.client.set(`${sessionKeyBase(ref)}:r`, String(nowMs + forMs), 'PX', Math.max(1, Math.ceil(forMs)));
    }
    return refs.size;
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
