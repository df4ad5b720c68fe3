import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JsonNestingError,
  JsonNotRepresentable,
  jsonNestingExceeds,
  parseJsonExact,
} from '../src/http/codec/json-exact.js';

/** Maps back to plain objects and BigInts back to doubles, as JSON.parse builds them. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Map) {
    return Object.fromEntries([...(value as Map<string, unknown>)].map(([k, v]) => [k, plain(v)]));
  }
  return Array.isArray(value) ? value.map(plain) : value;
}

describe('parseJsonExact', () => {
  it('agrees with JSON.parse on every JSON value, but for keeping integers past 2^53 exact', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('', ' ', '\n\t '), (value, space) => {
        const text = JSON.stringify(value, null, space);
        expect(plain(parseJsonExact(text, 1000))).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['18446744073709551615', 18446744073709551615n],
    ['-9223372036854775808', -9223372036854775808n],
    ['9007199254740993', 9007199254740993n],
    ['9007199254740991', 9007199254740991],
    ['18446744073709551616', 2 ** 64],
    ['-9223372036854776000', -(2 ** 63)], // how JavaScript writes that double
    ['9007199254740993.0', 9007199254740992],
    ['1e2', 100],
  ])('%s parses to %s', (text, expected) => {
    expect(parseJsonExact(text, 1)).toBe(expected);
  });

  it.each([
    ['-9223372036854775809', /past 64 bits/],
    ['12345678901234567890123', /past 64 bits/],
    ['1e400', /past a double's range/],
    ['-1e400', /past a double's range/],
    ['"\\ud800"', /lone surrogate/],
    ['{"\\udc00":1}', /lone surrogate/],
  ])('refuses %s, which no other encoding holds as it is', (text, why) => {
    expect(() => parseJsonExact(text, 2)).toThrow(JsonNotRepresentable);
    expect(() => parseJsonExact(text, 2)).toThrow(why);
  });

  it('keeps a __proto__ key as a key and the last of duplicate keys, as JSON.parse does', () => {
    const value = parseJsonExact('{"__proto__":{"polluted":1},"a":1,"a":2}', 2) as Map<
      string,
      unknown
    >;
    expect([...value.keys()]).toEqual(['__proto__', 'a']);
    expect(value.get('a')).toBe(2);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    '',
    '01',
    '[1,]',
    '{"a" 1}',
    '"\\x"',
    '"a',
    'nul',
    '1 2',
    '[1',
    '{"a":1,}',
    '+1',
    '"\u0001"',
  ])('refuses %j with a SyntaxError, as JSON.parse does', (text) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    expect(() => parseJsonExact(text, 10)).toThrow(SyntaxError);
  });

  it('refuses nesting past its limit with a JsonNestingError, and takes the limit itself', () => {
    expect(parseJsonExact('[[{"a":[]}]]', 4)).toBeDefined();
    expect(() => parseJsonExact('[[{"a":[[]]}]]', 4)).toThrow(JsonNestingError);
  });
});

describe('jsonNestingExceeds', () => {
  it('counts brackets outside strings only', () => {
    expect(jsonNestingExceeds('[[{"a":"[[[[\\"[["}]]', 3)).toBe(false);
    expect(jsonNestingExceeds('[[{"a":[1]}]]', 3)).toBe(true);
    expect(jsonNestingExceeds(`${'['.repeat(512)}${']'.repeat(512)}`, 512)).toBe(false);
    expect(jsonNestingExceeds(`${'['.repeat(513)}${']'.repeat(513)}`, 512)).toBe(true);
  });
});
