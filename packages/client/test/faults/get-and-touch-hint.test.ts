// A getAndTouch while one of the key's natural replicas is cut off and marked down: the replica
// that answers touches the key, the rest are touched after it, and the one marked down must learn
// of the touch once it is back, as it would of a plain touch (a hint, replayed), or it serves the
// value under the TTL it held before. Cut off by a partition, or paused for less than its
// `--stall-threshold` (a pause longer than that fences the node itself: its reads are then checked
// against a peer anyway).
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import type { Nemesis } from './nemesis.js';
import { eventually, nodeStats, statNamed } from './node-http.js';
import { SETTLE_MS } from './scenario.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

/** The new, shorter TTL the getAndTouch sets; past it the key must be gone everywhere. */
const TOUCH_TTL_MS = 1500;
const WRITE_TTL_MS = 60_000;

/** The faults that take node 0 away unnoticed by itself, and how each ends. */
const FAULTS = {
  partition: {
    cut: (nemesis: Nemesis) => nemesis.partition(0),
    end: (nemesis: Nemesis) => nemesis.heal(0),
  },
  pause: {
    cut: (nemesis: Nemesis) => nemesis.pause(0),
    end: (nemesis: Nemesis) => nemesis.resume(0),
  },
};

describe('a getAndTouch while a natural replica is marked down', () => {
  it.each(Object.keys(FAULTS) as (keyof typeof FAULTS)[])(
    '(%s) reaches that replica once it is back: its value goes with the new TTL',
    async (fault) => {
      const { cut, end } = FAULTS[fault];
      const nemesis = await fixture.start({ nodes: 3 });
      const urls = nemesis.urls;
      const zero = urls[0]!;
      const options = {
        replicas: 2,
        failureThreshold: 1,
        timeout: 500,
        onBackgroundError: () => {},
      };
      const toucher = fixture.keep(new DistributedCacheClient(urls, options));
      const key = keyWithPrimary(toucher, zero, 'gat-down:');
      const markKey = keyWithPrimary(toucher, zero, 'mark:');
      expect(await toucher.set(key, 'v1', { ttl: WRITE_TTL_MS })).toBe(true);

      // A read, not a write, marks node 0 down (failureThreshold 1): a write it missed would be
      // hinted and node 0 fenced on its return, which would hide what the getAndTouch left.
      // A read that times out only because it waited for a connection behind another exchange
      // with node 0 still out says nothing of node 0 (NodeTimeoutError.waitedForConnection), so
      // it reads until one has counted.
      const cutOff = async (): Promise<void> => {
        cut(nemesis);
        const markedDown = async (): Promise<boolean> => {
          expect(await toucher.get(markKey)).toBeUndefined();
          return !toucher.nodesFor(key).includes(zero);
        };
        expect(await eventually(markedDown, 5000)).toBe(true);
      };
      const healed = async (): Promise<void> => {
        end(nemesis);
        expect(await eventually(async () => toucher.nodesFor(key)[0] === zero, 10_000)).toBe(true);
      };
      // A first cut, with nothing missed: node 0's return is restored from the other replicas, once
      // per node start. The second return, that of a network that flaps, is not: a restore would
      // have copied node 0 the touched entry, whatever the getAndTouch left.
      await cutOff();
      await healed();
      expect(
        await eventually(async () => toucher.getReplicationStats().restoresRun === 1, 10_000),
      ).toBe(true);
      // Counted as it starts: it is over once node 0 took its claim's end (a restore still copying
      // as node 0 is cut again would be ended by the cut, and run again at the next return).
      expect(
        await eventually(async () => (statNamed(await nodeStats(zero), 'claim') ?? 0) >= 2, 10_000),
      ).toBe(true);

      await cutOff();
      expect(await toucher.getAndTouch(key, TOUCH_TTL_MS)).toBe('v1');
      const touchedAt = Date.now();

      await healed();
      await sleep(Math.max(SETTLE_MS, touchedAt + TOUCH_TTL_MS + 500 - Date.now()));

      // Node 0 is the key's primary: a client that saw no fault reads it there first.
      const reader = fixture.keep(new DistributedCacheClient(urls, { replicas: 2, timeout: 2000 }));
      expect(
        await reader.get(key),
        'served past the TTL the getAndTouch set, by the replica that was marked down',
      ).toBeUndefined();
    },
    30_000,
  );
});
