import { describe, expect, it } from 'vitest';
import { HintStore } from '../src/replication/hints.js';

const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';

function store(maxHints = 10, maxHintAge = 1000) {
  let now = 0;
  const fenced: [string, number, string][] = [];
  const hints = new HintStore({
    maxHints,
    maxHintAge,
    now: () => now,
    onFence: (target, dropped, why) => fenced.push([target, dropped, why]),
  });
  return { hints, fenced, advance: (ms: number) => (now += ms) };
}

describe('HintStore', () => {
  it('keeps one hint per key and target, folding repeated writes', () => {
    const { hints } = store();
    hints.add(A, 'k', false);
    hints.add(A, 'k', false);
    hints.add(B, 'k', true);
    expect(hints.stats).toEqual({
      hintsStored: 3,
      hintsReplayed: 0,
      hintsDropped: 0,
      hintsPending: 2,
    });
  });

  it('a key hinted again while a replay is out stays hinted', () => {
    const { hints } = store();
    hints.add(A, 'k', false);
    const sent = [...hints.targets()][0]![1].keys.get('k')!.generation;
    hints.add(A, 'k', false); // a newer write arrived meanwhile
    hints.delivered(A, 'k', sent);
    expect(hints.stats.hintsPending).toBe(1);
    hints.delivered(A, 'k', sent + 1);
    expect(hints.stats).toMatchObject({ hintsPending: 0, hintsReplayed: 1 });
    expect([...hints.targets()]).toEqual([]);
  });

  it('is a stand-in only while every write it held was one', () => {
    const { hints } = store();
    hints.add(A, 'k', true);
    hints.add(A, 'k', false);
    expect([...hints.targets()][0]![1].keys.get('k')!.standIn).toBe(false);
  });

  it('past maxHints, the target that overflows is fenced instead of replayed', () => {
    const { hints, fenced } = store(3);
    for (const key of ['a', 'b', 'c', 'd']) hints.add(A, key, false);
    expect(fenced).toEqual([[A, 3, 'overflow']]);
    expect(hints.stats).toMatchObject({ hintsPending: 0, hintsDropped: 4 });
    expect([...hints.targets()].map(([target, pending]) => [target, pending.fence])).toEqual([
      [A, true],
    ]);
    hints.add(A, 'e', false); // while a fence is due, more keys add nothing
    expect(hints.stats.hintsDropped).toBe(5);
    hints.fenced(A);
    expect([...hints.targets()]).toEqual([]);
  });

  it('hints older than maxHintAge become a fence', () => {
    const { hints, fenced, advance } = store(10, 1000);
    hints.add(A, 'old', false);
    advance(500);
    hints.add(B, 'young', false);
    advance(500);
    hints.expire();
    expect(fenced).toEqual([[A, 1, 'age']]);
    expect(hints.stats.hintsPending).toBe(1);
  });
});
