import { HashRing } from '@dcache/ring';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeClient } from './node-client.js';
import { MAX_PREVIOUS_RINGS, Transition } from './transition.js';
import type { TransitionEvent } from './transition.js';

/** Stands in for a NodeClient: the window only reads `url` and calls `close()`. */
function node(url: string): NodeClient & { closed: boolean } {
  const fake = {
    url,
    closed: false,
    close() {
      fake.closed = true;
    },
  };
  return fake as unknown as NodeClient & { closed: boolean };
}

function ring(...urls: string[]): HashRing {
  const result = new HashRing([], { vnodes: 50 });
  for (const url of urls) result.add(url, 1);
  return result;
}

const windows: Transition[] = [];
afterEach(() => {
  for (const window of windows.splice(0)) window.stop();
});

function transition(
  members: readonly NodeClient[],
  options = { maxWindowMs: 1000, quietMs: 100 },
): { window: Transition; events: TransitionEvent[]; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const events: TransitionEvent[] = [];
  const window = new Transition({
    options,
    onTransition: (event) => events.push(event),
    member: (url) => members.find((member) => member.url === url),
    now: () => clock.now,
  });
  windows.push(window);
  return { window, events, clock };
}

describe('Transition', () => {
  const a = node('http://a:1');
  const b = node('http://b:1');
  const c = node('http://c:1');

  it('is closed until a change, and closed it names no previous owner', () => {
    const { window } = transition([a, b]);
    expect(window.open).toBe(false);
    expect(window.previousOwners('k', ['http://a:1'])).toStrictEqual([]);
  });

  it("names a key's previous owners that are not its owners now, members or kept removed nodes", () => {
    const { window, events } = transition([a, b]);
    const leaving = node('http://c:1');
    window.changed(ring(a.url, b.url, c.url), 3, [], [leaving]);
    expect(events).toMatchObject([{ phase: 'open', added: [], removed: [c.url] }]);
    // With 3 replicas before, every node was an owner: all but the ones now are previous.
    expect(window.previousOwners('k', [a.url])).toStrictEqual([b, leaving]);
    expect(window.keeps(leaving)).toBe(true);
    expect(window.keptNodes).toStrictEqual([leaving]);
  });

  it('chains a second change: the rings before both are asked, newest first, no node twice', () => {
    const { window } = transition([a, b, c]);
    window.changed(ring(a.url), 1, [b.url], []);
    window.changed(ring(b.url), 1, [c.url], []);
    expect(window.previousOwners('k', [c.url])).toStrictEqual([b, a]);
    expect(window.snapshot().transitions).toBe(1);
  });

  it("names a moved key's owners in the earlier rings, its owners now included, and none for a key that did not move", () => {
    const { window } = transition([a, b, c]);
    expect(window.ownersBeforeMove('k', [a.url])).toStrictEqual([]);
    window.changed(ring(a.url, b.url), 2, [c.url], []);
    window.changed(ring(b.url, c.url), 2, [], []);
    // Owners a, c now: the ring of b and c moved it (b, c), the ring of a and b too (a, b).
    expect(window.ownersBeforeMove('k', [a.url, c.url])).toStrictEqual([b.url, c.url, a.url]);
    // Owners b, c now: the ring of b and c held it the same; the one before did not.
    expect(window.ownersBeforeMove('k', [c.url, b.url])).toStrictEqual([a.url, b.url]);
    window.close('max-window');
    expect(window.ownersBeforeMove('k', [a.url])).toStrictEqual([]);
  });

  it(`keeps at most ${MAX_PREVIOUS_RINGS} earlier rings however often the ring changes`, () => {
    const { window } = transition([a, b, c]);
    window.changed(ring(a.url), 1, [b.url], []);
    for (let i = 0; i < MAX_PREVIOUS_RINGS; i++) window.changed(ring(b.url), 1, [], []);
    // The ring with only a in it was the first: dropped.
    expect(window.previousOwners('k', [c.url])).toStrictEqual([b]);
  });

  it('with minWindowMs (DNS discovery), quiet waits for it after the last change', () => {
    const clock = { now: 1_000_000 };
    const window = new Transition({
      options: { maxWindowMs: 10_000, quietMs: 100 },
      onTransition: () => undefined,
      member: () => undefined,
      now: () => clock.now,
      minWindowMs: 1000,
    });
    windows.push(window);
    window.changed(ring(a.url), 1, [b.url], []);
    window.checked(false);
    clock.now += 999;
    window.check();
    expect(window.open).toBe(true); // quiet long since, but a client may still be on the old ring
    clock.now += 1;
    window.check();
    expect(window.snapshot()).toMatchObject({ open: false, lastCloseReason: 'quiet' });
  });

  it('passes over a distrusted node until the window closes', () => {
    const { window } = transition([a, b]);
    window.changed(ring(a.url), 1, [b.url], []);
    window.distrust(a);
    expect(window.previousOwners('k', [b.url])).toStrictEqual([]);
    window.close('quiet');
    window.changed(ring(a.url), 1, [b.url], []);
    expect(window.previousOwners('k', [b.url])).toStrictEqual([a]);
  });

  it('stays open for an idle client (no fallback read) until maxWindowMs', () => {
    const { window, events, clock } = transition([a, b]);
    window.changed(ring(a.url), 1, [b.url], []);
    for (let i = 0; i < 9; i++) {
      clock.now += 100;
      window.check();
    }
    expect(window.open).toBe(true); // quietMs passed nine times over: nobody has read yet
    clock.now += 100;
    window.check();
    expect(events.at(-1)).toMatchObject({
      phase: 'close',
      reason: 'max-window',
      stats: { fallbackReads: 0, fallbackHits: 0 },
    });
  });

  it('goes quiet quietMs after the first fallback read since the change, however late it comes', () => {
    const { window, events, clock } = transition([a, b]);
    window.changed(ring(a.url), 1, [b.url], []);
    clock.now += 500; // idle for longer than quietMs
    window.check();
    window.checked(false); // the first read after it: a key that moved but was never written
    window.check();
    expect(window.open).toBe(true);
    clock.now += 99;
    window.check();
    expect(window.open).toBe(true);
    clock.now += 1;
    window.check();
    expect(events.at(-1)).toMatchObject({
      phase: 'close',
      reason: 'quiet',
      stats: { fallbackReads: 1, fallbackHits: 0 },
    });
  });

  it('waits for a read again after a second change: its keys have not been read yet', () => {
    const { window, clock } = transition([a, b, c], { maxWindowMs: 10_000, quietMs: 100 });
    window.changed(ring(a.url), 1, [b.url], []);
    window.checked(true);
    clock.now += 50;
    window.changed(ring(a.url, b.url), 1, [c.url], []);
    clock.now += 500;
    window.check();
    expect(window.open).toBe(true);
    window.checked(false);
    clock.now += 100;
    window.check();
    expect(window.snapshot()).toMatchObject({ open: false, lastCloseReason: 'quiet' });
  });

  it('goes quiet quietMs after the last hit', () => {
    const { window, events, clock } = transition([a, b]);
    window.changed(ring(a.url), 1, [b.url], []);
    clock.now += 50;
    window.checked(true);
    clock.now += 99;
    window.check();
    expect(window.open).toBe(true);
    window.checked(false);
    clock.now += 1;
    window.check();
    expect(window.open).toBe(false);
    expect(events.at(-1)).toMatchObject({
      phase: 'close',
      reason: 'quiet',
      added: [b.url],
      stats: { open: false, fallbackReads: 2, fallbackHits: 1, lastCloseReason: 'quiet' },
    });
  });

  it('closes at maxWindowMs after the last change, hits or not, and closes the kept nodes', () => {
    const { window, events, clock } = transition([a], { maxWindowMs: 1000, quietMs: 100 });
    const leaving = node('http://b:1');
    window.changed(ring(a.url, leaving.url), 1, [], [leaving]);
    clock.now += 600;
    window.changed(ring(a.url, leaving.url), 1, [], []); // a second change restarts the maximum
    for (let i = 0; i < 9; i++) {
      clock.now += 99;
      window.checked(true);
      window.check();
    }
    expect(window.open).toBe(true);
    expect(leaving.closed).toBe(false);
    clock.now += 200;
    window.check();
    expect(window.open).toBe(false);
    expect(leaving.closed).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: 'close', reason: 'max-window' });
    expect(window.snapshot()).toMatchObject({ open: false, openedAt: null, transitions: 1 });
  });

  it('forgets a ring maxWindowMs after its change while later changes keep the window open, closing the node it removed', () => {
    const { window, clock } = transition([a], { maxWindowMs: 1000, quietMs: 60_000 });
    const leaving = node('http://b:1');
    const flapping = node('http://c:1');
    window.changed(ring(a.url, leaving.url), 1, [], [leaving]);
    // A record set that keeps flapping: a change every 300 ms, for longer than maxWindowMs.
    for (let i = 0; i < 5; i++) {
      clock.now += 300;
      window.changed(ring(a.url), 1, i % 2 === 0 ? [flapping.url] : [], []);
      window.check();
    }
    expect(window.open).toBe(true);
    expect(leaving.closed).toBe(true);
    expect(window.keptNodes).toStrictEqual([]);
    expect(window.previousOwners('k', [])).toStrictEqual([a]);
  });

  it('closes the first node client of a URL removed, added back and removed again', () => {
    const members: NodeClient[] = [a];
    const { window } = transition(members);
    const first = node('http://b:1');
    const second = node('http://b:1');
    window.changed(ring(a.url, first.url), 1, [], [first]);
    window.changed(ring(a.url), 1, [second.url], []);
    window.changed(ring(a.url, second.url), 1, [], [second]);
    expect(first.closed).toBe(true);
    expect(window.keptNodes).toStrictEqual([second]);
    window.close('quiet');
    expect(second.closed).toBe(true);
  });

  it('does not close a kept node that was added back meanwhile', () => {
    const back = node('http://b:1');
    const members: NodeClient[] = [a];
    const { window } = transition(members);
    window.changed(ring(a.url, back.url), 1, [], [back]);
    members.push(back);
    window.close('flush');
    expect(back.closed).toBe(false);
  });

  it('ends an open window when the client closes, with no event, closing the kept nodes', () => {
    const { window, events } = transition([a], { maxWindowMs: 60_000, quietMs: 60_000 });
    const leaving = node('http://b:1');
    window.changed(ring(a.url, leaving.url), 1, [], [leaving]);
    expect(window.snapshot()).toMatchObject({ open: true, lastCloseReason: null });
    window.stop();
    expect(window.snapshot()).toMatchObject({
      open: false,
      openedAt: null,
      transitions: 1,
      lastCloseReason: 'client-closed',
    });
    expect(leaving.closed).toBe(true);
    expect(window.keptNodes).toStrictEqual([]);
    expect(window.previousOwners('k', [])).toStrictEqual([]);
    expect(events.map((event) => event.phase)).toStrictEqual(['open']);
  });

  it('is off with maxWindowMs 0: a change opens nothing', () => {
    const { window, events } = transition([a, b], { maxWindowMs: 0, quietMs: 100 });
    window.changed(ring(a.url), 1, [b.url], []);
    expect(window.open).toBe(false);
    expect(events).toStrictEqual([]);
  });
});
