import { describe, expect, it } from 'vitest';
import {
  decodeValue,
  encodeValue,
  FLAGS_JSON,
  FLAGS_MSGPACK,
  FLAGS_OCTET_STREAM,
  FLAGS_TEXT,
} from './codec.js';

/** What a value looks like after a trip through the wire: bytes as a plain Uint8Array. */
function roundTrip(value: unknown): unknown {
  const { bytes, flags } = encodeValue(value);
  return decodeValue(Uint8Array.from(bytes), flags);
}

const cases: [string, unknown][] = [
  ['string', 'héllo ✓'],
  ['empty string', ''],
  // No UTF-8 form: a msgpack str would read back with U+FFFD in its place.
  ['string with a lone high surrogate', 'a\ud800b'],
  ['string with a lone low surrogate', '\udc00'],
  ['long string ending in a lone surrogate', `${'x'.repeat(200)}\ud83d`],
  ['small int', 42],
  ['negative int', -7],
  ['float', 1.5],
  ['int beyond 32 bits', 2 ** 40],
  ['max safe int', Number.MAX_SAFE_INTEGER],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['true', true],
  ['false', false],
  ['null', null],
  ['array', [1, 'a', null, [true]]],
  ['plain object', { a: 1, nested: { b: [1, 2], c: 'x' } }],
  ['empty object', {}],
  ['Date', new Date(1_234_567_890_123)],
  ['Date before 1970', new Date(-5)],
  [
    'Map with non-string keys',
    new Map<unknown, unknown>([
      ['a', 1],
      [2, { x: 1 }],
    ]),
  ],
  ['empty Map', new Map()],
  ['Uint8Array', new Uint8Array([0, 1, 255])],
  ['Float32Array', new Float32Array([1.5, -2, 300])],
  ['Float64Array', new Float64Array([Math.PI, -0, Number.MAX_VALUE])],
  ['Int16Array', new Int16Array([-1, 32767])],
  ['Uint32Array', new Uint32Array([0xffff_ffff])],
  ['BigInt64Array', new BigInt64Array([-(2n ** 63n), 1n])],
  ['Uint8ClampedArray', new Uint8ClampedArray([0, 255])],
  ['a view into part of a larger buffer', new Float32Array(new ArrayBuffer(64), 16, 3).fill(0.25)],
  ['DataView', new DataView(Uint8Array.from([1, 2, 3]).buffer)],
  ['ArrayBuffer', Uint8Array.from([4, 5]).buffer],
  ['Set', new Set([1, 'a', new Date(0)])],
  ['typed arrays nested', { embedding: new Float32Array([0.5, 0.25]), raw: [new Uint8Array([7])] }],
  ['small bigint', 5n],
  ['negative bigint', -5n],
  ['bigint at 2^64 - 1', 2n ** 64n - 1n],
  ['bigint beyond 64 bits', 2n ** 100n + 7n],
  ['negative bigint beyond 64 bits', -(2n ** 130n)],
  [
    'mixed nesting',
    { list: [new Map([['k', new Date(0)]]), { deep: 3n }], bytes: new Uint8Array([9]) },
  ],
];

