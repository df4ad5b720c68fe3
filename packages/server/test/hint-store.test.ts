import { describe, expect, it } from 'vitest';
import { HintStore, MAX_HINT_TARGETS } from '../src/replication/hints.js';

const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';

function store(maxHints = 10, maxHintAge = 1000, maxTargets?: number, maxFenceTargets?: number) {
  let now = 0;
  const fenced: [string, number, string][] = [];
  const forgotten: string[] = [];
  const standInsDropped: string[] = [];
  const droppedStamps: (number | undefined)[] = [];
  const droppedReaches: (number | undefined)[] = [];
  const hints = new HintStore({
    maxHints,
    maxHintAge,
    ...(maxTargets === undefined ? {} : { maxTargets }),
    ...(maxFenceTargets === undefined ? {} : { maxFenceTargets }),
    onFenceForgotten: (target) => forgotten.push(target),
    now: () => now,
    onFence: (target, dropped, why) => fenced.push([target, dropped, why]),
    dropStandIn: (key, stamp, reach) => {
      standInsDropped.push(key);
      droppedStamps.push(stamp);
      droppedReaches.push(reach);
    },
  });
  return {
    hints,
    fenced,
    standInsDropped,
    droppedStamps,
    droppedReaches,
    forgotten,
    advance: (ms: number) => (now += ms),
  };
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

  it('a hint the node cannot hand over fences its target, saying so', () => {
    const { hints, fenced } = store();
    hints.add(A, 'k', false);
    hints.fallBack(A);
    expect(fenced).toEqual([[A, 1, 'lost']]);
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
    // A fence sent now (the replayer reads what was asked before it sends) clears it.
    hints.fenced(A, [...hints.targets()][0]![1].fencesAsked);
    expect([...hints.targets()]).toEqual([]);
  });

  it('a fence answered after another was asked for leaves that one due', () => {
    const { hints } = store(1);
    hints.add(A, 'a', false);
    hints.add(A, 'b', false); // over maxHints: a fence is due
    const asked = [...hints.targets()][0]![1].fencesAsked;
    // While that fence is on the wire, a write is given up too: the fence may land before it.
    hints.add(A, 'c', false);
    const again = [...hints.targets()][0]![1].fencesAsked;
    hints.fenced(A, asked);
    expect([...hints.targets()].map(([target, pending]) => [target, pending.fence])).toEqual([
      [A, true],
    ]);
    hints.fenced(A, again);
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

  it('ages a target by the oldest key it still holds, not by one already delivered', () => {
    const { hints, fenced, advance } = store(10, 1000);
    hints.add(A, 'old', false);
    advance(900);
    hints.add(A, 'young', false); // hinted while 'old' is being replayed
    hints.delivered(A, 'old', 0);
    advance(100);
    hints.expire(); // 'young' is 100 ms old: nothing to fence
    expect(fenced).toEqual([]);
    expect(hints.stats.hintsPending).toBe(1);
    advance(900);
    hints.expire();
    expect(fenced).toEqual([[A, 1, 'age']]);
  });

  it('a fence drops the copies held only as a stand-in, whatever made it: lost, overflow, age', () => {
    const lost = store();
    lost.hints.add(A, 'stand-in', true);
    lost.hints.add(A, 'replica', false);
    lost.hints.fallBack(A);
    expect(lost.standInsDropped).toEqual(['stand-in']);

    const full = store(2);
    full.hints.add(A, 'a', true);
    full.hints.add(A, 'b', false);
    // Over maxHints: the hints held go, and their stand-in copies. The write that overflowed, and
    // those hinted while the fence is due, keep theirs: the same write's hint for its other
    // natural replica may be on its way, and that replay would need the copy.
    full.hints.add(A, 'c', true);
    full.hints.add(A, 'd', true);
    expect(full.standInsDropped).toEqual(['a']);

    const old = store(10, 1000);
    old.hints.add(A, 'k', true);
    old.advance(1000);
    old.hints.expire();
    expect(old.standInsDropped).toEqual(['k']);
  });

  it('names the stamp held at the latest stand-in hint of the key, for the copy to go only if unchanged', () => {
    const { hints, standInsDropped, droppedStamps } = store();
    hints.add(A, 'k', true, 5);
    hints.add(A, 'k', true, 7);
    hints.add(A, 'unheld', true);
    hints.fallBack(A);
    expect(standInsDropped).toEqual(['k', 'unheld']);
    expect(droppedStamps).toEqual([7, undefined]);
  });

  it('names the newest stand-in write its hints named, whatever order they came in', () => {
    const { hints, droppedStamps } = store();
    hints.add(A, 'k', true, 7);
    hints.add(A, 'k', true, 5);
    hints.add(A, 'k', true);
    hints.fallBack(A);
    expect(droppedStamps).toEqual([7]);
  });

  it("keeps a stand-in's copy another target's hint says it holds as a replica", () => {
    const { hints, standInsDropped } = store();
    hints.add(A, 'k', true);
    hints.add(B, 'k', false);
    hints.fallBack(A);
    expect(standInsDropped).toEqual([]);
  });

  it("keeps a stand-in's copy while another target's replay still needs it, then lets it go", () => {
    // Both natural replicas missed the write: the stand-in may hold its only copy.
    const { hints, standInsDropped } = store();
    hints.add(A, 'k', true);
    hints.add(B, 'k', true);
    hints.add(B, 'other', true);
    hints.fallBack(B); // B's hints become a fence: 'other' goes, 'k' stays for A's replay
    expect(standInsDropped).toEqual(['other']);
    expect([...hints.targets()].find(([target]) => target === A)![1].keys.has('k')).toBe(true);
    hints.delivered(A, 'k', 0);
    expect(standInsDropped).toEqual(['other']);
  });

  it("passes the write a delivered stand-in hint named on to another target's hint that still needs the copy", () => {
    // The write hinted for A, its touch for B (a touch's hint names no write).
    const { hints, droppedStamps } = store();
    hints.add(A, 'k', true, 7);
    hints.add(B, 'k', true);
    const onB = () => [...hints.targets()].find(([target]) => target === B)![1].keys.get('k');
    const replaying = onB()!.generation; // B's replay is out when A's is delivered
    hints.delivered(A, 'k', 0);
    hints.releaseStandIn(A, 'k', 7, 7);
    expect(droppedStamps).toEqual([]);
    expect(onB()!.stamp).toBe(7);
    // The replay out read the stamp before: it does not deliver the hint, the next one does.
    hints.delivered(B, 'k', replaying);
    expect(onB()).toBeDefined();
    hints.delivered(B, 'k', onB()!.generation);
    hints.releaseStandIn(B, 'k', 7, 7);
    expect(droppedStamps).toEqual([7]);
  });

  it('keeps the newest stamp any stand-in hint of the key named, for the copy to go no further', () => {
    // The write at 7 hinted for A; an incr at 9 for A and a touch at 8 for B, late.
    const { hints, droppedStamps, droppedReaches } = store();
    hints.add(A, 'k', true, 7, 7);
    hints.add(A, 'k', true, undefined, 9);
    hints.add(B, 'k', true, undefined, 8);
    // A's delivered first: B's hint takes the write and the reach over.
    const onA = [...hints.targets()].find(([target]) => target === A)![1].keys.get('k')!;
    expect([onA.stamp, onA.reach]).toEqual([7, 9]);
    hints.delivered(A, 'k', onA.generation);
    hints.releaseStandIn(A, 'k', 7, 9);
    expect(droppedStamps).toEqual([]);
    const onB = [...hints.targets()].find(([target]) => target === B)![1].keys.get('k')!;
    expect([onB.stamp, onB.reach]).toEqual([7, 9]);
    hints.fallBack(B);
    expect([droppedStamps, droppedReaches]).toEqual([[7], [9]]);
  });

  it('holds hints for at most maxTargets nodes: a new one past that is refused, not stored', () => {
    const { hints } = store(10, 1000, 2);
    const C = 'http://127.0.0.1:3';
    expect(hints.add(A, 'a', false)).toBe(true);
    expect(hints.add(B, 'b', false)).toBe(true);
    expect(hints.add(C, 'c', false)).toBe(false);
    // Targets already held still take keys.
    expect(hints.add(A, 'a2', false)).toBe(true);
    expect(hints.stats).toEqual({
      hintsStored: 3,
      hintsReplayed: 0,
      hintsDropped: 1,
      hintsPending: 3,
    });
    expect([...hints.targets()].map(([target]) => target)).toEqual([A, B]);
    // Once B's hints are delivered, its place is free.
    hints.delivered(B, 'b', 0);
    expect(hints.add(C, 'c', false)).toBe(true);
    expect([...hints.targets()].map(([target]) => target)).toEqual([A, C]);
  });

  it('a target whose hints turned into a fence holds no place among maxTargets', () => {
    // Nodes gone for good (pods back under new addresses) are never fenced: held among the
    // targets with keys, two of them would refuse every hint for a third node for good.
    const { hints, advance } = store(10, 1000, 2);
    const C = 'http://127.0.0.1:3';
    expect(hints.add(A, 'a', false)).toBe(true);
    expect(hints.add(B, 'b', false)).toBe(true);
    advance(1001);
    hints.expire();
    expect([...hints.targets()].map(([target, { fence }]) => [target, fence])).toEqual([
      [A, true],
      [B, true],
    ]);
    expect(hints.add(C, 'c', false)).toBe(true);
    // Fence-only targets still take hints (folded into their fence), and C is held with keys.
    expect(hints.add(A, 'a2', false)).toBe(true);
    expect(hints.add('http://127.0.0.1:4', 'd', false)).toBe(true);
    expect(hints.add('http://127.0.0.1:5', 'e', false)).toBe(false);
    // B answered its fence: it is forgotten.
    hints.fenced(B, [...hints.targets()].find(([target]) => target === B)![1].fencesAsked);
    expect([...hints.targets()].map(([target]) => target)).toEqual([A, C, 'http://127.0.0.1:4']);
  });

  it('holds at most maxFenceTargets fence-only targets, forgetting the one fenced longest ago', () => {
    const { hints, advance, forgotten } = store(100, 1000, 10, 2);
    const C = 'http://127.0.0.1:3';
    const D = 'http://127.0.0.1:4';
    for (const target of [A, B]) hints.add(target, 'k', false);
    advance(1001);
    hints.expire(); // A and B fence-only, A first
    hints.add(A, 'k2', false); // A missed another write: it becomes the last to forget
    hints.add(C, 'k', false);
    hints.fallBack(C); // a third fence-only target: B, fenced longest ago, goes
    expect(forgotten).toEqual([B]);
    expect([...hints.targets()].map(([target]) => target)).toEqual([A, C]);
    hints.add(D, 'k', false);
    hints.fallBack(D);
    expect(forgotten).toEqual([B, A]);
    expect([...hints.targets()].map(([target]) => target)).toEqual([C, D]);
    // Forgotten, a target is a new one: its next hint is kept with keys.
    expect(hints.add(B, 'k3', false)).toBe(true);
    expect([...hints.targets()].find(([target]) => target === B)![1]).toMatchObject({
      fence: false,
    });
  });

  it('a fence answered for a target since forgotten and fenced again leaves the new fence due', () => {
    const { hints, advance } = store(100, 1000, 10, 1);
    hints.add(A, 'k', false);
    advance(1001);
    hints.expire();
    // A replay round reads A's fence and sends it; meanwhile B's fence makes A forgotten, and
    // A, written around again, is held anew and fenced again.
    const onTheWire = [...hints.targets()][0]![1].fencesAsked;
    hints.add(B, 'k', false);
    hints.fallBack(B);
    hints.add(A, 'k', false);
    hints.fallBack(A);
    // The first fence lands: it came before the write A missed since, so A still owes one.
    hints.fenced(A, onTheWire);
    expect(
      [...hints.targets()].filter(([target, { fence }]) => target === A && fence),
    ).toHaveLength(1);
  });

  it('holds MAX_HINT_TARGETS targets by default', () => {
    const { hints } = store(1000);
    const accepted = Array.from({ length: MAX_HINT_TARGETS + 5 }, (_, i) =>
      hints.add(`http://127.0.0.1:${i + 1}`, 'k', false),
    );
    expect(accepted.filter(Boolean)).toHaveLength(MAX_HINT_TARGETS);
    expect(accepted.slice(MAX_HINT_TARGETS)).toEqual([false, false, false, false, false]);
  });
});
