import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';
import {
  ARRAY_BUFFER_HEADER,
  STRING_HEADER,
  TYPED_ARRAY_HEADER,
  defaultSizeOf,
  heapStringBytes,
} from './size-of.js';

describe('heapStringBytes', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 1], // Latin-1: still a one-byte string
    ['café'.repeat(20), 80],
    ['€', 2],
    ['😀', 4], // a surrogate pair: two UTF-16 units
    ['\ud800', 2],
    // One character beyond Latin-1 makes V8 store the whole string at two bytes per character.
    ['x'.repeat(100) + '’', 202],
    ['日本語', 6],
  ])('%j holds %i bytes of characters', (s, bytes) => {
    expect(heapStringBytes(s)).toBe(bytes);
  });

  it('counts a mostly-ASCII text with one curly quote at its real two bytes per character', () => {
    const text = 'a'.repeat(10_000) + '’';
    expect(heapStringBytes(text)).toBe(2 * text.length);
    // UTF-8, the measure before, would have said 10 003 bytes: half of what V8 holds.
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThan(heapStringBytes(text) / 1.9);
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

  it('counts a Buffer, ArrayBuffer or other object held twice in one value once', () => {
    const buf = Buffer.alloc(10_000);
    // One Buffer behind two properties: V8 holds its bytes once.
    expect(defaultSizeOf({ raw: buf, body: buf })).toBe(
      24 + (8 + 3) + (8 + 4) + TYPED_ARRAY_HEADER + 10_000,
    );
    expect(defaultSizeOf([buf, buf, buf])).toBe(32 + 3 * 8 + TYPED_ARRAY_HEADER + 10_000);
    const ab = new ArrayBuffer(5_000);
    expect(defaultSizeOf([ab, ab])).toBe(32 + 2 * 8 + ARRAY_BUFFER_HEADER + 5_000);
    const date = new Date(0);
    const fn = () => 1;
    expect(defaultSizeOf([date, date, fn, fn])).toBe(32 + 4 * 8 + 64 + 64);
  });

  it('a value holding one Buffer twice fits where the Buffer alone fits', () => {
    const buf = Buffer.alloc(10_000);
    const cache = new LruCache<unknown>({ maxMemory: 12_000 });
    expect(cache.set('k', { raw: buf, body: buf })).toBeGreaterThan(0);
    expect(cache.memoryUsed).toBeLessThan(12_000);
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
