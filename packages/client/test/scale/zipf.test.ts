import { describe, expect, it } from 'vitest';
import { seededRandom } from '../faults/random.js';
import { zipf } from '../../bench/zipf.js';

describe('zipf', () => {
  it('draws rank r about (1/r^s) / H(n, s) of the time', () => {
    const n = 100;
    const draw = zipf(n, 0.99, seededRandom(7));
    const counts = new Array<number>(n).fill(0);
    const draws = 200_000;
    for (let i = 0; i < draws; i++) counts[draw()]!++;
    let harmonic = 0;
    for (let r = 1; r <= n; r++) harmonic += 1 / r ** 0.99;
    for (const rank of [0, 1, 9, 99]) {
      const expected = draws / (rank + 1) ** 0.99 / harmonic;
      expect(Math.abs(counts[rank]! - expected) / expected).toBeLessThan(0.1);
    }
  });

  it('stays within 0 … n−1 and refuses a bad size', () => {
    const draw = zipf(3, 0.99, () => 0.999999999);
    expect(draw()).toBe(2);
    expect(zipf(3, 0.99, () => 0)()).toBe(0);
    expect(() => zipf(0, 1, Math.random)).toThrow(/n must be a positive integer, got 0/);
  });
});
