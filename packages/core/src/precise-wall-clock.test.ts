import { describe, expect, it } from 'vitest';
import { PreciseWallClock } from './precise-wall-clock.js';

/** A clock over a settable wall clock and monotonic clock, the monotonic one anchored at `origin`. */
function clockOver(wall: number, origin: number) {
  const time = { wall, monotonic: 0 };
  const clock = new PreciseWallClock(
    () => time.wall,
    () => time.monotonic,
    origin,
  );
  return { clock, time };
}

describe('PreciseWallClock', () => {
  it("adds the monotonic clock's fraction of a millisecond to the wall clock's", () => {
    const { clock, time } = clockOver(1_000, 1_000);
    time.monotonic = 0.25;
    expect(clock.now()).toBe(1_000.25);
    time.monotonic = 0.75;
    expect(clock.now()).toBe(1_000.75);
    time.wall = 1_001;
    time.monotonic = 1.5;
    expect(clock.now()).toBe(1_001.5);
  });

  it("re-anchors to the start of the wall clock's millisecond when the wall clock is stepped forward", () => {
    const { clock, time } = clockOver(1_000, 1_000);
    time.monotonic = 0.5;
    time.wall = 5_000;
    expect(clock.now()).toBe(5_000);
    time.monotonic = 0.75;
    expect(clock.now()).toBe(5_000.25);
  });

  it('keeps its fraction when the millisecond turns between its two readings', () => {
    const readings = [999, 1_000, 1_000];
    const time = { monotonic: 0.3 };
    const clock = new PreciseWallClock(
      () => readings.shift() ?? 1_000,
      () => time.monotonic,
      999.75,
    );
    // The wall clock said 999, then the monotonic clock 1,000.05: both right, a moment apart.
    time.monotonic = 0.3;
    expect(clock.now()).toBeCloseTo(1_000.05, 10);
    time.monotonic = 0.6;
    expect(clock.now()).toBeCloseTo(1_000.35, 10);
  });

  it("holds a reading a few microseconds off at the edge of the wall clock's millisecond, keeping its anchoring", () => {
    // Anchored 5 µs ahead of the wall clock, as a process's time origin can be.
    const { clock, time } = clockOver(1_000, 1_000.005);
    time.monotonic = 0.9975;
    expect(clock.now()).toBe(1_000 + 1023 / 1024);
    time.wall = 1_001;
    time.monotonic = 1.4975;
    expect(clock.now()).toBeCloseTo(1_001.5025, 10);
    // And 5 µs behind.
    const behind = clockOver(2_000, 1_999.995);
    behind.time.monotonic = 0.002;
    expect(behind.clock.now()).toBe(2_000);
    behind.time.monotonic = 0.5;
    expect(behind.clock.now()).toBeCloseTo(2_000.495, 10);
  });

  it('re-anchors when the wall clock is stepped back, never reading ahead of it', () => {
    const { clock, time } = clockOver(1_000, 1_000);
    time.monotonic = 0.5;
    time.wall = 400;
    expect(clock.now()).toBe(400);
    time.monotonic = 0.9;
    expect(clock.now()).toBeCloseTo(400.4, 10);
  });

  it("stays within Date.now()'s millisecond on the process's own clocks", () => {
    const clock = new PreciseWallClock();
    for (let i = 0; i < 10_000; i++) {
      const before = Date.now();
      const now = clock.now();
      const after = Date.now();
      expect(now).toBeGreaterThanOrEqual(before);
      expect(now).toBeLessThan(after + 1);
    }
  });
});
