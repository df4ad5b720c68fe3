// A node counts a client-stamped incr only above the write its count starts from (one at or below
// it was issued before that write: late-incr.test.ts). A client whose clock lags the write's —
// another writer's clock ahead, within the nodes' maxClockSkew — has its incr answered so even
// though it began after the write ended: when no replica counted it is sent again above the stamp
// that stands, as a set is (even one further ahead than this client's clock takes). When one
// replica counted, it is not: it would count twice there.
import { stampAt } from '@dcache/core';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import type { BatchResult } from '../src/wire.js';
import { rawBatch, rawGet } from './raw-node.js';
import { useNemesis } from './faults/use-nemesis.js';

const fixture = useNemesis();

/**
 * How far the other writer's clock is ahead: allowed by a wider --max-clock-skew than the CLI's
 * 500 ms, so a loaded machine's slow start does not let this client's clock catch up first.
 */
const AHEAD_MS = 20_000;
const SKEW_ALLOWED = ['--max-clock-skew', '60000'];

/** Decimal text, as a counter is stored (flags 0). */
const digits = (value: number) => new TextEncoder().encode(String(value));
const counterIn = (result: BatchResult) => new TextDecoder().decode(result[1] as Uint8Array).trim();

describe('an incr from a client whose clock lags the write it finds', () => {
  it('is sent again above it when every replica answered so, and counts once', async () => {
    const nemesis = await fixture.start({ nodes: 2, args: SKEW_ALLOWED });
    const urls = nemesis.urls;
    const cache = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
    // Written by a clock ahead of this client's (within the nodes' maxClockSkew).
    const ahead = stampAt(Date.now() + AHEAD_MS);
    for (const url of urls) {
      await rawBatch(url, [['copy', 'n', digits(10), 0, 600_000, ahead, 'repair']]);
    }

    expect(await cache.incr('n', 1)).toBe(11);
    const held = await Promise.all(urls.map((url) => rawGet(url, 'n')));
    expect(held.map(counterIn)).toEqual(['11', '11']);
    expect(held[0]![5]).toBeGreaterThan(ahead);
    expect(cache.getReplicationStats().restampedWrites).toBeGreaterThan(0);
  });

  it('is not sent again once a replica counted it', async () => {
    const nemesis = await fixture.start({ nodes: 2, args: SKEW_ALLOWED });
    const urls = nemesis.urls;
    const cache = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
    const [primary, replica] = cache.nodesFor('n') as [string, string];
    // The primary holds an older write; the other replica a newer one, from a clock ahead.
    await rawBatch(primary, [['copy', 'n', digits(10), 0, 600_000, stampAt(Date.now()), 'repair']]);
    const ahead = stampAt(Date.now() + AHEAD_MS);
    await rawBatch(replica, [['copy', 'n', digits(20), 0, 600_000, ahead, 'repair']]);

    expect(await cache.incr('n', 1)).toBe(11);
    expect(counterIn(await rawGet(primary, 'n'))).toBe('11');
    // Counted nothing there, and not sent again: the newer write stands as it was.
    const onReplica = await rawGet(replica, 'n');
    expect(counterIn(onReplica)).toBe('20');
    expect(onReplica[5]).toBe(ahead);
    expect(cache.getReplicationStats().restampedWrites).toBe(0);
  });

  it('with initial, after a delete stamped ahead of it, is sent again above the delete and creates the counter', async () => {
    const nemesis = await fixture.start({ nodes: 2, args: SKEW_ALLOWED });
    const urls = nemesis.urls;
    const cache = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
    // Deleted by a clock ahead of this client's: its seeded incr, stamped below the tombstone, is
    // taken as issued before the delete and creates nothing, until sent above it.
    const ahead = stampAt(Date.now() + AHEAD_MS);
    for (const url of urls) await rawBatch(url, [['bury', 'n', ahead, 'repair']]);

    expect(await cache.incr('n', 1, { initial: 5 })).toBe(5);
    const held = await Promise.all(urls.map((url) => rawGet(url, 'n')));
    expect(held.map(counterIn)).toEqual(['5', '5']);
    expect(held[0]![5]).toBeGreaterThan(ahead);
    expect(cache.getReplicationStats().restampedWrites).toBeGreaterThan(0);
  });
});
