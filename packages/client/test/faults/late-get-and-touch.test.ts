// A getAndTouch that times out on a paused primary is served by the next replica, but the request
// stays in the primary's socket and runs when it resumes. Stamped by the node's clock then, its
// touch would stamp the old value above a write made while the primary was paused: that write's
// hint would be refused there as older, and the primary would serve the old value for good. The
// client stamps the get-and-touch instead, as it stamps a touch.
import { setTimeout as sleep } from 'node:timers/promises';
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { rawGet } from '../raw-node.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

describe('a getAndTouch delivered late', () => {
  it('does not outrank a write made while its node was paused', { timeout: 60_000 }, async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const options = { replicas: 2, timeout: 300, onBackgroundError: () => {} };
    const cache = fixture.keep(new DistributedCacheClient(urls, options));
    const key = keyWithPrimary(cache, urls[0]!, 'gat');
    expect(await cache.set(key, 'v0')).toBe(true);

    // Times out on the paused primary (where it waits in the socket); the next replica serves it.
    nemesis.pause(0);
    expect(await cache.getAndTouch(key, 600_000)).toBe('v0');
    // Cut off as well, the primary gets this write only from the hint the next replica holds.
    nemesis.partition(0);
    const writer = fixture.keep(new DistributedCacheClient(urls, options));
    expect(await writer.set(key, 'v1')).toBe(false);
    // The late get-and-touch runs now; then the hint is replayed.
    nemesis.resume(0);
    await sleep(500);
    nemesis.heal(0);
    await sleep(3000);

    const [status, bytes] = await rawGet(urls[0]!, key);
    expect(status).toBe(200);
    expect(unpack(bytes as Uint8Array)).toBe('v1');
    expect(await cache.get(key)).toBe('v1');
  });
});
