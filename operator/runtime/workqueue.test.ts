import { describe, expect, it } from 'vitest';
import { WorkQueue } from './workqueue.js';

describe('WorkQueue', () => {
  it('collapses a burst of adds for one key into one item', async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 100; i++) q.add('demo/files');
    q.add('demo/other');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('demo/files');
    expect(await q.get()).toBe('demo/other');
  });

  it('never hands a key out twice at once and requeues it after done when re-added meanwhile', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    q.add('a'); // changed while being processed
    expect(q.length).toBe(0);
    q.done(first ?? '');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('backs off failed keys exponentially and starts over after forget', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')]).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    q.forget('k');
    expect(q.addRateLimited('k')).toBe(100);
    q.shutDown();
  });

  it('delivers a delayed key after its delay, and a waiting get receives it', async () => {
    const q = new WorkQueue();
    const started = Date.now();
    const next = q.get();
    q.addAfter('later', 50);
    expect(await next).toBe('later');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.shutDown();
    expect(await next).toBeUndefined();
  });
});
