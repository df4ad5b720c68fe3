// A getAndTouch whose read is under way when the ring changes: the key had not moved when the call
// began (so it read and touched its replicas of the ring then), and has moved when the read
// answers. A replica of that ring which is no owner now is a previous owner of a transition window:
// a window read that misses on the new owners asks it, and a client still on the ring before asks
// it first. Touched by nobody (the background touch goes to members only), it would keep the copy
// under the old TTL and serve it past the shorter one the getAndTouch set.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { rawGet } from '../raw-node.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

const WRITE_TTL_MS = 600_000;
const TOUCH_TTL_MS = 800;

describe('a getAndTouch whose key moves while its read waits', () => {
  it('leaves the previous owner no copy under the old TTL', { timeout: 30_000 }, async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const [zero, one] = nemesis.urls as [string, string, string];
    // A window open for the whole test; a timeout the paused node's answer comes well within.
    const window = { maxWindowMs: 60_000, quietMs: 60_000 };
    const options = { replicas: 2, timeout: 5000, onBackgroundError: () => {} };
    const cache = fixture.keep(
      new DistributedCacheClient(nemesis.urls, { ...options, transition: window }),
    );
    // Node 0 its primary, node 1 its other replica: once node 1 leaves, a previous owner.
    let key = '';
    for (let i = 0; key === '' && i < 10_000; i++) {
      const [first, second] = cache.nodesFor(`gat-move:${i}`);
      if (first === zero && second === one) key = `gat-move:${i}`;
    }
    expect(key).not.toBe('');
    expect(await cache.set(key, 'v1', { ttl: WRITE_TTL_MS })).toBe(true);

    // The read goes to node 0 and waits there, node 0 paused, while node 1 leaves the ring.
    nemesis.pause(0);
    const touched = cache.getAndTouch(key, TOUCH_TTL_MS);
    expect(await cache.removeNode(one)).toBe(true);
    expect(cache.nodesFor(key)).not.toContain(one);
    nemesis.resume(0);
    expect(await touched).toBe('v1');

    // Node 1 still runs (a node scaled down keeps answering the window's fallback reads).
    const [status, , , , ttl] = await rawGet(one, key);
    const outlives = status === 200 && (ttl === null || (ttl as number) > TOUCH_TTL_MS);
    expect(
      outlives,
      `the previous owner kept its copy (status ${status}, ttl ${String(ttl)})`,
    ).toBe(false);

    // Past the new TTL, and still in the window: a miss on the new owners asks node 1.
    await sleep(TOUCH_TTL_MS + 400);
    expect(cache.getTransitionStats().open).toBe(true);
    expect(await cache.get(key), 'served past the new TTL by the previous owner').toBeUndefined();
    // A client still on the ring before the change has node 1 as an owner.
    const lagging = fixture.keep(new DistributedCacheClient(nemesis.urls, options));
    expect(
      await lagging.get(key),
      'served past the new TTL to a client on the earlier ring',
    ).toBeUndefined();
  });
});
