import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigError, LoadResult } from './load.js';
import { watchManifests, type ManifestWatcher, type ReloadStats, type WatchTimers } from './watch.js';

function policyYaml(name: string, mode = 'Enforce'): string {
  return `apiVersion: mcpwarden.io/v1alpha1
kind: MCPPolicy
metadata: {name: ${name}, namespace: demo}
spec:
  targetRefs: [{name: files}]
  mode: ${mode}
`;
}

type Event = { type: 'load'; result: LoadResult } | { type: 'error'; errors: readonly ConfigError[]; stats: ReloadStats };

/** Collects watcher callbacks; `next()` waits for the next one (or fails after a timeout). */
class Events {
  private readonly queue: Event[] = [];
  private waiter: ((event: Event) => void) | undefined;

  readonly onLoad = (result: LoadResult): void => this.push({ type: 'load', result });
  readonly onError = (errors: readonly ConfigError[], stats: ReloadStats): void => this.push({ type: 'error', errors, stats });

  private push(event: Event): void {
    if (this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter(event);
    } else this.queue.push(event);
  }

  next(timeoutMs = 5000): Promise<Event> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no watcher callback within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
    });
  }

  pending(): number {
    return this.queue.length;
  }
}

async function nextLoad(events: Events): Promise<LoadResult> {
  const event = await events.next();
  if (event.type !== 'load') throw new Error(`expected a load, got errors ${JSON.stringify(event.errors)}`);
  return event.result;
}

async function nextError(events: Events): Promise<{ errors: readonly ConfigError[]; stats: ReloadStats }> {
  const event = await events.next();
  if (event.type !== 'error') throw new Error('expected errors, got a load');
  return event;
}

let dir: string;
let watcher: ManifestWatcher | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-warden-watch-'));
});

afterEach(async () => {
  watcher?.close();
  watcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('watchManifests', () => {
  it('applies a good config, keeps it through a bad edit (reporting why), then applies the fix', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyYaml('one'));
    const events = new Events();
    watcher = await watchManifests(dir, events.onLoad, { onError: events.onError, debounceMs: 20 });

    const first = await nextLoad(events);
    expect(first.policies.map((p) => p.metadata.name)).toEqual(['one']);

    await writeFile(file, policyYaml('one', 'Enforcing'));
    const bad = await nextError(events);
    expect(bad.errors).toEqual([expect.objectContaining({ file, document: 1, path: 'spec.mode', reason: 'invalid' })]);
    expect(bad.stats).toEqual({ successes: 1, failures: 1, consecutiveFailures: 1 });
    expect(watcher.current()?.policies[0]?.spec.mode).toBe('Enforce');

    await writeFile(file, policyYaml('one', 'Audit'));
    const fixed = await nextLoad(events);
    expect(fixed.policies[0]?.spec.mode).toBe('Audit');
    expect(watcher.current()).toBe(fixed);
    expect(watcher.stats()).toEqual({ successes: 2, failures: 1, consecutiveFailures: 0 });
  });

  it('watches a single file, surviving editors that replace it by rename', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyYaml('one'));
    await writeFile(join(dir, 'unrelated.yaml'), 'not: [valid');
    const events = new Events();
    watcher = await watchManifests(file, events.onLoad, { onError: events.onError, debounceMs: 20 });
    await nextLoad(events);

    for (const name of ['two', 'three']) {
      const temp = join(dir, `.policy.yaml.${name}.tmp`);
      await writeFile(temp, policyYaml(name));
      await rename(temp, file);
      expect((await nextLoad(events)).policies[0]?.metadata.name).toBe(name);
    }
  });

  it('does not reload identical content, and debounces a burst of writes into one load', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyYaml('one'));
    const events = new Events();
    watcher = await watchManifests(dir, events.onLoad, { onError: events.onError, debounceMs: 300 });
    await nextLoad(events);

    await writeFile(file, policyYaml('one'));
    for (const name of ['a', 'b', 'c', 'd']) await writeFile(file, policyYaml(name));
    expect((await nextLoad(events)).policies[0]?.metadata.name).toBe('d');
    await new Promise((r) => setTimeout(r, 500));
    expect(events.pending()).toBe(0);
    expect(watcher.stats().successes).toBe(2);
  });

  it('reports a bad first load and applies the first good one', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, 'apiVersion: mcpwarden.io/v1alpha1\nkind: MCPPolicy\nmetadata: {name: x}\nspec: {}\n');
    const events = new Events();
    watcher = await watchManifests(dir, events.onLoad, { onError: events.onError, debounceMs: 20 });
    const bad = await nextError(events);
    expect(bad.errors[0]).toMatchObject({ path: 'spec.targetRefs', message: 'required field is missing' });
    expect(watcher.current()).toBeUndefined();
    await writeFile(file, policyYaml('x'));
    expect((await nextLoad(events)).policies).toHaveLength(1);
  });

  it('polls when fs events are off', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyYaml('one'));
    const events = new Events();
    watcher = await watchManifests(file, events.onLoad, { onError: events.onError, fsEvents: false, pollMs: 30 });
    await nextLoad(events);
    await writeFile(file, policyYaml('two'));
    expect((await nextLoad(events)).policies[0]?.metadata.name).toBe('two');
  });

  it('uses the injected timers, and stops on close', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyYaml('one'));
    const intervals = new Map<number, () => void>();
    let nextHandle = 1;
    const timers: WatchTimers = {
      setTimeout: () => nextHandle++,
      clearTimeout: () => undefined,
      setInterval: (callback) => {
        const handle = nextHandle++;
        intervals.set(handle, callback);
        return handle;
      },
      clearInterval: (handle) => intervals.delete(handle as number),
    };
    const events = new Events();
    watcher = await watchManifests(file, events.onLoad, { onError: events.onError, fsEvents: false, pollMs: 60_000, timers });
    await nextLoad(events);
    expect(intervals.size).toBe(1);

    await writeFile(file, policyYaml('two'));
    expect(events.pending()).toBe(0);
    for (const tick of intervals.values()) tick();
    expect((await nextLoad(events)).policies[0]?.metadata.name).toBe('two');

    watcher.close();
    expect(intervals.size).toBe(0);
    await writeFile(file, policyYaml('three'));
    expect(await watcher.reload()).toBe(false);
    expect(events.pending()).toBe(0);
  });

  it('reports a path that disappears and recovers when it comes back', async () => {
    const file = join(dir, 'policy.yaml');
    await writeFile(file, policyYaml('one'));
    const events = new Events();
    watcher = await watchManifests(file, events.onLoad, { onError: events.onError, debounceMs: 20 });
    await nextLoad(events);
    await rm(file);
    const gone = await nextError(events);
    expect(gone.errors[0]).toMatchObject({ reason: 'unreadable', file });
    expect(watcher.current()?.policies[0]?.metadata.name).toBe('one');
    await writeFile(file, policyYaml('back'));
    expect((await nextLoad(events)).policies[0]?.metadata.name).toBe('back');
  });
});
