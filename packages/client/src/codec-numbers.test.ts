import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, FLAGS_JSON, FLAGS_MSGPACK } from './codec.js';

/** What a value looks like after a trip through the wire: bytes as a plain Uint8Array. */
function roundTrip(value: unknown): unknown {
  const { bytes, flags } = encodeValue(value);
  return decodeValue(Uint8Array.from(bytes), flags);
}

/** Every number inside `value` (depth-first), with its path, so each one's type is checked. */
function numbersIn(value: unknown, path = '$'): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((item, i) => numbersIn(item, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => numbersIn(item, `${path}.${key}`));
  }
  return [[path, value]];
}

// Values msgpackr could plausibly turn into something else: integers beyond 32 bits (int64 →
// bigint with `int64AsType: 'bigint'`), negative zero, float32 precision, the float64 extremes.
const msgpackCases: [string, unknown][] = [
  ['-(2 ** 40) at the top level', -(2 ** 40)],
  ['-Number.MAX_SAFE_INTEGER', -Number.MAX_SAFE_INTEGER],
  ['-0.5', -0.5],
  ['Number.MAX_VALUE', Number.MAX_VALUE],
  ['-Number.MAX_VALUE', -Number.MAX_VALUE],
  ['Number.MIN_VALUE (the smallest subnormal)', Number.MIN_VALUE],
  ['0.1 (not exact in float32)', 0.1],
  ['-(2 ** 31) - 1 (just below int32)', -(2 ** 31) - 1],
  ['2 ** 53 (a whole number past the safe range)', 2 ** 53],
  ['{ n: 2 ** 40 }', { n: 2 ** 40 }],
  ['{ n: 2 ** 53 - 1 }', { n: 2 ** 53 - 1 }],
  ['{ n: 2 ** 32 } (just above uint32)', { n: 2 ** 32 }],
  ['[-(2 ** 40), 1.5]', [-(2 ** 40), 1.5]],
  ['[2 ** 53 - 1, -(2 ** 53 - 1)]', [2 ** 53 - 1, -(2 ** 53 - 1)]],
  ['nested { a: [{ b: -(2 ** 40) }] }', { a: [{ b: -(2 ** 40) }] }],
];

describe('codec: numbers through msgpack come back as the same numbers', () => {
  it.each(msgpackCases)('%s', (_name, value) => {
    expect(encodeValue(value).flags).toBe(FLAGS_MSGPACK);
    const back = roundTrip(value);
    expect(back).toStrictEqual(value);
    // toStrictEqual already fails on a bigint in place of a number; name the culprit anyway.
    const before = numbersIn(value);
    const after = numbersIn(back);
    expect(after.map(([path, n]) => [path, typeof n])).toStrictEqual(
      before.map(([path]) => [path, 'number']),
    );
    for (const [i, [, n]] of after.entries()) expect(Object.is(n, before[i]![1])).toBe(true);
  });

  it('a top-level -0 stays -0 (stored as the JSON text "-0"); inside arrays and objects it reads back as 0', () => {
    expect(encodeValue(-0)).toStrictEqual({
      bytes: new TextEncoder().encode('-0'),
      flags: FLAGS_JSON,
    });
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
    // The documented limit: msgpackr writes -0 as the integer 0.
    expect(Object.is((roundTrip([-0]) as number[])[0], 0)).toBe(true);
  });
});

describe('codec: a whole number >= 0 at the top level is decimal text with the JSON flags', () => {
  it.each([0, 1, 2 ** 31, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER])('%d', (value) => {
    const { bytes, flags } = encodeValue(value);
    expect(flags).toBe(FLAGS_JSON);
    expect(new TextDecoder().decode(bytes)).toBe(String(value));
    const back = roundTrip(value);
    expect(typeof back).toBe('number');
    expect(back).toBe(value);
  });

  it('the same numbers inside an object or an array go through msgpack, still as numbers', () => {
    const value = { n: Number.MAX_SAFE_INTEGER, list: [2 ** 40, 0] };
    expect(encodeValue(value).flags).toBe(FLAGS_MSGPACK);
    const back = roundTrip(value) as typeof value;
    expect(back).toStrictEqual(value);
    expect(typeof back.n).toBe('number');
    expect(back.list.map((n) => typeof n)).toStrictEqual(['number', 'number']);
  });
});
