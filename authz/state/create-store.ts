/** Builds the StateStore the service runs with, from command-line / config options. */
import { readFile } from 'node:fs/promises';
import { MemoryStateStore } from './memory-store.js';
import { createRedisClient, RedisStateStore, type RedisStoreOptions } from './redis-store.js';
import { RespScriptClient } from './resp-script-client.js';
import type { NewSessionLimit, StateStore } from './store.js';

export interface StoreOptions {
  /** `redis://…` or `rediss://…`; without it the store is in-process memory. */
  readonly redisUrl?: string;
  readonly redisTls?: boolean;
  /** File with the PEM CA certificate that signed Redis's TLS certificate. */
  readonly redisTlsCaFile?: string;
  readonly redisPassword?: string;
  readonly redisCluster?: boolean;
  /** Per-command timeout for Redis (default 250 ms, DEFAULT_COMMAND_TIMEOUT_MS). */
  readonly redisCommandTimeoutMs?: number;
  /** How long start-up waits for Redis before serving (checks fail per policy until it is up). */
  readonly redisConnectWaitMs?: number;
  /** Cap on tracked sessions for the memory store (default 100,000). */
  readonly memoryMaxSessions?: number;
  /** Cap on the memory store's approximate bytes (default 256 MiB). */
  readonly memoryMaxBytes?: number;
  /** New session records one source address (IPv6: /64) may create per window (default 200 a minute). */
  readonly newSessionsPerSource?: NewSessionLimit;
}

export async function createStoreFromOptions(opts: StoreOptions = {}): Promise<StateStore> {
  if (opts.redisUrl === undefined || opts.redisUrl === '') {
    return new MemoryStateStore({
      ...(opts.memoryMaxSessions !== undefined ? { maxSessions: opts.memoryMaxSessions } : {}),
      ...(opts.memoryMaxBytes !== undefined ? { memoryMaxBytes: opts.memoryMaxBytes } : {}),
      ...(opts.newSessionsPerSource !== undefined ? { newSessionsPerSource: opts.newSessionsPerSource } : {}),
    });
  }
  const redisOptions: RedisStoreOptions = {
    url: opts.redisUrl,
    ...(opts.redisTls !== undefined ? { tls: opts.redisTls } : {}),
    ...(opts.redisTlsCaFile !== undefined ? { tlsCa: await readFile(opts.redisTlsCaFile, 'utf8') } : {}),
    ...(opts.redisPassword !== undefined ? { password: opts.redisPassword } : {}),
    ...(opts.redisCluster !== undefined ? { cluster: opts.redisCluster } : {}),
    ...(opts.redisCommandTimeoutMs !== undefined ? { commandTimeoutMs: opts.redisCommandTimeoutMs } : {}),
  };
  const store = new RedisStateStore(createRedisClient(redisOptions), {
    ...(opts.newSessionsPerSource !== undefined ? { newSessionsPerSource: opts.newSessionsPerSource } : {}),
    // The checks' scripts skip ioredis on a single node (its CPU cost per command shows in
    // the p99); a Cluster routes each script by slot, which ioredis does.
    ...(opts.redisCluster === true ? {} : { scripts: new RespScriptClient(redisOptions) }),
  });
  await store.ready(opts.redisConnectWaitMs ?? 2_000);
  return store;
}
