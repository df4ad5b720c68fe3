import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyIndex, NONE, keyHash } from './key-index.js';
import { collidingKeys, targetHomedLast } from './test-colliding-keys.js';

/** A key index over slots handed out like the slot store does: lowest free slot first. */
function indexed(seed: number) {
  const index = new KeyIndex(4, seed);
  let capacity = 4;
  const free: number[] = [];
  let used = 0;
  const model = new Map<string, number>();
  return {
    index,
    model,
    insert(key: string): void {
      const slot = free.pop() ?? used++;
      if (slot >= capacity) index.grow((capacity *= 2));
      index.insert(key, slot);
      model.set(key, slot);
    },
    remove(key: string): void {
      const slot = model.get(key)!;
      expect(index.remove(slot)).toBe(key);
      model.delete(key);
      free.push(slot);
    },
  };
}

describe('KeyIndex', () => {
  it('finds every key it holds and none it does not, through inserts, removals and growth', () => {
    const key = fc.integer({ min: 0, max: 300 }).map((n) => `k${n}`);
    fc.assert(
      fc.property(fc.integer(), fc.array(key, { maxLength: 600 }), (seed, keys) => {
        const t = indexed(seed);
        for (const k of keys) {
          // Present: remove it (exercising the backward shift); absent: insert it.
          if (t.model.has(k)) t.remove(k);
          else t.insert(k);
          expect(t.index.size).toBe(t.model.size);
        }
        for (const [k, slot] of t.model) expect(t.index.slotOf(k)).toBe(slot);
        for (let n = 0; n <= 300; n++) {
          if (!t.model.has(`k${n}`)) expect(t.index.slotOf(`k${n}`)).toBe(NONE);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('finds every key through inserts and removals when keys share all 32 hash bits (same tag, same home at every size) and runs wrap past the last cell', () => {
    const seed = 42;
    const pool = [
      ...collidingKeys(seed, 24),
      // Homed at the last cell of a 32- and a 64-cell table: their run wraps to the first cells.
      ...collidingKeys(seed, 12, 6, targetHomedLast(seed, 6)),
      ...Array.from({ length: 24 }, (_, n) => `k${n}`),
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pool), { maxLength: 800 }), (keys) => {
        const t = indexed(seed);
        for (const k of keys) {
          if (t.model.has(k)) t.remove(k);
          else t.insert(k);
          expect(t.index.size).toBe(t.model.size);
        }
        for (const k of pool) expect(t.index.slotOf(k)).toBe(t.model.get(k) ?? NONE);
      }),
      { numRuns: 200 },
    );
  });

  it('keys built to collide under one seed spread out under another', () => {
    const keys = collidingKeys(42, 64);
    expect(new Set(keys.map((k) => keyHash(k, 42))).size).toBe(1);
    // 64 random 32-bit hashes: a repeat has probability ~5e-7.
    expect(new Set(keys.map((k) => keyHash(k, 43))).size).toBe(64);
    expect(new Set(keys.map((k) => keyHash(k, 0x7fff_ffff) & 63)).size).toBeGreaterThan(20);
  });

  it('tells apart keys that differ in one unit, in length, or beyond Latin-1', () => {
    const t = indexed(1);
    const keys = [
      '',
      'a',
      'b',
      'ab',
      'ba',
      'a\0',
      '\0a',
      'é',
      'e\u0301',
      '’',
      '😀',
      'x'.repeat(300),
    ];
    for (const k of keys) t.insert(k);
    for (const k of keys) expect(t.index.slotOf(k)).toBe(t.model.get(k));
    expect(t.index.slotOf('x'.repeat(299))).toBe(NONE);
  });

  it('clear forgets every key', () => {
    const t = indexed(7);
    for (let n = 0; n < 100; n++) t.insert(`k${n}`);
    t.index.clear(4);
    expect(t.index.size).toBe(0);
    expect(t.index.slotOf('k1')).toBe(NONE);
    t.index.insert('k1', 0);
    expect(t.index.slotOf('k1')).toBe(0);
  });
});
