import { describe, expect, test } from 'vitest';
import { defaultMaxConnections, openFileLimit, RESERVED_FDS } from '../src/fd-limit.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            256                  4096                 files
Max locked memory         8388608              8388608              bytes
`;

describe('openFileLimit', () => {
  test('reads the soft limit from /proc/self/limits text', () => {
    expect(openFileLimit(LIMITS)).toBe(256);
    expect(openFileLimit(LIMITS.replace('256 ', 'unlimited '))).toBe(Number.MAX_SAFE_INTEGER);
    expect(openFileLimit('no such line')).toBeUndefined();
  });

  test("reads this process's own limit on Linux", () => {
    if (process.platform !== 'linux') return;
    expect(openFileLimit()).toBeGreaterThan(0);
  });
});

describe('defaultMaxConnections', () => {
  test.each([
    [1024, 480],
    [256, 96],
    [20_000, 1024],
    [RESERVED_FDS, 1],
    [10, 1],
  ])('with %i descriptors each door gets %i', (limit, expected) => {
    expect(defaultMaxConnections(limit)).toBe(expected);
  });
});
