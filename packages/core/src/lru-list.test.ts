import { describe, expect, it } from 'vitest';
import { LruList } from './lru-list.js';

function order(list: LruList): number[] {
  const out: number[] = [];
  for (let s = list.head; s !== -1; s = list.nextOf(s)) out.push(s);
  return out;
}

describe('LruList', () => {
  it('starts small and grows by doubling up to maxSlots', () => {
    const list = new LruList(100);
    expect(list.capacity).toBe(16);
    const capacities = new Set<number>();
    for (let i = 0; i < 100; i++) {
      list.pushHead(list.allocate());
      capacities.add(list.capacity);
    }
    expect([...capacities]).toEqual([16, 32, 64, 100]);
    expect(order(list)).toHaveLength(100);
  });

  it('keeps order through moves and reuses released slots first', () => {
    const list = new LruList(10);
    const [a, b, c] = [list.allocate(), list.allocate(), list.allocate()];
    for (const s of [a, b, c]) list.pushHead(s!);
    expect(order(list)).toEqual([c, b, a]);
    list.moveToHead(a!);
    expect(order(list)).toEqual([a, c, b]);
    expect(list.tail).toBe(b);
    list.release(c!);
    expect(order(list)).toEqual([a, b]);
    expect(list.allocate()).toBe(c);
    list.release(a!);
    list.release(b!);
    expect([list.head, list.tail]).toEqual([-1, -1]);
  });
});
