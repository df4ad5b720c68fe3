import { Packr, pack } from 'msgpackr';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { declaredArrayLength, scanItems } from '../src/http/codec/msgpack-items.js';

/** Items in a decoded value as msgpack counts them: containers, their elements, map keys. */
function countItems(value: unknown): number {
  if (Array.isArray(value)) return 1 + value.reduce((n: number, v) => n + countItems(v), 0);
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return 1;
  return 1 + Object.values(value).reduce((n: number, v) => n + 1 + countItems(v), 0);
}

/** Plain msgpack values: nothing msgpackr would write as an extension. */
const plainValue = fc.anything({
  withBigInt: false,
  withBoxedValues: false,
  withMap: false,
  withSet: false,
  withDate: false,
  withTypedArray: false,
  withSparseArray: false,
  withNullPrototype: false,
  withObjectString: false,
  values: [
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.double(),
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.boolean(),
    fc.constant(null),
  ],
});

/** One raw msgpack extension, in any of its eight headers (fixext 1–16, ext 8/16/32). */
const extension = fc
  .tuple(
    fc.oneof(fc.constantFrom(1, 2, 4, 8, 16), fc.integer({ min: 0, max: 300 })),
    fc.integer({ min: -128, max: 127 }),
    fc.constantFrom('fixed', 'ext8', 'ext16', 'ext32'),
  )
  .map(([length, type, form]) => {
    const fixed = [1, 2, 4, 8, 16].indexOf(length);
    const head =
      form === 'fixed' && fixed >= 0
        ? [0xd4 + fixed]
        : form === 'ext16'
          ? [0xc8, length >> 8, length & 0xff]
          : form === 'ext32'
            ? [0xc9, 0, 0, length >> 8, length & 0xff]
            : length <= 0xff
              ? [0xc7, length]
              : [0xc8, length >> 8, length & 0xff];
    return new Uint8Array([...head, type & 0xff, ...new Uint8Array(length).fill(0x90)]);
  });

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('scanItems', () => {
  it('agrees with the item count of any encoded value, at the limit and one below', () => {
    fc.assert(
      fc.property(plainValue, (value) => {
        const n = countItems(value);
        const body = pack(value);
        expect(scanItems(body, n)).toBe('ok');
        expect(scanItems(body, n - 1)).toBe('too_many_items');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses an extension anywhere: before, after or inside plain values', () => {
    fc.assert(
      fc.property(plainValue, extension, plainValue, (before, ext, after) => {
        const body = concat(new Uint8Array([0x93]), pack(before), ext, pack(after));
        expect(scanItems(body, 1_000_000)).toBe('extension');
        expect(scanItems(concat(new Uint8Array([0x91]), ext), 1_000_000)).toBe('extension');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what msgpackr writes as extensions: timestamps, Set, Error, RegExp', () => {
    const more = new Packr({ moreTypes: true, useRecords: false });
    for (const value of [
      [new Date(0)],
      [new Date(2 ** 40)],
      [new Set([1])],
      [new Error('x')],
      [/a/],
    ]) {
      expect(scanItems(more.pack(value), 1000)).toBe('extension');
    }
  });

  it('refuses bytes after the value', () => {
    fc.assert(
      fc.property(plainValue, fc.uint8Array({ minLength: 1, maxLength: 20 }), (value, tail) => {
        expect(scanItems(concat(pack(value), tail), 1_000_000)).toBe('trailing_bytes');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses the Set bomb whose extension reads the next value as its content', () => {
    // [[Set(ext 0x73, 0 bytes) of the NEXT value: an array 32 of 16M empty arrays]]
    const bomb = new Uint8Array(10 + 1000).fill(0x90);
    bomb.set([0x91, 0x91, 0xd4, 0x73, 0x00, 0xdd, 0x00, 0xff, 0xff, 0xff]);
    expect(scanItems(bomb, 7001)).toBe('extension');
  });

  it('refuses a nested bomb from its headers, and says when the input is truncated or invalid', () => {
    const bomb = new Uint8Array(6 + 1000).fill(0x90);
    bomb.set([0x91, 0xdd, 0x00, 0x00, 0x03, 0xe8]); // [[1000 × []]]
    expect(scanItems(bomb, 1000)).toBe('too_many_items');
    expect(scanItems(bomb, 1002)).toBe('ok');
    expect(scanItems(bomb.subarray(0, 1005), 1002)).toBe('truncated');
    expect(scanItems(new Uint8Array([0x91, 0xdd, 0x00]), 10)).toBe('truncated');
    expect(scanItems(new Uint8Array([0x92, 0x01]), 10)).toBe('truncated');
    expect(scanItems(new Uint8Array([0xa3, 0x61]), 10)).toBe('truncated');
    expect(scanItems(new Uint8Array([]), 10)).toBe('truncated');
    expect(scanItems(new Uint8Array([0xc1]), 10)).toBe('invalid');
    expect(scanItems(new Uint8Array([0x91, 0xc1]), 10)).toBe('invalid');
    expect(scanItems(new Uint8Array([0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]), 1)).toBe('truncated');
  });
});

describe("scanItems with strings: 'check'", () => {
  const check = (bytes: number[]) => scanItems(new Uint8Array(bytes), 10, { strings: 'check' });
  // A str of `bytes` in each of the four headers msgpack has for it.
  const everyHeader = (bytes: number[]): number[][] => [
    [0xa0 | bytes.length, ...bytes],
    [0xd9, bytes.length, ...bytes],
    [0xda, 0, bytes.length, ...bytes],
    [0xdb, 0, 0, 0, bytes.length, ...bytes],
  ];

  it('refuses a str that is not UTF-8, in every header, where skipping takes it', () => {
    for (const bad of [
      [0xed, 0xa0, 0x80], // '\ud800' as WTF-8: a surrogate
      [0x61, 0xff, 0xfe], // bytes no UTF-8 has
      [0xc3], // a sequence cut short
      [0xc0, 0xaf], // an overlong '/'
    ]) {
      for (const str of everyHeader(bad)) {
        expect(check([0x91, ...str])).toBe('bad_utf8');
        expect(scanItems(new Uint8Array([0x91, ...str]), 10)).toBe('ok');
      }
    }
  });

  it('takes ASCII and well-formed UTF-8, astral characters included; bins are not strings', () => {
    const text = [...new TextEncoder().encode('clé 🦄 键')];
    for (const str of [...everyHeader(text), ...everyHeader([0x6b, 0x65, 0x79])]) {
      expect(check([0x92, ...str, 0xc4, 2, 0xff, 0xfe])).toBe('ok');
    }
    expect(check([...pack(['set', 'k', 'v'])])).toBe('ok');
  });

  it('leaves a str cut off by the end of the body to the truncation check', () => {
    expect(check([0xa3, 0xed, 0xa0])).toBe('truncated');
  });
});

describe('declaredArrayLength', () => {
  it.each([
    ['fixarray', [0x93], 3],
    ['array 16', [0xdc, 0x01, 0x02], 0x102],
    ['array 32', [0xdd, 0x00, 0x01, 0x00, 0x00], 0x10000],
    ['a cut-off array 32 header', [0xdd, 0x00, 0x01], undefined],
    ['a map', [0x81], undefined],
    ['an empty body', [], undefined],
  ])('%s', (_name, body, expected) => {
    expect(declaredArrayLength(new Uint8Array(body))).toBe(expected);
  });
});
