// A getAndTouch restamps the key on every replica: the node that answers the read touches it as it
// reads it, and the replicas after it are sent a touch. A compareAndSet's version is the
// fingerprint of the write read (stamp, flags, bytes), which must be the same on every replica
// holding that write — so those touches must give every replica the same stamp. Were each stamped
// by another clock, a version read from the next replica while the primary was paused would never
// match what the primary holds, and the compareAndSet of an unchanged key would fail.
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFingerprint } from '@dcache/core';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { rawGet } from '../raw-node.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

/** The fingerprint of what `url` holds under `key` once its TTL is above `minTtl` (the touch landed). */
async function touchedFingerprint(url: string, key: string, minTtl: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const [status, bytes, flags, , ttl, stamp] = await rawGet(url, key);
    expect(status).toBe(200);
    if (typeof ttl === 'number' && ttl > minTtl) {
      return writeFingerprint(stamp as number, flags as number, bytes as Uint8Array);
    }
    await sleep(50);
  }
  throw new Error(`${url} was never touched`);
}

describe("getAndTouch and compareAndSet's version", () => {
  it('leaves the write named alike on every replica: a version read from the next replica passes on the primary', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const options = { replicas: 2, timeout: 300, onBackgroundError: () => {} };
    const cache = fixture.keep(new DistributedCacheClient(urls, options));
    const key = keyWithPrimary(cache, urls[0]!, 'gat');
    expect(await cache.set(key, 'v0', { ttl: 60_000 })).toBe(true);
    expect(await cache.getAndTouch(key, 600_000)).toBe('v0');

    // Both replicas touched (the second in the background): the same write, the same fingerprint.
    const [primary, next] = cache.nodesFor(key);
    const onPrimary = await touchedFingerprint(primary!, key, 120_000);
    expect(await touchedFingerprint(next!, key, 120_000)).toBe(onPrimary);

    // Read from the next replica while the primary is paused, decided on the primary once back.
    nemesis.pause(0);
    const read = await cache.getVersioned<string>(key);
    nemesis.resume(0);
    await sleep(2000);
    expect(read?.value).toBe('v0');
    expect(await cache.compareAndSet(key, 'v1', read!.version)).toBe(true);
    expect(await cache.get(key)).toBe('v1');
  });
});
