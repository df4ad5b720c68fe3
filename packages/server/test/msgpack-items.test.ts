import { pack } from 'msgpackr';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { itemsWithin } from '../src/msgpack-items.js';

/** Items in a decoded value as msgpack counts them: containers, their elements, map keys. */
function countItems(value: unknown): number {
  if (Array.isArray(value)) return 1 + value.reduce((n: number, v) => n + countItems(v), 0);
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return 1;
  return 1 + Object.values(value).reduce((n: number, v) => n + 1 + countItems(v), 0);
}

describe('itemsWithin', () => {
  it('agrees with the item count of any encoded value, at the limit and one below', () => {
    fc.assert(
      fc.property(
        fc.anything({
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
        }),
        (value) => {
          const n = countItems(value);
          const body = pack(value);
          expect(itemsWithin(body, n)).toBe(true);
          expect(itemsWithin(body, n - 1)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a nested bomb from its headers, and lets truncated input through to the decoder', () => {
    const bomb = new Uint8Array(6 + 1000).fill(0x90);
    bomb.set([0x91, 0xdd, 0x00, 0x00, 0x03, 0xe8]); // [[1000 × []]]
    expect(itemsWithin(bomb, 1000)).toBe(false);
    expect(itemsWithin(bomb, 1002)).toBe(true);
    expect(itemsWithin(new Uint8Array([0x91, 0xdd, 0x00]), 10)).toBe(true);
    expect(itemsWithin(new Uint8Array([0xc1]), 10)).toBe(true);
    expect(itemsWithin(new Uint8Array([0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]), 1)).toBe(true);
  });
});