describe('codec: msgpack values round-trip exactly', () => {
  it('an Error and a RegExp come back as themselves', () => {
    const error = roundTrip(new RangeError('boom', { cause: 'why' }));
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toMatchObject({ message: 'boom', cause: 'why' });
    expect(roundTrip(/a+b/giu)).toStrictEqual(/a+b/giu);
  });

  it("a typed array's bytes are its own, never what its encoding buffer held before", () => {
    encodeValue({ password: 'hunter2-SECRET'.repeat(20) });
    const { bytes } = encodeValue(new Float64Array(200));
    // The stored bytes hold the 1,600 zero bytes and a few bytes of framing: nothing else.
    expect(bytes.filter((b) => b !== 0).length).toBeLessThan(8);
    expect(roundTrip(new Float64Array(200))).toStrictEqual(new Float64Array(200));
  });

  it('a typed array msgpackr has no type code for is refused, not stored unreadable', () => {
    class Embedding extends Float32Array {}
    expect(() => encodeValue(new Embedding([0.5]))).toThrow(
      new TypeError(
        'cannot store a Embedding: msgpack values keep the standard typed arrays (Int8Array … BigUint64Array); copy it into one',
      ),
    );
    expect(roundTrip(Float32Array.from(new Embedding([0.5])))).toStrictEqual(
      new Float32Array([0.5]),
    );
    expect(roundTrip(Buffer.from([1, 2]))).toStrictEqual(new Uint8Array([1, 2]));
  });

  it.each<[string, number]>([
    ['msgpack', FLAGS_MSGPACK],
    ['raw bytes', FLAGS_OCTET_STREAM],
  ])(
    'a Uint8Array read back (%s) is a copy, not a view pinning the batch answer it came in',
    (_name, flags) => {
      const bytes =
        flags === FLAGS_MSGPACK ? encodeValue(new Uint8Array([1, 2, 3])).bytes : [1, 2, 3];
      // The value's bytes inside a whole batch answer, as decodeBatch hands them over.
      const answer = new Uint8Array(1 << 20);
      answer.set(bytes, 100);
      const back = decodeValue(answer.subarray(100, 100 + bytes.length), flags) as Uint8Array;
      expect(back).toStrictEqual(new Uint8Array([1, 2, 3]));
      expect(back.buffer.byteLength).toBeLessThan(1024);
    },
  );

  it('a Uint8Array value is still a plain msgpack bin, readable by any msgpack library', () => {
    expect([...encodeValue(new Uint8Array([1, 2])).bytes]).toStrictEqual([0xc4, 2, 1, 2]);
  });

  it.each(cases)('%s', (_name, value) => {
    const back = roundTrip(value);
    expect(back).toStrictEqual(value);
    // toStrictEqual checks types, but be explicit about the ones msgpackr's defaults lose.
    if (value instanceof Map) expect(back).toBeInstanceOf(Map);
    if (value instanceof Uint8Array) expect(Object.getPrototypeOf(back)).toBe(Uint8Array.prototype);
    if (typeof value === 'bigint') expect(typeof back).toBe('bigint');
  });

  it('keeps plain objects plain (not Maps) and Maps as Maps side by side', () => {
    const back = roundTrip({ obj: { a: 1 }, map: new Map([['a', 1]]) }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back.obj)).toBe(Object.prototype);
    expect(back.map).toBeInstanceOf(Map);
  });

  it('keeps many differently shaped objects in one value', () => {
    const value = Array.from({ length: 300 }, (_, i) => ({
      [`k${i}`]: i,
      inner: { [`z${i}`]: [i] },
    }));
    expect(roundTrip(value)).toStrictEqual(value);
  });
});

describe('codec: flags chosen on write', () => {
  it.each([
    ['a string', 'x'],
    ['an object', {}],
    ['a negative number', -1],
    ['a fraction', 0.5],
    ['a bigint', 1n],
  ])('%s is msgpack (flags 256)', (_name, value) => {
    expect(encodeValue(value).flags).toBe(FLAGS_MSGPACK);
  });

  it('a whole number >= 0 is its decimal text with the JSON flags, so node-side incr works on it', () => {
    const { bytes, flags } = encodeValue(1234);
    expect(flags).toBe(FLAGS_JSON);
    expect(new TextDecoder().decode(bytes)).toBe('1234');
  });
});

describe('codec: decoding by flags', () => {
  const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

  it('JSON (flags 2, e.g. written by curl) reads as a plain object', () => {
    const value = decodeValue(utf8('{"a":[1,2],"b":{"c":null}}'), FLAGS_JSON);
    expect(value).toStrictEqual({ a: [1, 2], b: { c: null } });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('text (flags 16) reads as a string', () => {
    expect(decodeValue(utf8('plain ✓'), FLAGS_TEXT)).toBe('plain ✓');
  });

  it.each([FLAGS_OCTET_STREAM, 1, 4096])('flags %i read as a copy of the raw bytes', (flags) => {
    const backing = new Uint8Array([7, 1, 2, 3, 7]);
    const view = backing.subarray(1, 4);
    const value = decodeValue(view, flags) as Uint8Array;
    expect(value).toStrictEqual(new Uint8Array([1, 2, 3]));
    backing[1] = 99;
    expect(value[0]).toBe(1);
  });

  it('a JSON body that is not JSON throws instead of inventing a value', () => {
    expect(() => decodeValue(utf8('{oops'), FLAGS_JSON)).toThrow(SyntaxError);
  });

  it('encoding one value does not change the bytes of the previous one', () => {
    const first = encodeValue({ a: 'first' }).bytes;
    const copy = Uint8Array.from(first);
    encodeValue({ b: 'second value that is longer' });
    expect(Uint8Array.from(first)).toStrictEqual(copy);
  });
});
