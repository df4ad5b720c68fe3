import { describe, expect, it } from 'vitest';
import { HashRing } from './hash-ring.js';
import type { HashRingOptions } from './options.js';

// Callers in plain JavaScript can pass anything; every bad input must fail loudly and precisely.
const loose = (value: unknown): never => value as never;

describe('HashRing rejects bad input', () => {
  const ring = new HashRing(['a', 'b']);

  it.each([
    ['get with a number key', () => ring.get(loose(1)), TypeError, /key must be a string/],
    ['get with undefined', () => ring.get(loose(undefined)), TypeError, /key must be a string/],
    ['getN with a non-string key', () => ring.getN(loose(null), 2), TypeError, /key/],
    ['getN with n as a string', () => ring.getN('k', loose('2')), TypeError, /n must be a number/],
    ['getN with n < 0', () => ring.getN('k', -1), RangeError, /non-negative integer/],
    ['getN with fractional n', () => ring.getN('k', 1.5), RangeError, /non-negative integer/],
    ['getN with n = NaN', () => ring.getN('k', Number.NaN), RangeError, /non-negative integer/],
    ['getNAt with n < 0', () => ring.getNAt(0, -1), RangeError, /HashRing.getNAt: n must be/],
    ['getNAt with n as a string', () => ring.getNAt(0, loose('2')), TypeError, /getNAt: n must/],
    ['getNAt with a string point', () => ring.getNAt(loose('0'), 1), TypeError, /point must be/],
    ['add with a number id', () => ring.add(loose(5)), TypeError, /node id must be a string/],
    ['add with an empty id', () => ring.add(''), RangeError, /must not be empty/],
    ['add with weight 0', () => ring.add('c', 0), RangeError, /weight must be a finite number > 0/],
    ['add with weight < 0', () => ring.add('c', -1), RangeError, /weight/],
    ['add with weight NaN', () => ring.add('c', Number.NaN), RangeError, /weight/],
    ['add with weight Infinity', () => ring.add('c', Infinity), RangeError, /weight/],
    ['add with weight as a string', () => ring.add('c', loose('2')), TypeError, /weight/],
    ['add with too many points', () => ring.add('c', 1e9), RangeError, /points per node/],
    ['remove with a number id', () => ring.remove(loose(1)), TypeError, /node id/],
    ['has with a number id', () => ring.has(loose(1)), TypeError, /node id/],
  ])('%s', (_name, call, errorClass, message) => {
    expect(call).toThrow(errorClass);
    expect(call).toThrow(message);
  });

  it('checks keys itself, not through the hash: an injected hash would take anything', () => {
    // This hash never throws: a key must be refused before it is hashed.
    const lenient = new HashRing(['a', 'b'], { hash: (key) => String(key).length });
    expect(() => lenient.get(loose(1))).toThrow(/HashRing.get: key must be a string, got number/);
    expect(() => lenient.getN(loose(null), 2)).toThrow(/HashRing.getN: key must be a string/);
    expect(() => lenient.get(loose(1))).toThrow(TypeError);
  });

  it('leaves the ring unchanged after a rejected call', () => {
    expect(ring.nodes).toEqual(['a', 'b']);
  });

  it.each([
    ['vnodes 0', { vnodes: 0 }, RangeError, /options.vnodes must be from 1/],
    ['vnodes above the cap', { vnodes: 2 ** 21 }, RangeError, /options.vnodes/],
    ['fractional vnodes', { vnodes: 1.5 }, TypeError, /options.vnodes must be an integer/],
    ['vnodes as a string', { vnodes: loose('100') }, TypeError, /options.vnodes/],
    ['hash not a function', { hash: loose('md5') }, TypeError, /options.hash must be a function/],
    ['options not an object', loose(42), TypeError, /options must be an object/],
    ['a misspelt option', loose({ vnode: 100 }), TypeError, /unknown option "vnode"/],
    ['an unknown option beside valid ones', loose({ vnodes: 10, seed: 1 }), TypeError, /"seed"/],
  ] as [string, HashRingOptions, ErrorConstructor, RegExp][])(
    'constructor with %s',
    (_name, options, errorClass, message) => {
      expect(() => new HashRing([], options)).toThrow(errorClass);
      expect(() => new HashRing([], options)).toThrow(message);
    },
  );

  it('accepts every valid option, alone or together, and undefined values', () => {
    const hash = (key: string) => key.length;
    expect(new HashRing(['a'], { vnodes: 3 }).get('k')).toBe('a');
    expect(new HashRing(['a'], { hash }).get('k')).toBe('a');
    expect(new HashRing(['a'], { vnodes: 3, hash }).get('k')).toBe('a');
    expect(new HashRing(['a'], { vnodes: undefined }).get('k')).toBe('a');
    expect(new HashRing(['a'], {}).get('k')).toBe('a');
  });

  it.each([
    ['a string (not a list of ids)', 'http://a:1', /iterable of node id strings/],
    ['a number', 3, /iterable/],
    ['a list holding a non-string', [1], /node id must be a string/],
  ])('constructor with nodes as %s', (_name, nodes, message) => {
    expect(() => new HashRing(loose(nodes))).toThrow(TypeError);
    expect(() => new HashRing(loose(nodes))).toThrow(message);
  });
});
