import { afterEach, describe, expect, it, vi } from 'vitest';
import { coarseNow } from './clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('coarseNow', () => {
  it('drops its reading when the 1 ms timer fires', () => {
    vi.useFakeTimers({ now: 1_000 });
    for (let i = 0; i < 1100; i++) coarseNow();
    const first = coarseNow();
    vi.setSystemTime(first + 7);
    expect(coarseNow()).toBe(first); // still cached: no timer has fired yet
    vi.advanceTimersByTime(1);
    expect(coarseNow()).toBe(first + 8);
  });

  it('refreshes after at most 1024 reads even when no timer can fire', () => {
    vi.useFakeTimers({ now: 1_000 });
    // Drain any cached reading taken before the fake clock was installed.
    for (let i = 0; i < 1100; i++) coarseNow();
    vi.setSystemTime(5_000);
    const readings = Array.from({ length: 1025 }, () => coarseNow());
    expect(readings.at(-1)).toBe(5_000);
  });

  it('keeps one reading through a synchronous stretch of 1,024 reads, however long it lasts', () => {
    // The documented bound: staleness in time is unbounded within a stretch; only the read budget
    // ends it.
    vi.useFakeTimers({ now: 2_000 });
    // Read until the reading is fresh (a full read budget from here), within one budget's worth.
    for (let i = 0; i <= 1024 && coarseNow() !== 2_000; i++);
    const readings = Array.from({ length: 1023 }, (_, i) => {
      vi.setSystemTime(2_010 + 10 * i); // 10 ms of other work between reads, no timer firing
      return coarseNow();
    });
    expect(new Set(readings)).toEqual(new Set([2_000])); // up to 10.22 s stale
    vi.setSystemTime(99_999);
    expect(coarseNow()).toBe(99_999);
  });
});
