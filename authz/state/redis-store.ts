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
import { ADMIT_SCRIPT, OBSERVE_SCRIPT } from './redis-script.js';
import { BURST_ALPHA } from './memory-store.js';
import type { RespScriptClient } from './resp-script-client.js';
import {
  DEFAULT_NEW_SESSIONS_PER_SOURCE,
  StoreUnavailableError,
  churnedObservation,
  type CounterOp,
  type NewSessionLimit,
  type PrincipalRevocation,
  type Observation,
  type ObservationResult,
  type SessionFilter,
  type SessionKind,
  type SessionRecord,
  type StateStore,
} from './store.js';

export const KEY_PREFIX = 'mcpw';
const SCRIPT_SHA = createHash('sha1').update(OBSERVE_SCRIPT).digest('hex');
const ADMIT_SHA = createHash('sha1').update(ADMIT_SCRIPT).digest('hex');

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
  fr: number;
  c: Array<[number, number]> | Record<string, never>;
}

function safePolicy(policy: string): string {
  return policy.replace(/[^A-Za-z0-9._/-]/g, '_');
}

export function sessionKeyBase(ref: string): string {
  return `${KEY_PREFIX}:{${ref}}`;
}

function tag(kind: string, value: string): string {
  return `${kind}.${createHash('sha256').update(value).digest('base64url').slice(0, 22)}`;
}

/** New-session count of one source, under the source's own hash tag. */
function sourceKey(source: string): string {
  return `${KEY_PREFIX}:{${tag('src', source)}}:n`;
}

