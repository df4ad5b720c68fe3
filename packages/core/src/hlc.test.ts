import { describe, expect, it, vi } from 'vitest';
import { HybridClock, STAMPS_PER_MS, STAMP_EPOCH_MS, stampAt, stampTime } from './hlc.js';
import type { HybridClockOptions } from './hlc.js';

function clockAt(start: number): { clock: HybridClock; set(ms: number): void } {
  let now = start;
  return { clock: new HybridClock({ now: () => now }), set: (ms) => (now = ms) };
}

describe('HybridClock', () => {
  const t0 = STAMP_EPOCH_MS + 1_000_000;

  it('stamps from the wall clock, and above the last stamp within one millisecond', () => {
    const { clock, set } = clockAt(t0);
    const first = clock.tick();
    expect(first).toBe(stampAt(t0));
    expect(clock.tick()).toBe(first + 1);
    set(t0 + 1);
    expect(clock.tick()).toBe(stampAt(t0 + 1));
  });

  it('keeps the fraction of the millisecond: a later reading outstamps a busier clock in the same one', () => {
    const busy = clockAt(t0 + 0.1);
    let last = 0;
    for (let i = 0; i < 50; i++) last = busy.clock.tick();
    // 50 stamps at 0.1 ms run 50/1024 ms ahead of it; a reading 0.4 ms later is above them all.
    const later = clockAt(t0 + 0.5);
    expect(later.clock.tick()).toBeGreaterThan(last);
    expect(later.clock.tick()).toBeLessThan(stampAt(t0 + 1));
    expect(busy.clock.tick()).toBe(last + 1);
  });

  it("by default is not moved by a test's fake clock: stamps meet other processes' clocks", () => {
    const clock = new HybridClock();
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    try {
      vi.setSystemTime(Date.UTC(2099, 0, 1));
      expect(stampTime(clock.tick())).toBeLessThan(Date.UTC(2099, 0, 1) - 1000);
    } finally {
      vi.useRealTimers();
    }
    expect(Math.abs(stampTime(clock.tick()) - Date.now())).toBeLessThan(1000);
  });

  it('never goes backwards when the wall clock does', () => {
    const { clock, set } = clockAt(t0);
    const first = clock.tick();
    set(t0 - 5_000);
    expect(clock.tick()).toBe(first + 1);
  });

  it('borrows the next millisecond after 1024 stamps in one', () => {
    const { clock } = clockAt(t0);
    let stamp = 0;
    for (let i = 0; i <= STAMPS_PER_MS; i++) stamp = clock.tick();
    expect(stampTime(stamp)).toBe(t0 + 1);
  });

  it('ticks above an observed stamp from a clock ahead of it', () => {
    const { clock } = clockAt(t0);
    const ahead = stampAt(t0 + 200) + 7;
    expect(clock.observe(ahead)).toBe(true);
    expect(clock.tick()).toBe(ahead + 1);
    expect(clock.observe(ahead - 100)).toBe(true);
    expect(clock.last).toBe(ahead + 1);
  });

  it('refuses stamps further ahead than maxSkewMs, and non-stamps', () => {
    let now = t0;
    const clock = new HybridClock({ now: () => now, maxSkewMs: 100 });
    expect(clock.observe(stampAt(t0 + 101))).toBe(false);
    expect(clock.observe(-1)).toBe(false);
    expect(clock.observe(1.5)).toBe(false);
    expect(clock.observe(Number.MAX_SAFE_INTEGER + 2)).toBe(false);
    expect(clock.tick()).toBe(stampAt(t0));
    now = t0 + 50;
    expect(clock.observe(stampAt(t0 + 101))).toBe(true);
  });

  it('keeps stamps safe integers for centuries', () => {
    expect(Number.isSafeInteger(stampAt(Date.UTC(2300, 0, 1)))).toBe(true);
    expect(stampTime(stampAt(t0) + 1023)).toBe(t0);
  });

  it('rejects bad options', () => {
    expect(() => new HybridClock({ maxSkewMs: -1 })).toThrow(/maxSkewMs/);
    expect(() => new HybridClock({ now: 5 as unknown as () => number })).toThrow(/now/);
  });

  it('refuses an unknown option rather than running with the default skew', () => {
    const misspelt = { maxSkew: 5000 } as HybridClockOptions;
    expect(() => new HybridClock(misspelt)).toThrow(TypeError);
    expect(() => new HybridClock(misspelt)).toThrow(/unknown option "maxSkew"/);
  });
});
