import { LruCache } from '@dcache/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NodeFlush } from '../src/operations/node-flush.js';
import type { StoredValue } from '../src/operations/stored-value.js';
import { manualClock } from './helpers.js';

const DAY_MS = 24 * 3600 * 1000;

afterEach(() => {
  vi.useRealTimers();
});

/** A NodeFlush over a counter of clears, on a clock the test moves. */
function counted(start = 1_000_000) {
  const clock = manualClock(start);
  const clears: number[] = [];
  const flush = new NodeFlush(() => clears.push(clock.now()), clock.now);
  return { clock, clears, flush };
}

describe('NodeFlush: one flush time, the latest request wins (memcached’s oldest_live)', () => {
  it('a delay of 0 or below flushes at once', () => {
    const { clears, flush } = counted();
    flush.flush(0);
    flush.flush(-1);
    expect(clears).toEqual([1_000_000, 1_000_000]);
    expect(flush.pendingAtMs).toBeUndefined();
  });

  it('a delayed flush happens once, when its time comes, not before', () => {
    const { clock, clears, flush } = counted();
    flush.flush(60_000);
    expect(flush.pendingAtMs).toBe(1_060_000);
    clock.advance(59_999);
    flush.settle();
    expect(clears).toEqual([]);
    clock.advance(1);
    flush.settle();
    flush.settle();
    expect(clears).toEqual([1_060_000]);
    clock.advance(100_000);
    flush.settle();
    expect(clears).toHaveLength(1);
  });

  it('an immediate flush cancels a pending delayed one', () => {
    const { clock, clears, flush } = counted();
    flush.flush(60_000);
    clock.advance(10_000);
    flush.flush(0);
    expect(clears).toEqual([1_010_000]);
    expect(flush.pendingAtMs).toBeUndefined();
    clock.advance(100_000);
    flush.settle();
    expect(clears).toHaveLength(1);
  });

  it.each([
    ['sooner', 30_000, 1_040_000],
    ['later', 90_000, 1_100_000],
  ])('a second delay replaces the first (%s)', (_, second, at) => {
    const { clock, clears, flush } = counted();
    flush.flush(60_000);
    clock.advance(10_000);
    flush.flush(second);
    expect(flush.pendingAtMs).toBe(at);
    for (; clock.now() < at - 1_000; clock.advance(1_000)) flush.settle();
    clock.advance(999);
    flush.settle();
    expect(clears).toEqual([]); // in particular, not at the first one's 1_060_000
    clock.advance(1);
    flush.settle();
    expect(clears).toEqual([at]);
    clock.advance(DAY_MS);
    flush.settle();
    expect(clears).toHaveLength(1);
  });

  it('a NaN delay is refused and leaves the pending flush alone', () => {
    const { flush } = counted();
    flush.flush(60_000);
    expect(() => flush.flush(Number.NaN)).toThrow(RangeError);
    expect(flush.pendingAtMs).toBe(1_060_000);
  });
});

describe('NodeFlush: its timer (an idle node)', () => {
  it('fires at the latest request’s time, once, and leaves no timer behind', () => {
    vi.useFakeTimers();
    const clears: number[] = [];
    const flush = new NodeFlush(
      () => clears.push(Date.now()),
      () => Date.now(),
    );
    const start = Date.now();
    flush.flush(60_000);
    vi.advanceTimersByTime(10_000);
    flush.flush(30_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(29_999);
    expect(clears).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(clears).toEqual([start + 40_000]);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(DAY_MS);
    expect(clears).toHaveLength(1);
  });

  it('cancel() drops the flush and its timer: nothing fires later', () => {
    vi.useFakeTimers();
    let clears = 0;
    const flush = new NodeFlush(
      () => clears++,
      () => Date.now(),
    );
    flush.flush(60_000);
    flush.cancel();
    expect(vi.getTimerCount()).toBe(0);
    expect(flush.pendingAtMs).toBeUndefined();
    vi.advanceTimersByTime(DAY_MS);
    expect(clears).toBe(0);
  });

  it('empties an idle node at a flush time past the 2^31-1 ms timer ceiling, not before', () => {
    vi.useFakeTimers();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      const cache = new LruCache<StoredValue>({ maxItems: 10, now: () => Date.now() });
      const flush = new NodeFlush(
        () => cache.clear(),
        () => Date.now(),
      );
      cache.set('k', { bytes: new Uint8Array([1]), flags: 0 });
      flush.flush(40 * DAY_MS);
      vi.advanceTimersByTime(25 * DAY_MS); // past the first timer step
      expect(cache.size).toBe(1);
      vi.advanceTimersByTime(15 * DAY_MS - 1);
      expect(cache.size).toBe(1);
      vi.advanceTimersByTime(1);
      expect(cache.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });
});

describe('NodeFlush: an injected clock that does not move', () => {
  it('re-arms in steps of at least a second, not every millisecond, then flushes once it moves', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const clock = manualClock();
    const clears: number[] = [];
    let reads = 0;
    const stuck = new NodeFlush(
      () => clears.push(clock.now()),
      () => {
        reads++;
        return clock.now();
      },
    );
    stuck.flush(1);
    vi.advanceTimersByTime(10_000); // the timer fires at 1 ms, then every second at most
    expect(reads).toBeLessThanOrEqual(1 + 2 * 11);
    expect(clears).toEqual([]);
    expect(vi.getTimerCount()).toBe(1);
    clock.advance(1);
    vi.advanceTimersByTime(1000); // the next step sees the flush time
    expect(clears).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
