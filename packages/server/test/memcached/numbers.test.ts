import { describe, expect, test } from 'vitest';
import { applyDelta } from '../../src/operations/counter.js';
import { EXPIRED, exptimeToTtlMs, ttlMsToSeconds } from '../../src/memcached/exptime.js';
import { parseInt32, parseUint32, parseUint64 } from '../../src/memcached/numbers.js';
import { memcachedTokenCount, tokenize } from '../../src/memcached/tokenize.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const whole =
  <T>(fn: (buf: Buffer, s: number, e: number) => T) =>
  (s: string) =>
    fn(b(s), 0, s.length);

describe('numbers parse as memcached safe_strto* do', () => {
  test.each([
    ['0', 0],
    ['+7', 7],
    ['4294967295', 4294967295],
    ['4294967296', 0], // parsed as a 64-bit long, then truncated to 32 bits
    ['4294967297', 1],
    ['-0', 0],
    ['5\r', 5], // trailing whitespace is allowed
    ['-1', undefined],
    ['x', undefined],
    ['5x', undefined],
    ['', undefined],
    ['18446744073709551616', undefined],
  ])('uint32 %j → %j', (text, expected) => {
    expect(whole(parseUint32)(text)).toBe(expected);
  });

  test.each([
    ['-1', -1],
    ['1000', 1000],
    ['2147483648', -2147483648],
    ['4294967297', 1],
    ['9223372036854775808', undefined],
    ['1.5', undefined],
  ])('int32 %j → %j', (text, expected) => {
    expect(whole(parseInt32)(text)).toBe(expected);
  });

  test.each([
    ['18446744073709551615', 18446744073709551615n],
    ['18446744073709551616', undefined],
    ['-0', 0n],
    ['-1', undefined],
    [' 12', 12n],
  ])('uint64 %s → %s', (text, expected) => {
    expect(whole(parseUint64)(text)).toBe(expected);
  });
});

describe('incr/decr arithmetic', () => {
  const run = (stored: string, delta: bigint, incr: boolean) => {
    const r = applyDelta(b(stored), delta, incr);
    return r === undefined ? undefined : [r.digits, Buffer.from(r.bytes).toString('latin1')];
  };
  test.each([
    ['10', 5n, true, ['15', '15']],
    ['18446744073709551615', 2n, true, ['1', '1                   ']], // wraps; padded in place
    ['100', 1n, false, ['99', '99 ']],
    ['5', 10n, false, ['0', '0']], // decr floors at 0
    ['99', 1n, true, ['100', '100']], // grows: a new, longer value
    [' 7', 1n, true, ['8', '8 ']],
    ['12 x', 1n, true, ['13', '13  ']], // digits, then whitespace: accepted like strtoull
    ['abc', 1n, true, undefined],
    ['', 1n, true, undefined],
  ])('%j %s %s → %j', (stored, delta, incr, expected) => {
    expect(run(stored, delta, incr)).toEqual(expected);
  });
});

describe('exptime → TTL in ms', () => {
  const now = 1_700_000_000_000;
  test.each([
    [0, 0],
    [-1, EXPIRED],
    [30, 30_000],
    [60 * 60 * 24 * 30, 60 * 60 * 24 * 30 * 1000],
    [1_700_000_100, 100_000], // absolute Unix time, 100 s ahead
    [1_600_000_000, EXPIRED], // absolute time in the past
  ])('%d → %d', (exptime, ttl) => {
    expect(exptimeToTtlMs(exptime, now)).toBe(ttl);
  });

  test('meta t reports whole seconds rounded up, -1 for never', () => {
    expect(ttlMsToSeconds(undefined)).toBe(-1);
    expect(ttlMsToSeconds(29_999)).toBe(30);
    expect(ttlMsToSeconds(30_000)).toBe(30);
  });
});

describe('tokenizer', () => {
  test('splits on spaces only, collapses runs, stops at NUL', () => {
    const line = b('  get a\tb   c\u0000d e');
    const t = tokenize(line, 0, line.length);
    const tokens = Array.from({ length: t.count }, (_, i) =>
      line.toString('latin1', t.starts[i], t.ends[i]),
    );
    expect(tokens).toEqual(['get', 'a\tb', 'c']);
  });

  test('counts like memcached: at most 23 tokens plus the terminal one', () => {
    const many = b(Array.from({ length: 40 }, (_, i) => `k${i}`).join(' '));
    const t = tokenize(many, 0, many.length);
    expect(t.count).toBe(40);
    expect(memcachedTokenCount(t)).toBe(24);
  });
});
