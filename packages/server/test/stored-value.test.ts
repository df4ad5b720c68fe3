import { describe, expect, it } from 'vitest';
import {
  STRING_VALUE_MAX_BYTES,
  heldCopy,
  storedValue,
  tombstoneValue,
  valueData,
  valueLength,
  writeLatin1,
} from '../src/operations/stored-value.js';

/** Every byte value, then some: what a held string must carry exactly. */
const EVERY_BYTE = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);

describe('stored values', () => {
  it('holds a value up to STRING_VALUE_MAX_BYTES as a one-byte string, every byte exact', () => {
    for (const length of [0, 1, 100, STRING_VALUE_MAX_BYTES]) {
      const bytes = Uint8Array.from({ length }, (_, i) => EVERY_BYTE[i % EVERY_BYTE.length]!);
      const value = storedValue(bytes, 5);
      expect(typeof value.data).toBe('string');
      expect(valueLength(value)).toBe(length);
      expect(value.bytes).toStrictEqual(bytes);
      expect(value.flags).toBe(5);
    }
  });

  it('is a copy: changing the bytes it was built from changes nothing held', () => {
    const bytes = EVERY_BYTE.slice();
    const value = storedValue(bytes, 0);
    bytes.fill(0);
    expect(value.bytes).toStrictEqual(EVERY_BYTE);
  });

  it('makes a fresh plain Uint8Array at each read of bytes, which a reader may change', () => {
    const value = storedValue(EVERY_BYTE, 0);
    const first = value.bytes;
    expect(first.constructor).toBe(Uint8Array);
    first.fill(1);
    expect(value.bytes).toStrictEqual(EVERY_BYTE);
  });

  it('keeps a larger value as its bytes', () => {
    const bytes = new Uint8Array(STRING_VALUE_MAX_BYTES + 1).fill(9);
    const value = storedValue(bytes, 0);
    expect(value.data).toBeUndefined();
    expect(valueData(value)).toBe(bytes);
    expect(valueLength(value)).toBe(bytes.length);
  });

  it('takes a one-byte string as the bytes it holds', () => {
    const value = storedValue('\u0000\u00ff\u0080a', 2);
    expect(value.bytes).toStrictEqual(Uint8Array.of(0, 255, 128, 97));
  });

  it("copies a request's bytes as a value is held, never a view of the buffer read into", () => {
    for (const length of [3, STRING_VALUE_MAX_BYTES + 1]) {
      const source = Buffer.alloc(length + 4, 7);
      const copy = heldCopy(source, 2, 2 + length);
      expect(typeof copy === 'string').toBe(length <= STRING_VALUE_MAX_BYTES);
      source.fill(0);
      const bytes = typeof copy === 'string' ? Buffer.from(copy, 'latin1') : copy;
      expect(bytes.length).toBe(length);
      expect(bytes.every((byte) => byte === 7)).toBe(true);
    }
  });

  it('builds a tombstone with its stamp and no bytes', () => {
    const value = tombstoneValue(42);
    expect([value.tombstone, value.stamp, valueLength(value)]).toStrictEqual([true, 42, 0]);
    expect(storedValue(EVERY_BYTE, 0).tombstone).toBeUndefined();
  });

  it('writes a held string into a buffer at an offset, byte for byte', () => {
    const target = new Uint8Array(EVERY_BYTE.length + 3);
    const value = storedValue(EVERY_BYTE, 0);
    expect(writeLatin1(target, value.data!, 3)).toBe(EVERY_BYTE.length);
    expect(target.subarray(3)).toStrictEqual(EVERY_BYTE);
    expect([...target.subarray(0, 3)]).toStrictEqual([0, 0, 0]);
  });
});
