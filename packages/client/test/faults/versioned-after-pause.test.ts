// getVersioned while the key's primary is paused (SIGSTOP) fails over to the next replica and
// returns that replica's version: versions are each node's own counter, so it is not the primary's
// (README: "`version` is the primary's"). Once the primary resumes (SIGCONT) it decides the next
// compareAndSet again, and refuses that version though nobody wrote the key in between.
// The primary now takes that version when the other replica holds it for the very write the
// primary holds, and only then.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

/**
 * Three nodes, `v0` stored under a key whose primary is the first; its version read while that
 * primary was paused (so from the next replica), then the primary resumed and given time to answer.
 */
async function readWhilePrimaryPaused() {
  const nemesis = await fixture.start({ nodes: 3 });
  const urls = nemesis.urls;
  const options = { replicas: 2, timeout: 300, onBackgroundError: () => {} };
  const cache = fixture.keep(new DistributedCacheClient(urls, options));
  const key = keyWithPrimary(cache, urls[0]!, 'cas');
  expect(await cache.set(key, 'v0')).toBe(true);

  nemesis.pause(0);
  const read = await cache.getVersioned<string>(key);
  nemesis.resume(0);
  await sleep(2000);
  return { urls, cache, key, read };
}

describe('getVersioned while the primary is paused', () => {
  it('returns a version the primary accepts once it resumes: compareAndSet of an unchanged key succeeds', async () => {
    const { cache, key, read } = await readWhilePrimaryPaused();

    expect(read?.value).toBe('v0');
    // Nobody wrote the key since it was read.
    expect(await cache.compareAndSet(key, 'v1', read!.version)).toBe(true);
    expect(await cache.get(key)).toBe('v1');
    // Changed since: the version is stale on every replica.
    expect(await cache.compareAndSet(key, 'v2', read!.version)).toBe(false);
    expect(await cache.get(key)).toBe('v1');
  });

  it('refuses that version once the key changed after the read', async () => {
    const { urls, cache, key, read } = await readWhilePrimaryPaused();

    const other = fixture.keep(new DistributedCacheClient(urls, { replicas: 2 }));
    expect(await other.set(key, 'theirs')).toBe(true);
    expect(await cache.compareAndSet(key, 'v1', read!.version)).toBe(false);
    expect(await cache.get(key)).toBe('theirs');
  });
});
