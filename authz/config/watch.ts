/**
 * Hot reload of manifest files: watches the file or directory, reloads after changes settle
 * (debounced), hands a good load to `onLoad` and keeps the last good one when a reload has
 * errors (reporting them to `onError`). fs events are the fast path; polling covers network
 * filesystems and watchers that fail, and also runs as a safety net when asked for.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parseManifests, readManifests, type ConfigError, type LoadOptions, type LoadResult } from './load.js';

export type { ConfigError, LoadResult } from './load.js';

/** Counts for metrics (`mcp_warden_config_reloads_total{result}`). */
export interface ReloadStats {
  readonly successes: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
}

export interface WatchTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface WatchOptions extends LoadOptions {
  /** A reload had errors; the last good config stays in force. */
  readonly onError?: ((errors: readonly ConfigError[], stats: ReloadStats) => void) | undefined;
  /** Quiet time after the last fs event before reloading. Default 100 ms. */
  readonly debounceMs?: number | undefined;
  /** Poll for changes at this interval (ms), in addition to fs events. */
  readonly pollMs?: number | undefined;
  /** Use fs.watch (default true). Without it, polling alone runs (every pollMs, default 1000). */
  readonly fsEvents?: boolean | undefined;
  readonly timers?: WatchTimers | undefined;
}

export interface ManifestWatcher {
  /** The last load without errors, if any. */
  current(): LoadResult | undefined;
  stats(): ReloadStats;
  /** Reload now (also what changes trigger). Resolves true when a new good config was applied. */
  reload(): Promise<boolean>;
  close(): void;
}

const DEFAULT_POLL_MS = 1000;

const realTimers: WatchTimers = {
  // unref: the watcher alone must not keep a process (a CLI run, a test) alive.
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (callback, ms) => setInterval(callback, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/**
 * Loads `path` now and on every change. `onLoad` receives each load without errors (the
 * first one included); a load with errors goes to `onError` and the previous good config
 * stays. Identical contents are not reloaded twice in a row.
 */
export async function watchManifests(
  path: string,
  onLoad: (result: LoadResult) => void,
  options: WatchOptions = {},
): Promise<ManifestWatcher> {
  const timers = options.timers ?? realTimers;
  const debounceMs = options.debounceMs ?? 100;
  let good: LoadResult | undefined;
  let lastFingerprint: string | undefined;
  let successes = 0;
  let failures = 0;
  let consecutiveFailures = 0;
  let closed = false;
  let running: Promise<boolean> | undefined;
  let again = false;
  let debounce: unknown;
  let poll: unknown;
  let watcher: FSWatcher | undefined;

  const stats = (): ReloadStats => ({ successes, failures, consecutiveFailures });

  async function reloadOnce(): Promise<boolean> {
    const read = await readManifests(path);
    if (closed || read.fingerprint === lastFingerprint) return false;
    lastFingerprint = read.fingerprint;
    const result = parseManifests(read, options);
    if (result.errors.length > 0) {
      failures += 1;
      consecutiveFailures += 1;
      options.onError?.(result.errors, stats());
      return false;
    }
    successes += 1;
    consecutiveFailures = 0;
    good = result;
    onLoad(result);
    return true;
  }

  /** One reload at a time; changes during a reload cause one more afterwards. */
  function reload(): Promise<boolean> {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      let applied = false;
      do {
        again = false;
        applied = (await reloadOnce()) || applied;
      } while (again && !closed);
      return applied;
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  function reportFault(err: unknown): void {
    failures += 1;
    consecutiveFailures += 1;
    const message = err instanceof Error ? err.message : String(err);
    options.onError?.([{ file: path, document: 0, path: '', reason: 'unreadable', message }], stats());
  }

  function schedule(): void {
    if (closed) return;
    if (debounce !== undefined) timers.clearTimeout(debounce);
    debounce = timers.setTimeout(() => {
      debounce = undefined;
      reload().catch(reportFault);
    }, debounceMs);
  }

  function startPolling(intervalMs: number): void {
    if (poll !== undefined || closed) return;
    poll = timers.setInterval(() => {
      reload().catch(reportFault);
    }, intervalMs);
  }

  // Watch first, then load: a change during the first load is not lost.
  if (options.fsEvents !== false) {
    try {
      const isDirectory = (await stat(path).catch(() => undefined))?.isDirectory() === true;
      // A file is watched through its directory: editors and ConfigMap updates replace the
      // file (rename), which a watch on the file itself would not survive.
      const target = isDirectory ? path : dirname(path);
      const name = basename(path);
      watcher = fsWatch(target, { persistent: false }, (_event, filename) => {
        const changed = filename?.toString();
        if (isDirectory || changed === undefined || changed === name || changed.startsWith('..')) schedule();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
        startPolling(options.pollMs ?? DEFAULT_POLL_MS);
      });
    } catch {
      startPolling(options.pollMs ?? DEFAULT_POLL_MS);
    }
  }
  if (options.pollMs !== undefined || options.fsEvents === false) startPolling(options.pollMs ?? DEFAULT_POLL_MS);
  await reload();

  return {
    current: () => good,
    stats,
    reload,
    close() {
      closed = true;
      watcher?.close();
      watcher = undefined;
      if (debounce !== undefined) timers.clearTimeout(debounce);
      if (poll !== undefined) timers.clearInterval(poll);
      debounce = undefined;
      poll = undefined;
    },
  };
}
