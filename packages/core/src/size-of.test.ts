import { describe, expect, it } from 'vitest';
import {
  ARRAY_BUFFER_HEADER,
  STRING_HEADER,
  TYPED_ARRAY_HEADER,
  defaultSizeOf,
  utf8Length,
} from './size-of.js';

describe('utf8Length', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['a😀b', 6],
    ['\ud800', 3], // a lone surrogate becomes U+FFFD (3 bytes), as Buffer does
    ['x'.repeat(100) + '€', 103],
    ['é'.repeat(80), 160],
  ])('%j is %i bytes, like Buffer.byteLength', (s, bytes) => {
    expect(utf8Length(s)).toBe(bytes);
    expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
  });
});

describe('defaultSizeOf', () => {
  it.each<[string, unknown, number]>([
    ['string', 'hello', STRING_HEADER + 5],
    ['number', 42, 8],
    ['boolean', true, 4],
    ['null', null, 0],
    ['undefined', undefined, 0],
    ['Uint8Array', new Uint8Array(1024), TYPED_ARRAY_HEADER + 1024],
    ['Buffer', Buffer.alloc(100), TYPED_ARRAY_HEADER + 100],
    ['ArrayBuffer', new ArrayBuffer(64), ARRAY_BUFFER_HEADER + 64],
    ['empty object', {}, 24],
    ['empty array', [], 32],
  ])('%s', (_name, value, bytes) => {
    expect(defaultSizeOf(value)).toBe(bytes);
  });

  it('sums nested plain objects and arrays', () => {
    // 24 + (8 + 1 + 8) + (8 + 1 + (32 + 2*8 + 8 + (16+1)))
    expect(defaultSizeOf({ a: 1, b: [2, 'x'] })).toBe(24 + 17 + 9 + 32 + 16 + 8 + 17);
  });

  it('survives cycles and counts a shared object once', () => {
    const node: Record<string, unknown> = { v: 1 };
    node.self = node;
    expect(Number.isFinite(defaultSizeOf(node))).toBe(true);
    const shared = { big: 'x'.repeat(1000) };
    expect(defaultSizeOf([shared, shared])).toBeLessThan(2 * defaultSizeOf(shared));
  });

  it('grows with the payload of a stored record', () => {
    const small = defaultSizeOf({ bytes: new Uint8Array(10), flags: 0 });
    const large = defaultSizeOf({ bytes: new Uint8Array(10_010), flags: 0 });
    expect(large - small).toBe(10_000);
  });

  it('counts a fixed amount for other objects', () => {
    expect(defaultSizeOf(new Map([[1, 2]]))).toBe(64);
    expect(defaultSizeOf(() => 1)).toBe(64);
  });
});