/** A principal's revocation (hash: u = until, p = principal), under its own hash tag. */
export function principalRevocationKey(principal: string): string {
  return `${KEY_PREFIX}:{${tag('pr', principal)}}:rp`;
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
            cl: s.client,
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

function decodeRaw(raw: unknown): EncodedResult {
  return JSON.parse(String(raw)) as EncodedResult;
}

function decode(r: EncodedResult): ObservationResult {
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
    churned: false,
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

/**
 * Long enough that a busy host does not turn scheduling delay into denials (50 ms fired at a
 * load average of ~3 on two cores, and the bench at 2,000 checks/s on a loaded host saw a
 * p99.9 near 200 ms with no Redis fault at all), short enough that a dead Redis fails a
 * check well inside the ext_authz timeout (1,000 ms by default, authz/sidecar/render.ts): a
 * check waits on Redis at most twice in sequence (a new session's admission), 500 ms.
 */
export const DEFAULT_COMMAND_TIMEOUT_MS = 250;

/** Where Redis is and how to log in, read once from the URL and the options that override it. */
export interface RedisEndpoint {
  /** Host name or IP address (an IPv6 address without its URL brackets). */
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
  readonly tlsCa: string | undefined;
}

export function redisEndpoint(options: RedisStoreOptions): RedisEndpoint {
  const url = new URL(options.url);
  return {
    host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    username: url.username !== '' ? decodeURIComponent(url.username) : undefined,
    password: options.password ?? (url.password !== '' ? decodeURIComponent(url.password) : undefined),
    tls: options.tls === true || url.protocol === 'rediss:',
    tlsCa: options.tlsCa,
  };
}

/** How long to wait for a connection to Redis before trying again. */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;

/** Both clients keep reconnecting, at most once a second, for as long as the service runs. */
export function redisReconnectDelayMs(attempt: number): number {
  return Math.min(50 * attempt, 1_000);
}

export function createRedisClient(options: RedisStoreOptions): RedisClient {
  const at = redisEndpoint(options);
  const common = {
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: redisReconnectDelayMs,
    ...(at.password !== undefined ? { password: at.password } : {}),
    ...(at.username !== undefined ? { username: at.username } : {}),
    ...(at.tls ? { tls: { servername: at.host, ...(at.tlsCa !== undefined ? { ca: at.tlsCa } : {}) } } : {}),
  };
  if (options.cluster === true) {
    return new Cluster([{ host: at.host, port: at.port }], {
      redisOptions: common,
      enableOfflineQueue: false,
      clusterRetryStrategy: redisReconnectDelayMs,
    });
  }
  return new Redis({ ...common, host: at.host, port: at.port, db: at.db });
}

export interface RedisStateOptions {
  /** New session records one source address (IPv6: /64) may create per window. */
  readonly newSessionsPerSource?: NewSessionLimit;
  /**
   * A lean client for the scripts (the check's hot path) on a single-node Redis; the store
   * owns and closes it. Without it, scripts run through `client` (ioredis), as in a Cluster.
   */
  readonly scripts?: RespScriptClient;
}

export class RedisStateStore implements StateStore {
  readonly kind = 'redis' as const;
  private readonly churn: NewSessionLimit;
  private readonly scripts: RespScriptClient | undefined;
  constructor(
    readonly client: RedisClient,
    options: RedisStateOptions = {},
  ) {
    this.churn = options.newSessionsPerSource ?? DEFAULT_NEW_SESSIONS_PER_SOURCE;
    this.scripts = options.scripts;
    // ioredis reports connection errors as events; the check path sees them as failed commands.
    client.on('error', () => undefined);
  }

  /** Resolves once connected, or after `timeoutMs` (the store then fails checks until Redis is up). */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    const [admin, scripts] = await Promise.all([this.adminReady(timeoutMs), this.scripts?.ready(timeoutMs) ?? true]);
    return admin && scripts;
  }

  private async adminReady(timeoutMs: number): Promise<boolean> {
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
      const replies = await Promise.all(observations.map((o) => this.evalOne(SCRIPT_SHA, OBSERVE_SCRIPT, keysFor(o), encodeObservation(o))));
      return await Promise.all(replies.map((raw, i) => this.admitted(observations[i] as Observation, raw)));
    } catch (err) {
      throw new StoreUnavailableError(`redis: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /**
   * The first request of a new session record costs a second round trip (and only that
   * one): the record's source and principal live under other hash tags (other Cluster
   * slots), so the session script cannot read them. The source's new-record count is
   * checked (over it: the record is removed again and the request refused), and a principal
   * revocation is copied onto the session, so its later requests are refused in one script.
   */
  private async admitted(o: Observation, raw: unknown): Promise<ObservationResult> {
    const result = decodeRaw(raw);
    const s = o.session;
    if (result.fr !== 1 || s === undefined) return decode(result);
    const [admit, revokedUntil] = await Promise.all([
      s.source === '' || this.churn.max <= 0
        ? Promise.resolve(1)
        : this.evalOne(ADMIT_SHA, ADMIT_SCRIPT, [sourceKey(s.source)], String(o.nowMs), String(this.churn.windowMs), String(this.churn.max)),
      s.principal === '' ? Promise.resolve(null) : this.client.hget(principalRevocationKey(s.principal), 'u'),
    ]);
    const until = Number(revokedUntil ?? 0);
    const revoked = until > o.nowMs;
    if (Number(admit) !== 1) {
      const keys = keysFor(o);
      await this.client.del(...keys.filter((_, i) => i !== 1));
      return churnedObservation(revoked);
    }
    if (!revoked) return decode(result);
    await this.client.set(`${sessionKeyBase(o.ref)}:r`, String(until), 'PX', Math.max(1, Math.ceil(until - o.nowMs)));
    return { ...decode(result), revoked: true };
  }

  private async evalOne(sha: string, script: string, keys: string[], ...args: string[]): Promise<unknown> {
    const scripts = this.scripts;
    if (scripts !== undefined) {
      try {
        return await scripts.evalsha(sha, keys, args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        return scripts.eval(script, keys, args);
      }
    }
    try {
      return await this.client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      // The script cache was flushed (restart, failover): EVAL loads it again.
      return this.client.eval(script, keys.length, ...keys, ...args);
    }
  }

  private masters(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }

  private scanRecords(): Promise<string[]> {
    return this.scan(`${KEY_PREFIX}:{*}:s:*`);
  }

  private async scan(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    for (const node of this.masters()) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
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
      const principalUntil = principal === '' ? null : await this.client.hget(principalRevocationKey(principal), 'u');
      out.push({
        ref,
        policy,
        kind: (h.k ?? 'peer') as SessionKind,
        label: h.lb ?? '',
        client: h.cl ?? '',
        principal,
        createdAt: Number(h.ca),
        lastSeenAt: Number(h.ls ?? h.ca),
        requests: Number(h.n ?? 0),
        suspendedUntil: Number(h.su ?? 0) > now ? Number(h.su) : 0,
        suspendReason: Number(h.su ?? 0) > now ? (h.sr ?? '') : '',
        revoked: Number(revoked ?? 0) > now || Number(principalUntil ?? 0) > now,
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
    const px = Math.max(1, Math.ceil(forMs));
    if (filter.principal !== undefined) {
      // Sessions the principal starts from now on: checked when their record is created.
      const key = principalRevocationKey(filter.principal);
      await this.client.hset(key, 'u', String(nowMs + forMs), 'p', filter.principal);
      await this.client.pexpire(key, px);
    }
    for (const ref of refs) {
      await this.client.set(`${sessionKeyBase(ref)}:r`, String(nowMs + forMs), 'PX', px);
    }
    return refs.size;
  }

  async listRevokedPrincipals(nowMs = Date.now()): Promise<PrincipalRevocation[]> {
    const out: PrincipalRevocation[] = [];
    for (const key of await this.scan(`${KEY_PREFIX}:{pr.*}:rp`)) {
      const [until, principal] = await this.client.hmget(key, 'u', 'p');
      if (typeof principal === 'string' && Number(until ?? 0) > nowMs) out.push({ principal, until: Number(until) });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.scripts?.close();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
