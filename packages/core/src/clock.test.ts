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
});
