// Two writers' stamps order their writes only as far as their clocks agree: a write stamped in the
// same tick as another client's, but begun after it ended, must still be what the next read sees.
import { describe, expect, it } from 'vitest';
import { stampAt } from '@dcache/core';
import { encodeValue } from '../src/codec.js';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawBatch } from './raw-node.js';

const fixture = useNemesis();

/** Another writer whose clock runs 200 ms ahead of this client's (within the nodes' skew limit). */
function aheadStamp(): number {
  return stampAt(Date.now() + 200);
}

describe('writes outstamped by another writer', () => {
  it('a set answered with a higher stamp is stamped above it and sent again: the next read sees it', async () => {
    const nemesis = await fixture.start({ nodes: 2 });
    const urls = nemesis.urls;
    const client = new DistributedCacheClient(urls, {
      replicas: 2,
      writeConsistency: 'all',
      timeout: 5000,
    });
    fixture.keep(client);
    const earlier = encodeValue('earlier');
    for (const url of urls) {
      const [result] = await rawBatch(url, [
        ['set', 'tick:k', earlier.bytes, earlier.flags, null, null, aheadStamp()],
      ]);
      expect(result![0]).toBe(204);
    }
    expect(await client.set('tick:k', 'later')).toBe(true);
    expect(await client.get('tick:k')).toBe('later');
    for (const url of urls) {
      const reader = new DistributedCacheClient([url], { timeout: 5000 });
      fixture.keep(reader);
      expect(await reader.get('tick:k')).toBe('later');
    }
  });

  it('a delete answered with a higher stamp is stamped above it and sent again: the key stays deleted', async () => {
    const nemesis = await fixture.start({ nodes: 2 });
    const urls = nemesis.urls;
    const client = new DistributedCacheClient(urls, {
      replicas: 2,
      writeConsistency: 'all',
      timeout: 5000,
    });
    fixture.keep(client);
    const earlier = encodeValue('earlier');
    for (const url of urls) {
      await rawBatch(url, [
        ['set', 'tick:d', earlier.bytes, earlier.flags, null, null, aheadStamp()],
      ]);
    }
    expect(await client.delete('tick:d')).toBe(true);
    expect(await client.get('tick:d')).toBeUndefined();
  });
});
