import { describe, expect, it } from 'vitest';
import { decodeValue, FLAGS_JSON, FLAGS_OCTET_STREAM, FLAGS_TEXT } from './codec.js';
import { encodeJsonValue } from './json-values.js';

const text = new TextDecoder();

/** What a value looks like after a trip through the wire: bytes as a plain Uint8Array. */
function roundTrip(value: unknown): unknown {
  const { bytes, flags } = encodeJsonValue(value);
  return decodeValue(Uint8Array.from(bytes), flags);
}

describe("valueEncoding 'json'", () => {
  it.each<[string, unknown]>([
    ['string', 'héllo ✓'],
    ['empty string', ''],
    // UTF-8 text would hold U+FFFD in place of the surrogate.
    ['string with a lone surrogate', 'a\ud800b'],
    ['whole number', 42],
    ['negative number', -7],
    ['float', 1.5],
    ['max safe int', Number.MAX_SAFE_INTEGER],
    ['top-level -0', -0],
    ['true', true],
    ['null', null],
    ['array', [1, 'a', null, [true]]],
    ['plain object', { a: 1, nested: { b: [1, 2], c: 'x' } }],
    ['bytes', new Uint8Array([0, 1, 255])],
  ])('round-trips %s', (_name, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('writes what another language reads: UTF-8 text, raw bytes, plain JSON, counters as digits', () => {
    expect(encodeJsonValue('héllo')).toStrictEqual({
      bytes: new TextEncoder().encode('héllo'),
      flags: FLAGS_TEXT,
    });
    expect(encodeJsonValue(new Uint8Array([7, 8]))).toStrictEqual({
      bytes: new Uint8Array([7, 8]),
      flags: FLAGS_OCTET_STREAM,
    });
    const object = encodeJsonValue({ a: [1, { b: 'c' }], d: undefined });
    expect(object.flags).toBe(FLAGS_JSON);
    expect(text.decode(object.bytes)).toBe('{"a":[1,{"b":"c"}]}');
    const counter = encodeJsonValue(12);
    expect([text.decode(counter.bytes), counter.flags]).toStrictEqual(['12', FLAGS_JSON]);
  });

  it('takes a null-prototype object, which reads back as a plain one (all JSON objects do)', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(roundTrip(bare)).toStrictEqual({ a: 1 });
  });

  it('copies bytes: reusing the array after set does not change what is sent', () => {
    const source = new Uint8Array([1, 2, 3]);
    const { bytes } = encodeJsonValue(source);
    source[0] = 99;
    expect([...bytes]).toStrictEqual([1, 2, 3]);
  });

  it.each<[string, unknown, RegExp]>([
    ['a Map', new Map([['a', 1]]), /cannot store a Map: it would not read back the same/],
    ['a Set', new Set([1]), /cannot store a Set/],
    ['a Date', new Date(0), /cannot store a Date/],
    ['a bigint', 5n, /cannot store a bigint/],
    ['NaN', Number.NaN, /cannot store NaN/],
    ['Infinity', Number.POSITIVE_INFINITY, /cannot store Infinity/],
    ['a class instance', new (class Point {})(), /cannot store a Point/],
    ['a nested Map', { user: { roles: new Map() } }, /cannot store a Map \(at key "roles"\)/],
    ['a nested Date', [1, new Date(0)], /cannot store a Date \(at key "1"\)/],
    ['nested bytes', { b: new Uint8Array(1) }, /cannot store a Uint8Array \(at key "b"\)/],
    ['undefined in an array', [1, undefined], /undefined in an array \(JSON writes null\)/],
    ['a function in an object', { f: () => 1 }, /cannot store a function \(at key "f"\)/],
    ['a symbol in an object', { s: Symbol('s') }, /cannot store a symbol/],
    [
      'an object with a toJSON method',
      { id: 1, toJSON: () => 'replaced' },
      /cannot store an object with a toJSON method/,
    ],
    [
      'a nested one',
      { user: { toJSON: () => ({}) } },
      /cannot store an object with a toJSON method \(at key "user"\)/,
    ],
  ])('refuses %s with a TypeError that says why', (_name, value, message) => {
    expect(() => encodeJsonValue(value)).toThrow(TypeError);
    expect(() => encodeJsonValue(value)).toThrow(message);
  });
});
