import { afterEach, describe, expect, it } from 'vitest';
import { StallDetector } from '../src/stall-detector.js';

describe('StallDetector', () => {
  let detector: StallDetector | undefined;
  afterEach(() => detector?.stop());

  function detect(): { stalls: number[]; advance: (ms: number) => void } {
    let now = 1000;
    const stalls: number[] = [];
    detector = new StallDetector({
      thresholdMs: 500,
      onStall: (gap) => stalls.push(gap),
      monotonic: () => now,
      intervalMs: 60_000,
    });
    detector.start();
    return { stalls, advance: (ms) => (now += ms) };
  }

  it('reports a gap longer than the threshold once, at the first look after it', () => {
    const { stalls, advance } = detect();
    advance(400);
    detector!.check();
    expect(stalls).toEqual([]);
    advance(3000);
    detector!.check();
    detector!.check();
    expect(stalls).toEqual([3000]);
  });

  it('looks every interval without a request', async () => {
    const stalls: number[] = [];
    let now = 0;
    detector = new StallDetector({
      thresholdMs: 500,
      onStall: (gap) => stalls.push(gap),
      monotonic: () => now,
      intervalMs: 5,
    });
    detector.start();
    now = 10_000;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stalls).toEqual([10_000]);
  });

  it('reports nothing before start or after stop', () => {
    const { stalls, advance } = detect();
    detector!.stop();
    advance(3000);
    detector!.check();
    expect(stalls).toEqual([]);
  });
});
