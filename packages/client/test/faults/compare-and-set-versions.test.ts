// A node's version is its own counter. A getVersioned that failed over while the primary was
// paused read the key from the next replica; should the primary later give that replica's version
// number to another write of the key, a compare-and-set naming that number would pass there and
// overwrite it. The client's versions name the write (its fingerprint), not a node's number.
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFingerprint } from '@dcache/core';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { rawGet } from '../raw-node.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

describe("compareAndSet's version", () => {
  it(
    'read from a replica while the primary was paused, fails once another process changed the key, whatever number the primary gave that write',
    { timeout: 120_000 },
    async () => {
      const nemesis = await fixture.start({ nodes: 3 });
      const urls = nemesis.urls;
      const cache = fixture.keep(
        new DistributedCacheClient(urls, {
          replicas: 2,
          timeout: 300,
          onBackgroundError: () => {},
        }),
      );
      const keyOn = (first: string, second: string | undefined, prefix: string): string => {
        for (let i = 0; i < 10_000; i++) {
          const [a, b] = cache.nodesFor(`${prefix}${i}`);
          if (a === first && (second === undefined || b === second)) return `${prefix}${i}`;
        }
        throw new Error(`no key on ${first}, ${second}`);
      };
      // Versions start from each node's start time (×1000): P, the primary, is the node whose
      // counter is behind another's, B, by the least; C is the third.
      const counterOf = async (node: number): Promise<number> => {
        const probe = keyOn(urls[node]!, undefined, `probe${node}:`);
        expect(await cache.set(probe, 0)).toBe(true);
        return (await rawGet(urls[node]!, probe))[3] as number;
      };
      const counters = [await counterOf(0), await counterOf(1), await counterOf(2)];
      const order = [0, 1, 2].sort((x, y) => counters[x]! - counters[y]!);
      const [p, b] =
        counters[order[1]!]! - counters[order[0]!]! < counters[order[2]!]! - counters[order[1]!]!
          ? [order[0]!, order[1]!]
          : [order[1]!, order[2]!];
      const c = 3 - p - b;
      const key = keyOn(urls[p]!, urls[b]!, 'cas:');
      expect(await cache.set(key, 'v0')).toBe(true);

      nemesis.pause(p);
      const read = await cache.getVersioned<string>(key);
      nemesis.resume(p);
      await sleep(1000);
      expect(read?.value).toBe('v0');
      // The number the replica the read came from holds the write under: the one to collide with.
      const stale = (await rawGet(urls[b]!, key))[3] as number;

      // More traffic on the primary (other keys), then another process overwrites the key: the
      // primary numbers that write with the replica's number. Versions start from each node's
      // start time (×1000), so the counters of nodes started apart are thousands apart.
      const onNode0 = (i: number): string => keyOn(urls[p]!, urls[c]!, `a${i}:`);
      const counter = async (i: number): Promise<number> => {
        const probe = onNode0(i);
        expect(await cache.set(probe, 0)).toBe(true);
        return (await rawGet(urls[p]!, probe))[3] as number;
      };
      const bulk = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
      const other = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
      // Its clock past the key's stamp: one send, no re-stamp (which would number it twice).
      expect(await other.get(key)).toBe('v0');
      let next = 0;
      let behind = stale - (await counter(next++));
      expect(behind).toBeGreaterThan(0);
      expect(behind).toBeLessThan(1_000_000);
      // Each round writes at most behind − 2 keys on the primary, then probes (one more): the
      // counter ends exactly one below the stale number, so the next write there is numbered so.
      while (behind > 1) {
        const onPrimary = Math.min(behind - 2, 500);
        const entries: [string, number][] = [];
        for (let i = 0; entries.length < onPrimary; i++) {
          const bulkKey = `bulk${next}:${i}`;
          if (cache.nodesFor(bulkKey).includes(urls[p]!)) entries.push([bulkKey, 0]);
        }
        if (entries.length > 0) expect(await bulk.setMany(entries)).toBe(true);
        behind = stale - (await counter(next++));
      }
      expect(await other.set(key, 'theirs')).toBe(true);
      expect((await rawGet(urls[p]!, key))[3]).toBe(stale);

      expect(await cache.compareAndSet(key, 'mine', read!.version)).toBe(false);
      expect(await cache.get(key)).toBe('theirs');
    },
  );

  it('names the write on every replica alike, and a touch since the read is a change', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const cache = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
    expect(await cache.set('k', { n: 1 })).toBe(true);
    const read = await cache.getVersioned<{ n: number }>('k');
    expect(read?.value).toEqual({ n: 1 });
    // Each replica numbers the write itself (nodes started in the same millisecond may number it
    // alike); the version is none of those numbers but the fingerprint of what each holds.
    const held = await Promise.all(cache.nodesFor('k').map((url) => rawGet(url, 'k')));
    expect(held.map((entry) => entry[3])).not.toContain(read!.version);
    for (const [, bytes, flags, , , stamp] of held) {
      expect(writeFingerprint(stamp as number, flags as number, bytes as Uint8Array)).toBe(
        read!.version,
      );
    }
    expect(await cache.touch('k', 60_000)).toBe(true);
    expect(await cache.compareAndSet('k', { n: 2 }, read!.version)).toBe(false);
    const again = await cache.getVersioned<{ n: number }>('k');
    expect(again?.version).not.toBe(read!.version);
    expect(await cache.compareAndSet('k', { n: 2 }, again!.version)).toBe(true);
    expect(await cache.compareAndSet('k', { n: 3 }, again!.version)).toBe(false);
    expect(await cache.get('k')).toEqual({ n: 2 });
  });
});
